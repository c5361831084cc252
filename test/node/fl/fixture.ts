// Shared setup of the federated-learning tests: real hospital peers on 127.0.0.1 (ledger in a temp
// folder, libp2p, helia storage, the federation), tiny phantom data sets, patients registered on
// the ledger with training consents signed by their own keys, and an event waiter. Each peer's
// P2P host admits FL's topics from creation, and its FL history persists in its own data folder.
import { multiaddr } from '@multiformats/multiaddr'
import { pino } from 'pino'
import { toHex } from '../../../protocol/bytes.ts'
import type { Genesis } from '../../../protocol/chain/genesis.ts'
import type { Identity } from '../../../protocol/crypto/ed25519.ts'
import { patientIdOf } from '../../../protocol/chain/tx.ts'
import type { Purpose, TxBodies } from '../../../protocol/chain/tx.ts'
import type { Ledger } from '../../../ledger/types.ts'
import type { TrainSample } from '../../../node/ai/train/train.ts'
import { AnalyserSlot } from '../../../node/analysis/analyser.ts'
import { createFederation, flTopicAllowance } from '../../../node/fl/index.ts'
import type { Federation, FederationInit, TrainingItem } from '../../../node/fl/index.ts'
import { createP2P } from '../../../node/p2p/index.ts'
import type { P2P } from '../../../node/p2p/index.ts'
import { createStorage } from '../../../node/storage/index.ts'
import type { Storage } from '../../../node/storage/index.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { makeTx, openLedger, registerBody, tempDir, testIdentity, testSeed } from '../../helpers/ledger/fixture.ts'

/** A model small enough that a round takes well under a second: 32×32 input, 7.5k parameters. */
export const TINY = { inputSize: 32, base: 4, depth: 2 }

export const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' })

/** `count` labelled 32×32 phantoms from seed `from`, with lesions clear enough to learn in seconds. */
export function phantoms (from: number, count: number, size = 32): TrainSample[] {
  return Array.from({ length: count }, (_, i) => {
    const p = generatePhantom(from + i, { size, contrast: 3 })
    return { image: { format: 'png', width: size, height: size, bitsStored: 8, pixels: p.pixels, modality: 'OT' }, mask: p.mask }
  })
}

/** One running hospital peer with federated learning. */
export interface FlPeer {
  n: number
  /** The peer's data folder (ledger, blocks, FL history under `fl/`). */
  dir: string
  key: Uint8Array
  identity: Identity
  ledger: Ledger
  p2p: P2P
  storage: Storage
  analysers: AnalyserSlot
  federation: Federation
  /** The hospital's training set; tests may replace `data.items` between rounds. */
  data: { items: TrainingItem[] }
}

/** Options of startFlPeer. */
export interface FlPeerOptions {
  items?: TrainingItem[]
  validation?: TrainSample[]
  init?: FederationInit
  /** Create the federation but do not start it (an attacker or an observer without FL, or a test that listens first). */
  noFederation?: boolean
  /** Reuse this data folder (a restarted peer) instead of a fresh one. */
  dir?: string
  /** Create the P2P host without FL's topics (the federation then refuses to start). */
  noFlTopics?: boolean
}

const running: FlPeer[] = []

/** Starts ledger, P2P, storage and federation for hospital `n` of `genesis`. */
export async function startFlPeer (n: number, genesis: Genesis, opts: FlPeerOptions = {}): Promise<FlPeer> {
  const dir = opts.dir ?? await tempDir('medichain-fl-')
  const identity = testIdentity(n)
  const ledger = await openLedger(genesis, identity, { path: `${dir}/ledger`, verifyWorkers: 0 })
  const topics = opts.noFlTopics === true ? {} : flTopicAllowance(toHex(ledger.id))
  const p2p = createP2P({ seed: testSeed(n), listen: ['/ip4/127.0.0.1/tcp/0'], syncIntervalMs: 1000, redialMinMs: 50, redialMaxMs: 500, ...topics })({ ledger, logger })
  await p2p.start()
  const storage = createStorage({ repairIntervalMs: 0, dataDir: dir })({ libp2p: p2p.libp2p, logger, ledger })
  await storage.start()
  const analysers = new AnalyserSlot()
  const data = { items: opts.items ?? [] }
  const validation = opts.validation ?? []
  const federation = createFederation({ data: dir, ...opts.init })({
    ledger, p2p, storage, identity, analysers, logger, clock: Date.now,
    trainingSet: async () => data.items,
    validationSet: async () => validation
  })
  const peer: FlPeer = { n, dir, key: identity.publicKey, identity, ledger, p2p, storage, analysers, federation, data }
  if (opts.noFederation !== true) await federation.start()
  running.push(peer)
  return peer
}

