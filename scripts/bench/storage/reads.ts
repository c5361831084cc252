// Read figures for `npm run bench:storage`: two members on loopback, each with its ledger, libp2p
// node and image storage in a temp folder. A holds the files; B reads them the first time (block
// stream from A, bitswap fallback), a second time (from its own disk), and A reads its own copy.
// Also 10 reads at once of 10 different files B has never seen: aggregate MB/s and time to first byte.
import { createCipheriv } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CID } from 'multiformats/cid'
import { pino } from 'pino'
import { createGenesis } from '../../../protocol/chain/genesis.ts'
import { createLedger } from '../../../ledger/ledger.ts'
import { nodeIdentity, nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { createP2P } from '../../../node/p2p/index.ts'
import type { P2P } from '../../../node/p2p/index.ts'
import { createStorage } from '../../../node/storage/index.ts'
import type { Storage } from '../../../node/storage/index.ts'
import { mbps } from './transport.ts'

/** One member of the bench consortium. */
export interface BenchMember { dir: string, ledger: Ledger, p2p: P2P, storage: Storage }

/** What the read figures ask of the member holding the files. */
export interface Holder {
  /** Where the reader dials it. */
  addr: string
  /** Adds `size` incompressible bytes made from `seed`. */
  add: (size: number, seed: number) => Promise<CID>
  /** The holder reading its own copy: MB/s and the bytes read. */
  localRead: (cid: CID) => Promise<{ mbps: number, bytes: number }>
  /** MB/s of raw TCP on loopback from the holder's process to this one. */
  rawTcp: (total: number) => Promise<number>
  /** MB/s of one plain libp2p stream from the holder to `reader`, over their connection. */
  stream: (reader: BenchMember, total: number) => Promise<number>
  stop: () => Promise<void>
}

const logger = pino({ level: process.env.BENCH_LOG ?? 'silent' })
const seedOf = (n: number): Uint8Array => { const s = new Uint8Array(32); s[0] = n; s[31] = 0x5b; return s }

/** The consortium of the bench's members: identities 1..count and one genesis, made from `created`. */
export function benchConsortium (count: number, created: number): { ids: Array<ReturnType<typeof nodeIdentity>>, genesis: ReturnType<typeof createGenesis> } {
  const ids = Array.from({ length: count }, (_, i) => nodeIdentity(seedOf(i + 1)))
  const genesis = createGenesis({ name: 'bench:storage', created, quorum: 'majority', members: ids.map((id, i) => ({ name: `H${i + 1}`, key: id.publicKey, addrs: [] })) })
  return { ids, genesis }
}

/** Starts member `index` (0-based) of a consortium made by benchConsortium, in a fresh temp folder. */
export async function startMember (index: number, count: number, created: number): Promise<BenchMember> {
  const { ids, genesis } = benchConsortium(count, created)
  const dir = await mkdtemp(join(tmpdir(), 'medichain-bench-storage-'))
  const ledger = createLedger({ path: join(dir, 'ledger'), genesis })({ identity: ids[index], verify: nodeVerify, logger, clock: Date.now })
  await ledger.start()
  const p2p = createP2P({ seed: seedOf(index + 1), listen: ['/ip4/127.0.0.1/tcp/0'], syncIntervalMs: 0 })({ ledger, logger })
  await p2p.start()
  const storage = createStorage({ dataDir: dir, repairIntervalMs: 0 })({ libp2p: p2p.libp2p, logger, ledger })
  await storage.start()
  return { dir, ledger, p2p, storage }
}

/** Stops members and deletes their folders. */
export async function stopMembers (members: BenchMember[]): Promise<void> {
  for (const m of members) {
    await m.storage.stop()
    await m.p2p.stop()
    await m.ledger.stop()
    await rm(m.dir, { recursive: true, force: true })
  }
}

/** `size` incompressible bytes (AES-256-CTR keystream of `seed`), as 1 MiB chunks: ciphertext-like. */
export async function * noise (size: number, seed: number): AsyncGenerator<Uint8Array> {
  const key = new Uint8Array(32)
  new DataView(key.buffer).setUint32(0, seed)
  const cipher = createCipheriv('aes-256-ctr', key, new Uint8Array(16))
  const chunk = 1024 * 1024
  for (let at = 0; at < size; at += chunk) yield new Uint8Array(cipher.update(new Uint8Array(Math.min(chunk, size - at))))
}

/** Reads a whole file; returns MB/s, the time to its first byte (ms), and the byte count. */
export async function timedRead (storage: Storage, cid: CID): Promise<{ mbps: number, ttfbMs: number, bytes: number }> {
  const t0 = performance.now()
  let first = -1
  let bytes = 0
  for await (const chunk of storage.cat(cid, { timeoutMs: 60_000 })) {
    if (first < 0) first = performance.now() - t0
    bytes += chunk.byteLength
  }
  return { mbps: mbps(bytes, performance.now() - t0), ttfbMs: first, bytes }
}

/** One run of the single-file reads: first (streamed from A), warm (B's disk), local (A's disk). */
export async function readRun (a: Holder, b: BenchMember, size: number, seed: number): Promise<{ first: number, warm: number, local: number, blocks: ReturnType<Storage['readCounts']> }> {
  const cid = await a.add(size, seed)
  const before = b.storage.readCounts()
  const first = await timedRead(b.storage, cid)
  const after = b.storage.readCounts()
  const warm = await timedRead(b.storage, cid)
  const local = await a.localRead(cid)
  if (first.bytes !== size || warm.bytes !== size || local.bytes !== size) throw new Error('a read returned the wrong number of bytes')
  return { first: first.mbps, warm: warm.mbps, local: local.mbps, blocks: { local: after.local - before.local, streamed: after.streamed - before.streamed, bitswap: after.bitswap - before.bitswap } }
}

/** `readers` reads at once at B of different files of `size` bytes held by A: aggregate MB/s and each read's time to first byte. */
export async function concurrentRun (a: Holder, b: BenchMember, readers: number, size: number, seed: number): Promise<{ aggregate: number, ttfbs: number[] }> {
  const cids: CID[] = []
  for (let i = 0; i < readers; i++) cids.push(await a.add(size, seed + i))
  const t0 = performance.now()
  const reads = await Promise.all(cids.map(async cid => await timedRead(b.storage, cid)))
  const ms = performance.now() - t0
  return { aggregate: mbps(reads.reduce((s, r) => s + r.bytes, 0), ms), ttfbs: reads.map(r => r.ttfbMs) }
}
