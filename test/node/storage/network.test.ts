// Image storage between real peers on loopback (docs/design.md §5): a member reads blocks it lacks over
// bitswap on the member-only libp2p node (also when reads overlap, and when its storage came up
// after the connection), a stranger gets nothing, the member chosen by rendezvous hashing pins
// each new image, the image survives its custodian going offline, and the repair loop restores a
// pin the pinner missed while it was away.
import { createCipheriv } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import { pino } from 'pino'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { equals } from '../../../protocol/bytes.ts'
import type { TxBodies } from '../../../protocol/chain/tx.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { createP2P } from '../../../node/p2p/index.ts'
import type { P2P } from '../../../node/p2p/index.ts'
import { createStorage } from '../../../node/storage/index.ts'
import type { Storage, StorageInit } from '../../../node/storage/index.ts'
import { choosePinners } from '../../../node/storage/rendezvous.ts'
import { rejects } from '../../helpers/assert.ts'
import { waitFor, withTimeout } from '../../helpers/timeout.ts'
import { cleanup, openLedger, tempDir, testConsortium, testIdentity, testSeed } from '../../helpers/ledger/fixture.ts'

interface Peer { n: number, key: Uint8Array, dir: string, ledger: Ledger, p2p: P2P, storage: Storage }

const { genesis } = testConsortium(3)
const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' })
const running: Peer[] = []

test.after.each(async () => {
  await Promise.all(running.splice(0).map(async p => await halt(p)))
  await cleanup()
})

/**
 * Starts ledger, P2P and storage for hospital `n` (in `dir` when restarting). `deferStorage`
 * leaves storage stopped, as a peer between its P2P layer and its storage coming up.
 */
async function startPeer (n: number, opts: Partial<StorageInit> & { dir?: string, deferStorage?: boolean } = {}): Promise<Peer> {
  const dir = opts.dir ?? await tempDir()
  const ledger = await openLedger(genesis, testIdentity(n), { path: `${dir}/ledger`, verifyWorkers: 0 })
  const p2p = createP2P({ seed: testSeed(n), listen: ['/ip4/127.0.0.1/tcp/0'], syncIntervalMs: 0, redialMinMs: 50, redialMaxMs: 500 })({ ledger, logger })
  await p2p.start()
  const storage = createStorage({ repairIntervalMs: 0, ...opts, dataDir: dir })({ libp2p: p2p.libp2p, logger, ledger })
  if (opts.deferStorage !== true) await storage.start()
  const peer = { n, key: testIdentity(n).publicKey, dir, ledger, p2p, storage }
  running.push(peer)
  return peer
}

async function halt (p: Peer): Promise<void> {
  await p.storage.stop().catch(() => {})
  await p.p2p.stop().catch(() => {})
  await p.ledger.stop().catch(() => {})
}

async function stopPeer (p: Peer): Promise<void> {
  running.splice(running.indexOf(p), 1)
  await halt(p)
}

async function connect (a: Peer, b: Peer): Promise<void> {
  await a.p2p.libp2p.dial(multiaddr(b.p2p.addresses()[0]))
}

/** `size` deterministic, incompressible bytes (AES-256-CTR keystream), as a stream of `chunk`s. */
async function * noise (size: number, seed: number, chunk = 256 * 1024): AsyncGenerator<Uint8Array> {
  const cipher = createCipheriv('aes-256-ctr', new Uint8Array(32).fill(seed), new Uint8Array(16))
  for (let at = 0; at < size; at += chunk) yield new Uint8Array(cipher.update(new Uint8Array(Math.min(chunk, size - at))))
}

async function bytesOf (source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}

/** Resolves when `storage` emits pin:added for `cid`. */
function pinAdded (storage: Storage, cid: CID, ms = 20_000): Promise<void> {
  return withTimeout(new Promise<void>(resolve => {
    const on = (e: Event): void => {
      if (!(e as CustomEvent<{ cid: CID }>).detail.cid.equals(cid)) return
      storage.removeEventListener('pin:added', on)
      resolve()
    }
    storage.addEventListener('pin:added', on)
  }), ms, `pin of ${cid.toString()}`)
}

