// One hospital peer of the FL round-overhead benchmark, in its own process so that its local
// training gets its own tfjs runtime (as on a real deployment): ledger, libp2p, helia and the
// federation, with this hospital's share of a non-IID phantom set, every patient consenting to
// training. Driven by fl-round.ts over IPC; not meant to be run by hand.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { pino } from 'pino'
import { toHex } from '../../../protocol/bytes.ts'
import { sha256 } from '../../../protocol/crypto/hash.ts'
import type { Genesis } from '../../../protocol/chain/genesis.ts'
import { accountPopBytes, patientIdOf, signTx } from '../../../protocol/chain/tx.ts'
import { createLedger } from '../../../ledger/ledger.ts'
import { nodeIdentity, nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import type { TrainSample } from '../../../node/ai/train/train.ts'
import { AnalyserSlot } from '../../../node/analysis/analyser.ts'
import { createFederation, flTopicAllowance } from '../../../node/fl/index.ts'
import type { TaskView, TrainingItem } from '../../../node/fl/index.ts'
import { createP2P } from '../../../node/p2p/index.ts'
import { createStorage } from '../../../node/storage/index.ts'
import { generateDataset } from '../../synth/dataset.ts'

/** Messages from the driver. */
export type ToPeer =
  | { type: 'init', n: number, seed: Uint8Array, genesis: Genesis, data: { seed: number, perHospital: number, heldOut: number, imageSize: number } }
  | { type: 'connect', addrs: string[] }
  | { type: 'run', options: Record<string, unknown> }
  | { type: 'stop' }

/** Messages to the driver. */
export type FromPeer = { type: 'ready', addr: string } | { type: 'connected' } | { type: 'done', view: TaskView } | { type: 'error', message: string }

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' })
const send = (m: FromPeer): void => { process.send?.(m) }

function samples (opts: { seed: number, count: number, imageSize: number }, hospital?: string): TrainSample[] {
  const out: TrainSample[] = []
  for (const item of generateDataset({ seed: opts.seed, count: opts.count, hospitals: 3, nonIid: true, size: opts.imageSize })) {
    if (hospital !== undefined && item.hospital !== hospital) continue
    const p = item.phantom
    out.push({ image: { format: 'png', width: p.size, height: p.size, bitsStored: 8, pixels: p.pixels, modality: 'OT' }, mask: p.mask })
  }
  return out
}

async function start (m: Extract<ToPeer, { type: 'init' }>): Promise<() => Promise<void>> {
  await initBackend()
  const dir = await mkdtemp(join(tmpdir(), 'medichain-bench-fl-'))
  const identity = nodeIdentity(m.seed)
  const ledger = createLedger({ path: join(dir, 'ledger'), genesis: m.genesis, verifyWorkers: 0 })({ identity, verify: nodeVerify, logger, clock: Date.now })
  await ledger.start()
  const p2p = createP2P({ seed: m.seed, listen: ['/ip4/127.0.0.1/tcp/0'], syncIntervalMs: 0, ...flTopicAllowance(toHex(ledger.id)) })({ ledger, logger })
  await p2p.start()
  const storage = createStorage({ dataDir: dir, repairIntervalMs: 0 })({ libp2p: p2p.libp2p, logger, ledger })
  await storage.start()
  const mine = samples({ seed: m.data.seed, count: 3 * m.data.perHospital, imageSize: m.data.imageSize }, `hospital-${m.n}`)
  const patients = mine.map((_, i) => nodeIdentity(sha256(new TextEncoder().encode(`bench patient ${m.n} ${i}`))))
  const now = Date.now()
  await Promise.all(patients.map(async p => {
    const body = { user: p.publicKey, box: new Uint8Array(32).fill(7), role: 'patient' as const, hospital: identity.publicKey }
    await ledger.submitOwn('account.register', { ...body, pop: p.sign(accountPopBytes(ledger.id, body)) })
  }))
  await Promise.all(patients.map(async p => await ledger.submit(signTx(ledger.id, {
    type: 'consent.grant', signer: p.publicKey, seq: 0, time: now,
    body: { grantee: identity.publicKey, kind: 'hospital', purpose: 'training', scope: { kind: 'all' }, expires: now + 86_400_000, keys: [] }
  }, p))))
  const items: TrainingItem[] = mine.map((s, i) => ({ ...s, patient: patientIdOf(patients[i].publicKey) }))
  const held = m.n === 0 ? samples({ seed: m.data.seed + 1, count: m.data.heldOut, imageSize: m.data.imageSize }) : []
  const federation = createFederation({})({
    ledger, p2p, storage, identity, analysers: new AnalyserSlot(), logger, clock: Date.now,
    trainingSet: async () => items, validationSet: async () => held
  })
  await federation.start()
  process.on('message', (msg: ToPeer) => {
    if (msg.type === 'connect') {
      void Promise.all(msg.addrs.map(async a => await p2p.libp2p.dial(multiaddr(a)))).then(() => send({ type: 'connected' }), (err: unknown) => send({ type: 'error', message: String(err) }))
    } else if (msg.type === 'run') {
      void (async () => {
        const id = federation.startTask(msg.options)
        send({ type: 'done', view: await federation.settled(id) })
      })().catch((err: unknown) => send({ type: 'error', message: String(err) }))
    }
  })
  send({ type: 'ready', addr: p2p.addresses()[0] })
  return async () => {
    await federation.stop()
    await storage.stop()
    await p2p.stop()
    await ledger.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

let stop: (() => Promise<void>) | undefined
process.on('message', (m: ToPeer) => {
  if (m.type === 'init') {
    start(m).then(s => { stop = s }, (err: unknown) => send({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) }))
  } else if (m.type === 'stop') {
    void (stop?.() ?? Promise.resolve()).finally(() => process.exit(0))
  }
})
