// `medichain ledger verify`: re-checks a data folder end to end. Every block is replayed in causal
// order through full validation (signatures, hash links, rules) into a scratch store; then every
// state entry, index and location record is compared with the folder's, and so is the state root.
// Each chain's heights must run 0, 1, 2, … with no gap, in both the block and the index keyspace.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { decodeBlock } from '../../protocol/chain/block.ts'
import { equals, toHex } from '../../protocol/bytes.ts'
import { decode } from '../../protocol/codec.ts'
import { nobleIdentity } from '../../protocol/crypto/ed25519.ts'
import type { Verifier } from '../../protocol/crypto/ed25519.ts'
import { MedichainError } from '../../protocol/errors.ts'
import type { Genesis } from '../../protocol/chain/genesis.ts'
import { encodeGenesis } from '../../protocol/chain/genesis.ts'
import { K } from '../store/keys.ts'
import { createLedger } from '../ledger.ts'
import { computeStateRoot } from '../queries/reads.ts'
import { LedgerStore } from '../store/store.ts'
import type { Evidence } from '../data-types.ts'

/** One thing `ledger verify` found wrong. */
export interface Problem { code: string, message: string }

/** The outcome of `verifyLedger`. */
export interface VerifyReport { ok: boolean, blocks: number, txs: number, stateRoot: string, problems: Problem[] }

/** Keyspaces that must match a fresh replay exactly: state, indexes, tx and block locations. */
const DERIVED_PREFIXES = ['s:', 'i:', 't:', 'bh:', 'm:'] as const
const MAX_PROBLEMS = 50

/** Re-checks the ledger under `init.path`; never writes to it. */
export async function verifyLedger (init: { path: string, genesis: Genesis }, components: { verify: Verifier, logger: Logger }): Promise<VerifyReport> {
  const problems: Problem[] = []
  const report = (code: string, message: string): void => { if (problems.length < MAX_PROBLEMS) problems.push({ code, message }) }
  const source = new LedgerStore(init.path)
  await source.open()
  const scratchDir = await mkdtemp(join(tmpdir(), 'medichain-verify-'))
  const scratch = createLedger({ path: scratchDir, genesis: init.genesis })({
    identity: nobleIdentity(new Uint8Array(randomBytes(32))),
    verify: components.verify,
    logger: components.logger,
    clock: () => Number.MAX_SAFE_INTEGER
  })
  let blocks = 0
  let txs = 0
  try {
    const stored = await source.get(K.genesis)
    if (stored === undefined || !equals(stored, encodeGenesis(init.genesis))) report('WRONG_LEDGER', 'the folder was created from another genesis')
    await scratch.start()
    await checkHeights(source, report)
    // Evidence first, so blocks that linked the other variant of an equivocation replay; evidence
    // about members admitted later is tried again after the blocks.
    const later: Array<[string, Uint8Array]> = []
    for await (const [key, value] of source.entries(K.evidencePrefix)) {
      await scratch.receiveEvidence(decode(value) as Evidence).catch(() => later.push([key, value]))
    }
    for (const { author, height, hash } of await causalOrder(source)) {
      const bytes = await source.get(K.block(author, height))
      const where = `block ${height} of ${author.slice(0, 16)}`
      if (bytes === undefined) { report('MISSING_BLOCK', `${where} is indexed but not stored`); continue }
      try {
        const block = decodeBlock(bytes)
        if (!equals(block.hash, hash)) report('BAD_INDEX', `${where} hash differs from its index entry`)
        const status = await scratch.receive(bytes, { replay: true })
        if (status !== 'appended') report('BAD_CHAIN', `${where} did not replay (${status})`)
        blocks++
        txs += block.txs.length
      } catch (err) {
        report(err instanceof MedichainError ? err.code : 'INTERNAL', `${where}: ${(err as Error).message}`)
      }
    }
    for (const [key, value] of later) {
      try {
        await scratch.receiveEvidence(decode(value) as Evidence)
      } catch (err) {
        report(err instanceof MedichainError ? err.code : 'INTERNAL', `evidence ${key}: ${(err as Error).message}`)
      }
    }
    await scratch.stop()
    const rebuilt = new LedgerStore(scratchDir)
    await rebuilt.open()
    for (const prefix of DERIVED_PREFIXES) await compareKeyspace(source, rebuilt, prefix, report)
    const [root, expected] = await Promise.all([computeStateRoot(source), computeStateRoot(rebuilt)])
    if (!equals(root, expected)) report('STATE_ROOT_MISMATCH', `state root ${toHex(root)} differs from the replayed ${toHex(expected)}`)
    await rebuilt.close()
    return { ok: problems.length === 0, blocks, txs, stateRoot: toHex(root), problems }
  } finally {
    await scratch.stop().catch(() => {})
    await source.close()
    await rm(scratchDir, { recursive: true, force: true })
  }
}

/** Every stored block position, sorted by causal order key: a replay order that never waits. */
async function causalOrder (store: LedgerStore): Promise<Array<{ author: string, height: number, hash: Uint8Array, order: number }>> {
  const out = []
  for await (const [key, value] of store.entries(K.metaPrefix)) {
    const [, author, height] = key.split(':')
    const [hash, order] = decode(value) as [Uint8Array, number]
    out.push({ author, height: Number(height), hash, order })
  }
  return out.sort((a, b) => a.order - b.order || (a.author < b.author ? -1 : a.author > b.author ? 1 : 0) || a.height - b.height)
}

/**
 * Reports HEIGHT_GAP for a chain whose heights skip one (blocks after a gap are unreachable from
 * the head and a peer's view of the chain would be shifted), in the `b:` (blocks) and `m:` (chain
 * index) keyspaces alike; a block stored with no index entry is BAD_INDEX.
 */
async function checkHeights (store: LedgerStore, report: (code: string, message: string) => void): Promise<void> {
  const indexed = new Set<string>()
  for (const prefix of ['m:', 'b:'] as const) {
    let author = ''
    let next = 0
    for await (const key of store.keys(prefix)) {
      const [, a, h] = key.split(':')
      const height = Number(h)
      if (a !== author) { author = a; next = 0 }
      if (height !== next) report('HEIGHT_GAP', `the ${prefix === 'm:' ? 'chain index' : 'blocks'} of ${a.slice(0, 16)} skip from height ${next} to ${height}`)
      next = height + 1
      if (prefix === 'm:') indexed.add(`${a}:${height}`)
      else if (!indexed.has(`${a}:${height}`)) report('BAD_INDEX', `block ${height} of ${a.slice(0, 16)} is stored but not indexed`)
    }
  }
}

/** Walks one keyspace in both stores side by side and reports missing, extra or differing entries. */
async function compareKeyspace (a: LedgerStore, b: LedgerStore, prefix: string, report: (code: string, message: string) => void): Promise<void> {
  const left = a.entries(prefix)
  const right = b.entries(prefix)
  let l = await left.next()
  let r = await right.next()
  while (!l.done || !r.done) {
    if (r.done || (!l.done && l.value[0] < r.value[0])) {
      report('INDEX_MISMATCH', `${(l.value as [string, Uint8Array])[0]} is stored but not derivable from the blocks`)
      l = await left.next()
    } else if (l.done || r.value[0] < l.value[0]) {
      report('INDEX_MISMATCH', `${r.value[0]} is missing from the store`)
      r = await right.next()
    } else {
      if (!equals(l.value[1], r.value[1])) report('INDEX_MISMATCH', `${l.value[0]} holds a different value than the blocks imply`)
      l = await left.next()
      r = await right.next()
    }
  }
}
