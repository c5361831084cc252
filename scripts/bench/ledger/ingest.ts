// Ingest and rebuild figures for `npm run bench:ledger`: signed transactions validated and
// appended durably per second, beside the raw node:crypto Ed25519 verify rate of the same run.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { createBlock } from '../../../protocol/chain/block.ts'
import type { Block } from '../../../protocol/chain/block.ts'
import { createGenesis, ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { signTx } from '../../../protocol/chain/tx.ts'
import type { Tx } from '../../../protocol/chain/tx.ts'
import { createLedger } from '../../../ledger/ledger.ts'
import { nodeIdentity, nodeVerify } from '../../../ledger/verify/node-crypto.ts'

/** Median of numbers. */
export function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

const seed = (n: number): Uint8Array => { const s = new Uint8Array(32); s[0] = n; return s }
export const hospitalA = nodeIdentity(seed(1))
export const hospitalB = nodeIdentity(seed(2))
export const genesis = createGenesis({
  name: 'bench', created: 0, quorum: 'majority',
  members: [hospitalA, hospitalB].map((h, i) => ({ name: `H${i}`, key: h.publicKey, addrs: [] }))
})
const ledgerId = ledgerIdOf(genesis)

/** CPU time of this thread in µs (user + system). */
function threadCpuUs (): number {
  const u = process.threadCpuUsage()
  return u.user + u.system
}

/**
 * Raw node:crypto Ed25519 verifications per second over `n` distinct signatures, and the CPU time
 * one verification took on this thread (µs): on a loaded machine the rate falls with the share of
 * a core the thread gets, the CPU time much less.
 */
export function rawVerify (n: number): { perSec: number, cpuUs: number } {
  const msgs = Array.from({ length: n }, (_, i) => new TextEncoder().encode(`message ${i} `.repeat(8)))
  const sigs = msgs.map(m => hospitalB.sign(m))
  const c0 = threadCpuUs()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) if (!nodeVerify(hospitalB.publicKey, msgs[i], sigs[i])) throw new Error('verify failed')
  return { perSec: n / ((performance.now() - t0) / 1000), cpuUs: (threadCpuUs() - c0) / n }
}

/** Raw node:crypto Ed25519 verifications per second over `n` distinct signatures. */
export function rawVerifyRate (n: number): number {
  return rawVerify(n).perSec
}

/** Where one ingest's CPU went, in µs per transaction: the main thread, and the rest of the process (the verify workers, level's threads). */
export interface IngestCpu { mainUs: number, othersUs: number }

/** `count` blocks by hospital B of `perBlock` record.create transactions each. */
export function makeChain (count: number, perBlock: number, author = hospitalB, startTime = Date.now() - 3_600_000): Block[] {
  const blocks: Block[] = []
  let prev: Uint8Array | null = null
  let seq = 0
  for (let h = 0; h < count; h++) {
    const txs: Tx[] = []
    for (let i = 0; i < perBlock; i++, seq++) {
      const patient = new Uint8Array(32)
      new DataView(patient.buffer).setUint32(0, seq % 5000)
      const record = new Uint8Array(16)
      new DataView(record.buffer).setUint32(0, seq)
      txs.push(signTx(ledgerId, { type: 'record.create', body: { patient, record }, signer: author.publicKey, seq, time: startTime + seq }, author) as Tx)
    }
    const block: Block = createBlock({ ledger: ledgerId, height: h, prev, links: [], time: startTime + h, txs }, author)
    blocks.push(block)
    prev = block.hash
  }
  return blocks
}

/** Appends `blocks` to a fresh ledger (durable batches) and returns transactions per second. */
export async function ingestRate (blocks: Block[], verifyWorkers = 0): Promise<{ txPerSec: number, seconds: number, cpu: IngestCpu }> {
  const dir = await mkdtemp(join(tmpdir(), 'medichain-bench-'))
  const ledger = createLedger({ path: dir, genesis, verifyWorkers })({ identity: hospitalA, verify: nodeVerify, logger: pino({ level: 'silent' }), clock: Date.now })
  await ledger.start()
  const txs = blocks.reduce((n, b) => n + b.txs.length, 0)
  const p0 = process.cpuUsage()
  const m0 = threadCpuUs()
  const t0 = performance.now()
  await Promise.all(blocks.map(async b => await ledger.receive(b.bytes)))
  const seconds = (performance.now() - t0) / 1000
  const main = threadCpuUs() - m0
  const p = process.cpuUsage(p0)
  await ledger.stop()
  await rm(dir, { recursive: true, force: true })
  return { txPerSec: txs / seconds, seconds, cpu: { mainUs: main / txs, othersUs: (p.user + p.system - main) / txs } }
}