/** Stops one peer (federation, storage, P2P, ledger). */
export async function stopFlPeer (peer: FlPeer): Promise<void> {
  const i = running.indexOf(peer)
  if (i >= 0) running.splice(i, 1)
  await peer.federation.stop().catch(() => {})
  await peer.storage.stop().catch(() => {})
  await peer.p2p.stop().catch(() => {})
  await peer.ledger.stop().catch(() => {})
}

/** Stops every peer started here. */
export async function stopAllFlPeers (): Promise<void> {
  await Promise.all(running.slice().map(stopFlPeer))
}

/** Connects every pair of peers. */
export async function connectAll (peers: FlPeer[]): Promise<void> {
  for (let i = 0; i < peers.length; i++) {
    for (let j = i + 1; j < peers.length; j++) await peers[i].p2p.libp2p.dial(multiaddr(peers[j].p2p.addresses()[0]))
  }
}

/** A patient of a hospital, by number: its key and its pseudonymous id. */
export function patient (k: number): { identity: Identity, id: Uint8Array } {
  const identity = testIdentity(1000 + k)
  return { identity, id: patientIdOf(identity.publicKey) }
}

/** What one patient decides about training at one hospital. */
export interface ConsentPlan {
  patient: number
  purpose?: Purpose
  /** Expiry (ms since the epoch); default an hour from now. */
  expires?: number
  /** Grant, then revoke. */
  revoke?: boolean
  /** No consent at all (the patient is only registered). */
  none?: boolean
}

/** Registers the patients at `hospital` and submits their consents to it, signed by the patients. */
export async function consent (peer: FlPeer, plans: ConsentPlan[]): Promise<void> {
  await Promise.all(plans.map(async p => await peer.ledger.submitOwn('account.register', registerBody(peer.ledger.id, patient(p.patient).identity, peer.identity))))
  await Promise.all(plans.filter(p => p.none !== true).map(async p => {
    const body: TxBodies['consent.grant'] = {
      grantee: peer.key, kind: 'hospital', purpose: p.purpose ?? 'training', scope: { kind: 'all' }, expires: p.expires ?? Date.now() + 3600_000, keys: []
    }
    // An expired plan is a grant made a minute before its expiry: the ledger refuses one expired when made.
    const time = Math.min(Date.now(), body.expires - 60_000)
    await peer.ledger.submit(makeTx(peer.ledger.id, patient(p.patient).identity, 'consent.grant', body, 0, time))
  }))
  await Promise.all(plans.filter(p => p.revoke === true).map(async p => {
    await peer.ledger.submit(makeTx(peer.ledger.id, patient(p.patient).identity, 'consent.revoke', { grantee: peer.key }, 1, Date.now()))
  }))
}

/** Training items for `samples`, one patient each from `firstPatient` on. */
export function itemsFor (samples: TrainSample[], firstPatient: number): TrainingItem[] {
  return samples.map((s, i) => ({ ...s, patient: patient(firstPatient + i).id }))
}

/** Resolves with the detail of the first `type` event on `target` that `match` accepts. */
export async function nextEvent<T> (target: EventTarget, type: string, match: (detail: T) => boolean = () => true, ms = 30_000): Promise<T> {
  let listener: ((e: Event) => void) | undefined
  try {
    return await withTimeout(new Promise<T>(resolve => {
      listener = (e: Event): void => {
        const detail = (e as CustomEvent<T>).detail
        if (match(detail)) resolve(detail)
      }
      target.addEventListener(type, listener)
    }), ms, `event ${type}`)
  } finally {
    if (listener !== undefined) target.removeEventListener(type, listener)
  }
}
