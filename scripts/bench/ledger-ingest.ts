// Ingest and rebuild figures for `npm run bench:ledger`: signed transactions validated and
// appended durably per second, beside the raw node:crypto Ed25519 verify rate of the same run.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { createBlock } from '../../protocol/block.ts'
import type { Block } from '../../protocol/block.ts'
import { createGenesis, ledgerIdOf } from '../../protocol/genesis.ts'
import { signTx } from '../../protocol/tx.ts'
import type { Tx } from '../../protocol/tx.ts'
import { createLedger } from '../../ledger/ledger.ts'
import { nodeIdentity, nodeVerify } from '../../ledger/node-crypto.ts'

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

/** Raw node:crypto Ed25519 verifications per second over `n` distinct signatures. */
export function rawVerifyRate (n: number): number {
  const msgs = Array.from({ length: n }, (_, i) => new TextEncoder().encode(`message ${i} `.repeat(8)))
  const sigs = msgs.map(m => hospitalB.sign(m))
  const t0 = performance.now()
  for (let i = 0; i < n; i++) if (!nodeVerify(hospitalB.publicKey, msgs[i], sigs[i])) throw new Error('verify failed')
  return n / ((performance.now() - t0) / 1000)
}

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
export async function ingestRate (blocks: Block[], verifyWorkers = 0): Promise<{ txPerSec: number, seconds: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'medichain-bench-'))
  const ledger = createLedger({ path: dir, genesis, verifyWorkers })({ identity: hospitalA, verify: nodeVerify, logger: pino({ level: 'silent' }), clock: Date.now })
  await ledger.start()
  const txs = blocks.reduce((n, b) => n + b.txs.length, 0)
  const t0 = performance.now()
  await Promise.all(blocks.map(async b => await ledger.receive(b.bytes)))
  const seconds = (performance.now() - t0) / 1000
  await ledger.stop()
  await rm(dir, { recursive: true, force: true })
  return { txPerSec: txs / seconds, seconds }
}
