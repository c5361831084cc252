// Transport references for `npm run bench:storage`: raw TCP on loopback (the reference),
// plain bytes over one libp2p stream between two members (what every block protocol on the member
// network pays: the encryption they negotiated plus yamux multiplexing), and the same over a bare
// pair of hosts offering one encrypter each (TLS 1.3 or noise, each with yamux): the ceilings.
import { createCipheriv } from 'node:crypto'
import { createServer, connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Libp2p, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { ConnectionEncrypterName } from '../../../node/p2p/constants.ts'
import { createHost } from '../../../node/p2p/host.ts'
import { privateKeyFromSeed } from '../../../node/p2p/identity.ts'

/** MB/s (10^6 bytes per second) of `bytes` moved in `ms`. */
export const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000)

const CHUNK = 1024 * 1024

/**
 * Sends `total` bytes over one loopback TCP connection, 1 MiB writes with back-pressure; MB/s at
 * the receiver, from the connection to the last byte. `send` connects to the receiver's port and
 * sends them: by default from this process, or from another one (holder.ts).
 */
export async function rawTcpMbps (total: number, send: (port: number, total: number) => Promise<void> = sendTcp): Promise<number> {
  let done: (ms: number) => void = () => {}
  const finished = new Promise<number>(resolve => { done = resolve })
  const server = createServer(socket => {
    const t0 = performance.now()
    let got = 0
    socket.on('error', () => {})
    socket.on('data', (d: Buffer) => {
      got += d.length
      if (got >= total) { done(performance.now() - t0); socket.destroy() }
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  try {
    const [ms] = await Promise.all([finished, send(port, total)])
    return mbps(total, ms)
  } finally {
    await new Promise(resolve => server.close(resolve))
  }
}

/** Connects to `port` on loopback and sends `total` bytes in 1 MiB writes; resolves when they are written. */
export async function sendTcp (port: number, total: number): Promise<void> {
  const chunk = Buffer.alloc(CHUNK, 7)
  const client = connect(port, '127.0.0.1')
  client.on('error', () => {})
  await new Promise<void>(resolve => client.once('connect', resolve))
  for (let sent = 0; sent < total; sent += CHUNK) {
    if (!client.write(sent + CHUNK <= total ? chunk : chunk.subarray(0, total - sent))) await new Promise(resolve => client.once('drain', resolve))
  }
  await new Promise<void>(resolve => client.end(resolve))
}

const BENCH_PROTOCOL = '/medichain/bench-bytes/1.0.0'

/** Sends `total` bytes from `from` to `to` over one libp2p stream (their connection's encryption + yamux); MB/s at the receiver. */
export async function libp2pStreamMbps (from: Libp2p, to: Libp2p, total: number): Promise<number> {
  let done: (ms: number) => void = () => {}
  const finished = new Promise<number>(resolve => { done = resolve })
  let t0 = 0
  await to.handle(BENCH_PROTOCOL, async (stream: Stream) => {
    let got = 0
    for await (const part of stream) {
      got += part.byteLength
      if (got >= total) break
    }
    done(performance.now() - t0)
    await stream.close().catch(() => {})
  }, { force: true })
  const stream = await from.dialProtocol(to.peerId, BENCH_PROTOCOL)
  const chunk = new Uint8Array(CHUNK).fill(7)
  t0 = performance.now()
  for (let sent = 0; sent < total; sent += CHUNK) {
    if (!stream.send(sent + CHUNK <= total ? chunk : chunk.subarray(0, total - sent))) await stream.onDrain()
  }
  const ms = await finished
  await stream.close().catch(() => {})
  await to.unhandle(BENCH_PROTOCOL)
  return mbps(total, ms)
}

const PULL_PROTOCOL = '/medichain/bench-pull/1.0.0'

/** Makes `holder` answer every stream of the pull protocol with `total` bytes in 1 MiB sends. */
export async function servePull (holder: Libp2p, total: number): Promise<void> {
  const chunk = new Uint8Array(CHUNK).fill(7)
  await holder.handle(PULL_PROTOCOL, async (stream: Stream) => {
    for (let sent = 0; sent < total; sent += CHUNK) {
      if (!stream.send(sent + CHUNK <= total ? chunk : chunk.subarray(0, total - sent))) await stream.onDrain()
    }
    await stream.close().catch(() => {})
  }, { force: true })
}

/** Reads the `total` bytes that `holder` serves (servePull) over one libp2p stream from `reader`: MB/s at the reader, from the stream's opening. */
export async function pullMbps (reader: Libp2p, holder: Parameters<Libp2p['dialProtocol']>[0], total: number): Promise<number> {
  const t0 = performance.now()
  const stream = await reader.dialProtocol(holder, PULL_PROTOCOL)
  let got = 0
  for await (const part of stream) got += part.byteLength
  if (got !== total) throw new Error(`the pull stream carried ${got} bytes, expected ${total}`)
  return mbps(total, performance.now() - t0)
}

/**
 * Sends `total` bytes over one libp2p stream between two bare hosts (createHost: TCP, yamux, the
 * services of a peer but no ledger, storage or traffic of their own) that offer only `encrypter`;
 * MB/s at the receiver.
 */
export async function hostPairMbps (encrypter: ConnectionEncrypterName, total: number): Promise<number> {
  const hosts = await Promise.all([0xb1, 0xb2].map(async (n) => {
    const host = await createHost({
      privateKey: await privateKeyFromSeed(new Uint8Array(32).fill(n)),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      gater: {},
      topics: [],
      encrypters: [encrypter]
    })
    await host.start()
    return host
  }))
  const [a, b] = hosts
  try {
    const conn = await a.dial(multiaddr(b.getMultiaddrs()[0]))
    if (conn.encryption === undefined || !conn.encryption.includes(encrypter)) throw new Error(`expected ${encrypter}, the pair negotiated ${String(conn.encryption)}`)
    return await libp2pStreamMbps(a, b, total)
  } finally {
    await Promise.all(hosts.map(async h => await h.stop()))
  }
}

/**
 * node:crypto ChaCha20-Poly1305 over `total` bytes in noise's largest frames (65,535 bytes with
 * the 16-byte tag, RFC 7539 AEAD as @chainsafe/libp2p-noise calls it per frame), MB/s: what the
 * transport's encryption alone would allow on one core, one direction.
 */
export function noiseCipherMbps (total: number): number {
  const frame = 65_535 - 16
  const plain = new Uint8Array(frame).fill(7)
  const key = new Uint8Array(32).fill(1)
  const t0 = performance.now()
  let n = 0
  for (let sent = 0; sent < total; sent += frame, n++) {
    const nonce = new Uint8Array(12)
    new DataView(nonce.buffer).setUint32(4, n, true)
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
    c.update(plain)
    c.final()
    c.getAuthTag()
  }
  return mbps(total, performance.now() - t0)
}