test('a member reads a file it does not hold over bitswap and keeps the blocks unpinned', async () => {
  const a = await startPeer(1)
  const b = await startPeer(2)
  await connect(b, a)
  const expected = await bytesOf(noise(3 * 1024 * 1024 + 12345, 1))
  const { cid, size } = await a.storage.add(noise(expected.length, 1))
  assert.is(size, expected.length)
  assert.not.ok(await b.storage.has(cid))
  const got = await bytesOf(b.storage.cat(cid, { timeoutMs: 5000 }))
  assert.ok(equals(got, expected), 'bytes fetched over bitswap equal the bytes added')
  assert.ok(await b.storage.has(cid), 'fetched blocks are kept')
  assert.is(b.storage.stats().bytes, a.storage.stats().bytes, 'every block was fetched once')
  assert.not.ok(b.storage.isPinned(cid), 'a read does not pin')
  await b.storage.pin(cid, { timeoutMs: 5000 })
  assert.ok(b.storage.isPinned(cid))
})

/** Resolves once `ledger` holds the transaction `txId`. */
async function untilTx (ledger: Ledger, txId: Uint8Array): Promise<void> {
  await waitFor(async () => await ledger.tx(txId) !== undefined, { timeout: 20_000, what: 'the image.add transaction' })
}

/** Adds a raw image and its result to `p`'s storage: what an upload stores before image.add. */
async function addImage (p: Peer, seed: number): Promise<{ raw: CID, result: CID, rawBytes: Uint8Array, size: number }> {
  const size = 2 * 1024 * 1024 + 999
  const raw = await p.storage.add(noise(size, seed))
  const result = await p.storage.add(noise(300_000, seed + 100))
  return { raw: raw.cid, result: result.cid, rawBytes: await bytesOf(noise(size, seed)), size }
}

function imageAdd (img: { raw: CID, result: CID, size: number }): TxBodies['image.add'] {
  return { patient: new Uint8Array(32).fill(7), record: null, raw: img.raw, result: img.result, modality: 'MR', size: img.size, model: null, score: null, keys: [] }
}

/** The member rendezvous hashing picks for an image of `custodian`, and the one it does not. */
function split (raw: CID, custodian: Peer, others: Peer[]): { pinner: Peer, other: Peer } {
  const [chosen] = choosePinners(raw.bytes, [1, 2, 3].map(n => testIdentity(n).publicKey), custodian.key, 1)
  const pinner = others.find(p => equals(p.key, chosen))
  const other = others.find(p => !equals(p.key, chosen))
  if (pinner === undefined || other === undefined) throw new Error('test setup: the pinner is not among the peers')
  return { pinner, other }
}

test('reads that want the same blocks at once all complete (one want per block)', async () => {
  const a = await startPeer(1)
  // 1 MiB segments: each read-ahead also wants the first leaf of the next segment, so wants for
  // one block overlap all the time, within one read and across the three.
  const b = await startPeer(2, { segmentBytes: 1024 * 1024 })
  await connect(b, a)
  const size = 12 * 1024 * 1024 + 3
  const { cid } = await a.storage.add(noise(size, 6))
  const expected = await bytesOf(noise(size, 6))
  // Under WANT_RETRY_MS, so a want that is never sent fails the read instead of being re-asked.
  const reads = await Promise.all([1, 2, 3].map(async () => await bytesOf(b.storage.cat(cid, { timeoutMs: 4000 }))))
  for (const got of reads) assert.ok(equals(got, expected))
})

