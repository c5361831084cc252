// Builds real ledgers for tests: deterministic hospital and patient keys, a genesis, level
// stores in fresh temp folders, and helpers to hand-craft blocks and transactions.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { createBlock } from '../../../protocol/chain/block.ts'
import type { Block, Link } from '../../../protocol/chain/block.ts'
import type { Identity } from '../../../protocol/crypto/ed25519.ts'
import { createGenesis } from '../../../protocol/chain/genesis.ts'
import type { Genesis } from '../../../protocol/chain/genesis.ts'
import { accountPopBytes, signTx } from '../../../protocol/chain/tx.ts'
import type { Role, Tx, TxBodies, TxType } from '../../../protocol/chain/tx.ts'
import { createLedger } from '../../../ledger/ledger.ts'
import { nodeIdentity, nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import type { WriteGate } from '../../../ledger/store/write-gate.ts'
import type { Clock, Ledger } from '../../../ledger/types.ts'

/** A deterministic Ed25519 seed from a small number (test keys only). */
export function testSeed (n: number): Uint8Array {
  const seed = new Uint8Array(32)
  seed[0] = n & 0xff
  seed[1] = n >> 8
  seed[31] = 0x5a
  return seed
}

/** A deterministic identity from a small number (test keys only). */
export function testIdentity (n: number): Identity {
  return nodeIdentity(testSeed(n))
}

/** A consortium of `n` hospitals with identities 1..n. */
export function testConsortium (n: number, opts: { quorum?: Genesis['quorum'] } = {}): { genesis: Genesis, hospitals: Identity[] } {
  const hospitals = Array.from({ length: n }, (_, i) => testIdentity(i + 1))
  const genesis = createGenesis({
    name: 'test consortium',
    created: 1_700_000_000_000,
    members: hospitals.map((h, i) => ({ name: `Hospital ${String.fromCharCode(65 + i)}`, key: h.publicKey, addrs: [] })),
    quorum: opts.quorum
  })
  return { genesis, hospitals }
}

/** Temp folders created by this fixture, removed by `cleanup`. */
const dirs: string[] = []

/** A fresh temp folder. */
export async function tempDir (prefix = 'medichain-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

const opened: Ledger[] = []

/** Starts a ledger for `identity` in a fresh temp folder (or `path`). */
export async function openLedger (genesis: Genesis, identity: Identity, opts: { path?: string, clock?: Clock, maxBuffered?: number, verifyWorkers?: number, writeGate?: WriteGate } = {}): Promise<Ledger> {
  const path = opts.path ?? await tempDir()
  const ledger = createLedger({ path, genesis, maxBuffered: opts.maxBuffered, verifyWorkers: opts.verifyWorkers })({
    identity,
    verify: nodeVerify,
    logger: pino({ level: 'silent' }),
    clock: opts.clock ?? Date.now,
    writeGate: opts.writeGate
  })
  await ledger.start()
  opened.push(ledger)
  return ledger
}

/** Stops every ledger opened here and removes every temp folder. */
export async function cleanup (): Promise<void> {
  await Promise.all(opened.splice(0).map(async l => await l.stop().catch(() => {})))
  await Promise.all(dirs.splice(0).map(async d => await rm(d, { recursive: true, force: true })))
}

/** Signs a transaction of `type` by `signer`. */
export function makeTx<T extends TxType> (genesisOrId: Uint8Array, signer: Identity, type: T, body: TxBodies[T], seq: number, time = 1_700_000_001_000): Tx {
  return signTx(genesisOrId, { type, body, signer: signer.publicKey, seq, time }, signer) as Tx
}

/** An `account.register` body for `user` at `hospital`, with the user's proof of possession. */
export function registerBody (ledgerId: Uint8Array, user: Identity, hospital: Identity, role: Role = 'patient'): TxBodies['account.register'] {
  const body = { user: user.publicKey, box: new Uint8Array(32).fill(7), role, hospital: hospital.publicKey }
  return { ...body, pop: user.sign(accountPopBytes(ledgerId, body)) }
}

/** Hand-crafts a signed block, for feeding a ledger blocks it would never produce itself. */
export function makeBlock (ledgerId: Uint8Array, author: Identity, opts: { height: number, prev: Uint8Array | null, links?: Link[], time?: number, txs?: Tx[] }): Block {
  return createBlock({ ledger: ledgerId, height: opts.height, prev: opts.prev, links: opts.links ?? [], time: opts.time ?? 1_700_000_002_000, txs: opts.txs ?? [] }, author)
}

/** A record.create body for a patient id made from `n`. */
export function recordBody (n: number, r = 0): TxBodies['record.create'] {
  return { patient: new Uint8Array(32).fill(n), record: new Uint8Array(16).fill(r) }
}
