// The block stream protocol between members (node/storage/stream/block-stream.ts) on real peers on
// loopback: a member reads a file over one stream with nothing over bitswap; bytes that do not
// match their CID are refused and the read goes on over bitswap; a member that breaks off after
// agreeing to stream, or that does not speak the protocol, leaves the read to bitswap; a reader
// that aborts mid-stream gets ABORTED and the serving member serves the next read; a small read
// started while two large ones stream over the same connection is not queued behind them, nor
// held up by a read whose reader stopped; a member that streams blocks of no file, or out of the
// file's order, is cut off at the first one.
import { createCipheriv } from 'node:crypto'
import type { Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { pino } from 'pino'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { equals } from '../../../protocol/bytes.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { createP2P } from '../../../node/p2p/index.ts'
import type { P2P } from '../../../node/p2p/index.ts'
import { BLOCK_STREAM_PROTOCOL } from '../../../node/storage/constants.ts'
import { createStorage } from '../../../node/storage/index.ts'
import type { Storage, StorageInit } from '../../../node/storage/index.ts'
import { rejects } from '../../helpers/assert.ts'
import { waitFor } from '../../helpers/timeout.ts'
import { cleanup, openLedger, tempDir, testConsortium, testIdentity, testSeed } from '../../helpers/ledger/fixture.ts'

interface Peer { n: number, ledger: Ledger, p2p: P2P, storage: Storage }

const { genesis } = testConsortium(3)
const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' })
const running: Peer[] = []
const MiB = 1024 * 1024

test.after.each(async () => {
  for (const p of running.splice(0)) {
    await p.storage.stop().catch(() => {})
    await p.p2p.stop().catch(() => {})
    await p.ledger.stop().catch(() => {})
  }
  await cleanup()
})

async function startPeer (n: number, opts: Partial<StorageInit> = {}): Promise<Peer> {
  const dir = await tempDir()
  const ledger = await openLedger(genesis, testIdentity(n), { path: `${dir}/ledger`, verifyWorkers: 0 })
  const p2p = createP2P({ seed: testSeed(n), listen: ['/ip4/127.0.0.1/tcp/0'], syncIntervalMs: 0 })({ ledger, logger })
  await p2p.start()
  const storage = createStorage({ repairIntervalMs: 0, ...opts, dataDir: dir })({ libp2p: p2p.libp2p, logger, ledger })
  await storage.start()
  const peer = { n, ledger, p2p, storage }
  running.push(peer)
  return peer
}

async function connect (a: Peer, b: Peer): Promise<void> {
  await a.p2p.libp2p.dial(multiaddr(b.p2p.addresses()[0]))
}

/** `size` deterministic, incompressible bytes (AES-256-CTR keystream), as 256 KiB chunks. */
async function * noise (size: number, seed: number): AsyncGenerator<Uint8Array> {
  const cipher = createCipheriv('aes-256-ctr', new Uint8Array(32).fill(seed), new Uint8Array(16))
  for (let at = 0; at < size; at += 256 * 1024) yield new Uint8Array(cipher.update(new Uint8Array(Math.min(256 * 1024, size - at))))
}

async function bytesOf (source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}

/** Makes `liar` answer block stream requests with `answer` instead of its storage's own handler. */
async function lieWith (liar: Peer, answer: (stream: Stream) => Promise<void>): Promise<void> {
  await liar.p2p.libp2p.handle(BLOCK_STREAM_PROTOCOL, async (stream: Stream) => {
    await answer(stream).catch((err: Error) => stream.abort(err))
  }, { force: true })
}

test('a member reads a file it does not hold over one block stream, none of it over bitswap', async () => {
  const a = await startPeer(1)
  const b = await startPeer(2)
  await connect(b, a)
  const expected = await bytesOf(noise(5 * MiB + 777, 1))
  const { cid } = await a.storage.add(noise(expected.length, 1))
  const got = await bytesOf(b.storage.cat(cid, { timeoutMs: 10_000 }))
  assert.ok(equals(got, expected), 'the streamed bytes equal the bytes added')
  const counts = b.storage.readCounts()
  assert.is(counts.bitswap, 0, 'no block came over bitswap')
  assert.is(counts.streamed, 7, 'the root and six leaves came over the stream')
  assert.is(b.storage.stats().bytes, a.storage.stats().bytes, 'the streamed blocks are kept on disk')
  // The second read is local.
  assert.ok(equals(await bytesOf(b.storage.cat(cid)), expected))
  assert.is(b.storage.readCounts().local, 7)
})

test('bytes that do not match their CID are refused and the read goes on over bitswap', async () => {
  const a = await startPeer(1, { blockStreams: false })
  const b = await startPeer(2)
  const c = await startPeer(3)
  await connect(b, a)
  await connect(b, c)
  const expected = await bytesOf(noise(3 * MiB + 5, 2))
  const { cid } = await a.storage.add(noise(expected.length, 2))
  // C claims the file, then sends garbage under its root CID.
  await lieWith(c, async (stream) => {
    const lp = lpStream(stream)
    await lp.read()
    await lp.write(new Uint8Array([0]))
    await lp.writeV([cid.bytes, new Uint8Array(1000).fill(9)])
    await stream.close()
  })
  const got = await bytesOf(b.storage.cat(cid, { timeoutMs: 10_000 }))
  assert.ok(equals(got, expected), 'the bytes over bitswap equal the bytes added')
  const counts = b.storage.readCounts()
  assert.is(counts.streamed, 0, 'nothing from the lying member was used')
  assert.ok(counts.bitswap >= 4, `expected the blocks over bitswap, got ${JSON.stringify(counts)}`)
  assert.is(b.storage.stats().bytes, a.storage.stats().bytes, 'only the true blocks were kept')
})

test('a member that breaks off after agreeing to stream leaves the read to bitswap', async () => {
  const a = await startPeer(1, { blockStreams: false })
  const b = await startPeer(2)
  const c = await startPeer(3)
  await connect(b, a)
  await connect(b, c)
  const expected = await bytesOf(noise(2 * MiB + 1, 3))
  const { cid } = await a.storage.add(noise(expected.length, 3))
  await lieWith(c, async (stream) => {
    const lp = lpStream(stream)
    await lp.read()
    await lp.write(new Uint8Array([0]))
    stream.abort(new Error('gone'))
  })
  const got = await bytesOf(b.storage.cat(cid, { timeoutMs: 10_000 }))
  assert.ok(equals(got, expected))
  assert.is(b.storage.readCounts().streamed, 0)
})

test('a member that streams blocks not of the file, or out of its order, is cut off at the first one', async () => {
  const a = await startPeer(1, { blockStreams: false })
  const b = await startPeer(2)
  const c = await startPeer(3)
  await connect(b, a)
  await connect(b, c)
  const expected = await bytesOf(noise(2 * MiB + 9, 6))
  const { cid } = await a.storage.add(noise(expected.length, 6))
  // C claims the file, then floods valid blocks of no file while B waits for the root: B would
  // hold every one of them in memory if it took what it had not asked for.
  const base = await bytesOf(noise(MiB, 7))
  let sent = 0
  let cut: Promise<void> = Promise.resolve()
  await lieWith(c, async (stream) => {
    cut = (async () => {
      const lp = lpStream(stream)
      await lp.read()
      await lp.write(new Uint8Array([0]))
      for (let i = 0; i < 160; i++) {
        const block = base.slice()
        new DataView(block.buffer).setUint32(0, i)
        const foreign = CID.createV1(raw.code, await sha256.digest(block))
        await lp.writeV([foreign.bytes, block])
        sent += block.length
      }
      await stream.close()
    })().catch(() => {})
  })
  const got = await bytesOf(b.storage.cat(cid, { timeoutMs: 10_000 }))
  assert.ok(equals(got, expected), 'the read goes on over bitswap')
  await cut
  assert.is(b.storage.readCounts().streamed, 0, 'nothing from the flooding member was used')
  assert.ok(sent < 48 * MiB, `the flood was cut off early (${sent / MiB} MiB sent)`)
})

test('a reader that aborts mid-stream gets ABORTED, and the member serves the next read', async () => {
  const a = await startPeer(1)
  const b = await startPeer(2)
  await connect(b, a)
  const expected = await bytesOf(noise(40 * MiB, 4))
  const { cid } = await a.storage.add(noise(expected.length, 4))
  const controller = new AbortController()
  await rejects(async () => {
    for await (const chunk of b.storage.cat(cid, { signal: controller.signal, timeoutMs: 10_000 })) {
      void chunk
      controller.abort()
    }
  }, 'ABORTED')
  assert.ok(b.storage.readCounts().streamed < 40, 'the read stopped before the whole file came')
  const got = await bytesOf(b.storage.cat(cid, { timeoutMs: 10_000 }))
  assert.ok(equals(got, expected), 'the next read gets every byte')
})

test('a small read started while two large reads stream gets every block before either ends', async () => {
  const a = await startPeer(1)
  const b = await startPeer(2)
  await connect(b, a)
  const sizes = [40 * MiB, 40 * MiB, 2 * MiB + 3]
  const files = await Promise.all(sizes.map(async (size, i) => await bytesOf(noise(size, 6 + i))))
  const cids: CID[] = []
  for (const [i, size] of sizes.entries()) cids.push((await a.storage.add(noise(size, 6 + i))).cid)

  // Yamux lets the oldest streams with a block ready take every drain of the connection: with
  // two large reads in flight, a third read got nothing until one of them ended.
  const ended: number[] = []
  let inFlight = 0
  let bothStarted: () => void = () => {}
  const started = new Promise<void>(resolve => { bothStarted = resolve })
  const large = [0, 1].map(async (i) => {
    const parts: Uint8Array[] = []
    for await (const part of b.storage.cat(cids[i], { timeoutMs: 30_000 })) {
      if (parts.length === 0 && ++inFlight === 2) bothStarted()
      parts.push(part)
    }
    ended.push(i)
    return new Uint8Array(Buffer.concat(parts))
  })
  await started

  const small = await bytesOf(b.storage.cat(cids[2], { timeoutMs: 30_000 }))
  const endedBefore = [...ended]
  assert.ok(equals(small, files[2]), 'the small read gets every byte')
  const got = await Promise.all(large)
  assert.ok(equals(got[0], files[0]) && equals(got[1], files[1]), 'the large reads get every byte')
  assert.equal(endedBefore, [], 'the small read ended before both large ones: its blocks took turns with theirs')
  assert.is(b.storage.readCounts().bitswap, 0, 'all three came over block streams')
})

test('a reader that stops reading does not hold up another read from the same member', async () => {
  const a = await startPeer(1)
  // One block of read-ahead: the stopped read soon leaves the member nothing it may send.
  const b = await startPeer(2, { segmentBytes: MiB })
  await connect(b, a)
  const large = await bytesOf(noise(64 * MiB, 9))
  const small = await bytesOf(noise(MiB + 9, 10))
  const { cid: largeCid } = await a.storage.add(noise(large.length, 9))
  const { cid: smallCid } = await a.storage.add(noise(small.length, 10))

  const stopped = b.storage.cat(largeCid, { timeoutMs: 30_000 })[Symbol.asyncIterator]()
  const first = await stopped.next()
  // At A, the stopped read's stream holds a block the reader's flow-control window has no room for.
  const served = (): Stream | undefined => a.p2p.libp2p.getConnections(b.p2p.libp2p.peerId).flatMap(c => c.streams).find(s => s.protocol === BLOCK_STREAM_PROTOCOL)
  await waitFor(() => (served()?.writeBufferLength ?? 0) > 0, { timeout: 90_000, what: 'the stopped read to fill its window' })

  const got = await bytesOf(b.storage.cat(smallCid, { timeoutMs: 10_000 }))
  assert.ok(equals(got, small))
  assert.is(b.storage.readCounts().bitswap, 0, 'the small read came over its block stream, not after a stall')
  assert.ok((served()?.writeBufferLength ?? 0) > 0, 'the stopped read was still waiting meanwhile')

  // The stopped read goes on where it stopped and gets every byte.
  const parts = [first.value as Uint8Array]
  for (let next = await stopped.next(); next.done !== true; next = await stopped.next()) parts.push(next.value)
  assert.ok(equals(new Uint8Array(Buffer.concat(parts)), large))
})

test('a file no connected member holds is UNAVAILABLE, not a hang', async () => {
  const a = await startPeer(1)
  const b = await startPeer(2)
  await connect(b, a)
  const { cid } = await a.storage.add(noise(MiB, 5))
  await a.storage.unpin(cid)
  await a.storage.discard(cid)
  await rejects(async () => await bytesOf(b.storage.cat(cid, { timeoutMs: 1500 })), 'UNAVAILABLE')
})

test.run()