test('a member whose storage starts after connecting is still asked for blocks (identify push)', async () => {
  const a = await startPeer(1)
  const b = await startPeer(2, { deferStorage: true })
  await connect(b, a)
  await waitFor(() => a.p2p.connectedMembers().length === 1, { timeout: 5000, what: 'A and B connected' })
  await b.storage.start()
  const expected = await bytesOf(noise(1024 * 1024 + 5, 2))
  const { cid } = await b.storage.add(noise(expected.length, 2))
  assert.ok(equals(await bytesOf(a.storage.cat(cid, { timeoutMs: 5000 })), expected))
})

test('a stranger is refused a connection and can fetch nothing', async () => {
  const a = await startPeer(1)
  const stranger = await startPeer(9)
  const { cid } = await a.storage.add(noise(100_000, 3))
  const conn = await stranger.p2p.libp2p.dial(multiaddr(a.p2p.addresses()[0]), { signal: AbortSignal.timeout(5000) }).catch(() => null)
  if (conn !== null) await waitFor(() => conn.status !== 'open', { timeout: 5000, what: 'the refused connection to close' })
  assert.is(a.p2p.libp2p.getConnections(stranger.p2p.libp2p.peerId).length, 0)
  await rejects(async () => await bytesOf(stranger.storage.cat(cid, { timeoutMs: 500 })), 'UNAVAILABLE')
  assert.not.ok(await stranger.storage.has(cid))
})

test('the member chosen by rendezvous pins a new image; with its custodian down a third member reads it', async () => {
  const [a, b, c] = await Promise.all([1, 2, 3].map(async n => await startPeer(n)))
  await connect(a, b)
  await connect(a, c)
  await connect(b, c)
  const img = await addImage(a, 4)
  const { pinner, other } = split(img.raw, a, [b, c])
  const pinned = Promise.all([pinAdded(pinner.storage, img.raw), pinAdded(pinner.storage, img.result)])
  const loc = await a.ledger.submitOwn('image.add', imageAdd(img))
  await pinned
  assert.ok(pinner.storage.isPinned(img.raw) && pinner.storage.isPinned(img.result))
  await untilTx(other.ledger, loc.txId)
  assert.equal(await other.storage.repair(), { missing: 0, pinned: 0, failed: 0 }, 'the other member has nothing to pin')
  assert.not.ok(await other.storage.has(img.raw))
  await stopPeer(a)
  assert.ok(equals(await bytesOf(other.storage.cat(img.raw, { timeoutMs: 5000 })), img.rawBytes), 'read from the pinner over bitswap')
})

test('the repair loop pins an image its pinner missed while offline, once a holder is back', async () => {
  const [a, b, c] = await Promise.all([1, 2, 3].map(async n => await startPeer(n)))
  await connect(a, b)
  await connect(a, c)
  await connect(b, c)
  const img = await addImage(a, 5)
  const { pinner, other } = split(img.raw, a, [b, c])
  await stopPeer(pinner)
  const loc = await a.ledger.submitOwn('image.add', imageAdd(img))
  await untilTx(other.ledger, loc.txId)
  await stopPeer(a)
  // Back with the custodian away: the ledger catches up from the other member, nobody can serve.
  const back = await startPeer(pinner.n, { dir: pinner.dir, blockTimeoutMs: 300 })
  await connect(back, other)
  await untilTx(back.ledger, loc.txId)
  assert.equal(await back.storage.repair(), { missing: 2, pinned: 0, failed: 2 })
  assert.not.ok(back.storage.isPinned(img.raw))
  // The custodian returns: the new connection triggers a repair pass that restores the pins.
  const pinned = Promise.all([pinAdded(back.storage, img.raw), pinAdded(back.storage, img.result)])
  const a2 = await startPeer(1, { dir: a.dir })
  await connect(a2, back)
  await pinned
  assert.ok(back.storage.isPinned(img.raw) && back.storage.isPinned(img.result))
  assert.equal(await back.storage.repair(), { missing: 0, pinned: 0, failed: 0 })
})

test.run()
