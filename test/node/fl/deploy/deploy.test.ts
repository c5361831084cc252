// Which published model a hospital deploys (issue 11): publications are ordered by ledger position,
// never by the time their publisher claims, so a far-future publication neither freezes later
// models nor keeps an evil model installed, also after a restart; and a model is deployed only once
// fetched, format-checked and no worse than the deployed one on this hospital's held-out images,
// otherwise it stays "available, not deployed" with the reason.
import { randomBytes } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { utf8 } from '../../../../protocol/bytes.ts'
import { taskIdFor } from '../../../../ledger/rules/fl.ts'
import { initBackend } from '../../../../node/ai/runtime/backend.ts'
import { createModel, serializeWeights } from '../../../../node/ai/model/model.ts'
import { decodeWeights, encodeWeights } from '../../../../node/ai/model/weights-format.ts'
import { AnalyserSlot } from '../../../../node/analysis/analyser.ts'
import { createFederation, storageModelStore } from '../../../../node/fl/index.ts'
import type { FederationInit, ModelRecord } from '../../../../node/fl/index.ts'
import type { Tx, TxBodies } from '../../../../protocol/chain/tx.ts'
import { waitFor, withTimeout } from '../../../helpers/timeout.ts'
import { cleanup, makeTx, testConsortium } from '../../../helpers/ledger/fixture.ts'
import { logger, nextEvent, phantoms, startFlPeer, stopAllFlPeers, TINY } from '../fixture.ts'
import type { FlPeer } from '../fixture.ts'

const { genesis } = testConsortium(1)
const VALIDATION = phantoms(9000, 8)
/** Seq numbers for publications signed here with a chosen time, far from the ledger's own. */
let seq = 1_000_000

test.before(async () => {
  await initBackend({ prefer: 'wasm' })
})

test.after.each(async () => {
  await stopAllFlPeers()
  await cleanup()
})

async function peerWith (init: FederationInit): Promise<FlPeer> {
  return await startFlPeer(1, genesis, { validation: VALIDATION, init: { participate: false, fetchTimeoutMs: 300, ...init } })
}

/** Weights of a fresh TINY model. */
function weights (seed: number): Uint8Array {
  const model = createModel(seed, TINY)
  try {
    return serializeWeights(model)
  } finally {
    model.dispose()
  }
}

/** Weights that pass the format checks but predict a lesion at every pixel: far worse on any labelled set. */
function lesionEverywhere (seed: number): Uint8Array {
  const { config, weights: w } = decodeWeights(weights(seed))
  w[w.length - 1].fill(20)
  return encodeWeights(config, w)
}

/** The publication of `model` by `peer`, for a task it coordinates. */
function publicationBody (peer: FlPeer, model: CID): TxBodies['model.publish'] {
  return { model, task: taskIdFor('detect-strange', peer.key, randomBytes(4)), round: 1, metrics: {}, participants: [] }
}

/** The same, signed here with a chosen `tx.time` (what a hostile member can claim). */
function signedPublication (peer: FlPeer, model: CID, time: number): Tx {
  return makeTx(peer.ledger.id, peer.identity, 'model.publish', publicationBody(peer, model), seq++, time)
}

/** Stores `bytes` and publishes them; resolves with the decision about them. */
async function publish (peer: FlPeer, bytes: Uint8Array, time?: number): Promise<ModelRecord> {
  const cid = await storageModelStore(peer.storage).put(bytes)
  return await publishCid(peer, cid, time)
}

async function publishCid (peer: FlPeer, cid: CID, time?: number): Promise<ModelRecord> {
  // Listening before the write, and stopping if the ledger refuses it (TX_TIME), so no wait is left behind.
  let stop = (): void => {}
  const decided = new Promise<ModelRecord>(resolve => {
    const on = (e: Event): void => {
      const r = (e as CustomEvent<ModelRecord>).detail
      if (r.cid === cid.toString()) resolve(r)
    }
    stop = () => peer.federation.removeEventListener('model:decided', on)
    peer.federation.addEventListener('model:decided', on)
  })
  try {
    if (time === undefined) await peer.ledger.submitOwn('model.publish', publicationBody(peer, cid))
    else await peer.ledger.submit(signedPublication(peer, cid, time))
    return await withTimeout(decided, 30_000, 'event model:decided')
  } finally {
    stop()
  }
}

async function ghost (label: string): Promise<CID> {
  return CID.create(1, raw.code, await sha256.digest(utf8(`weights nobody stored: ${label}`)))
}

test('a publication claiming a later time does not freeze later models: ledger order decides', async () => {
  const peer = await peerWith({})
  const first = await publish(peer, weights(1))
  assert.is(first.state, 'deployed')
  // Signed four minutes ahead (inside the clock-skew limit): under "latest tx.time" it outranked every later publication.
  const ahead = await publishCid(peer, await ghost('ahead'), Date.now() + 4 * 60_000)
  assert.is(ahead.state, 'available')
  assert.is(ahead.reason?.code, 'FETCH_FAILED')
  const later = await publish(peer, weights(2))
  assert.is(later.state, 'deployed', 'the later publication is deployed')
  assert.is(peer.federation.currentModel()?.cid.toString(), later.cid)
  assert.is(peer.analysers.current?.model.toString(), later.cid)
})

test('time 2^53−1: an unfetchable publication does not block later models, nor does an evil one stay installed, also after a restart', async () => {
  const peer = await peerWith({})
  const unheld = await ghost('far future')
  let accepted = true
  await peer.ledger.submit(signedPublication(peer, unheld, Number.MAX_SAFE_INTEGER)).catch((err: { name?: string }) => {
    // Where the ledger binds a transaction's time to its block's, it refuses this at the door.
    assert.is(err.name, 'LedgerRuleError')
    accepted = false
  })
  const evil = await publish(peer, weights(66), Number.MAX_SAFE_INTEGER).catch(() => null)
  assert.is(evil === null, !accepted, 'both far-future publications are accepted or both refused')
  const honest = await publish(peer, weights(3))
  assert.is(honest.state, 'deployed')
  assert.is(peer.federation.currentModel()?.cid.toString(), honest.cid)
  if (evil !== null) assert.is(peer.federation.deployment().models.find(m => m.cid === evil.cid)?.reason?.code, 'SUPERSEDED')

  await peer.federation.stop()
  const slot = new AnalyserSlot()
  const again = createFederation({ data: peer.dir, participate: false, fetchTimeoutMs: 300 })({
    ledger: peer.ledger, p2p: peer.p2p, storage: peer.storage, identity: peer.identity, analysers: slot, logger, clock: Date.now,
    trainingSet: async () => [], validationSet: async () => VALIDATION
  })
  const loaded = nextEvent<{ cid: CID }>(again, 'model:loaded')
  await again.start()
  try {
    assert.is((await loaded).cid.toString(), honest.cid, 'the restarted peer deploys the same model')
    await waitFor(() => !again.deployment().models.some(m => m.state === 'pending'), { timeout: 10_000, what: 'the restarted loader' })
    assert.is(slot.current?.model.toString(), honest.cid)
  } finally {
    await again.stop()
  }
})

test('a model published while the federation was stopped is checked and deployed at the next start', async () => {
  const peer = await peerWith({})
  const first = await publish(peer, weights(1))
  await peer.federation.stop()
  const cid = await storageModelStore(peer.storage).put(weights(2))
  await peer.ledger.submitOwn('model.publish', publicationBody(peer, cid))
  const slot = new AnalyserSlot()
  const again = createFederation({ data: peer.dir, participate: false, fetchTimeoutMs: 300 })({
    ledger: peer.ledger, p2p: peer.p2p, storage: peer.storage, identity: peer.identity, analysers: slot, logger, clock: Date.now,
    trainingSet: async () => [], validationSet: async () => VALIDATION
  })
  const decided = nextEvent<ModelRecord>(again, 'model:decided', r => r.cid === cid.toString())
  await again.start()
  try {
    assert.is((await decided).state, 'deployed')
    assert.is(slot.current?.model.toString(), cid.toString())
    assert.is(again.deployment().models.find(m => m.cid === first.cid)?.reason?.code, 'SUPERSEDED')
  } finally {
    await again.stop()
  }
})

test('a model worse on local validation stays available, not deployed, with the reason and the figures', async () => {
  const peer = await peerWith({ deployMinValidation: 4 })
  const good = await publish(peer, weights(1))
  assert.is(good.state, 'deployed')
  assert.equal(good.check, { samples: 8, minimum: 4, candidate: null, deployed: null }, 'nothing to compare the first model with')
  const worse = await publish(peer, lesionEverywhere(2))
  assert.is(worse.state, 'available')
  assert.is(worse.reason?.code, 'WORSE_ON_LOCAL_VALIDATION')
  assert.is(worse.check?.samples, 8)
  assert.ok((worse.check?.candidate?.loss ?? 0) > (worse.check?.deployed?.loss ?? Infinity), 'its loss is higher')
  assert.is(peer.federation.currentModel()?.cid.toString(), good.cid, 'the deployed model keeps serving')
  assert.is(peer.analysers.current?.model.toString(), good.cid)
  const shown = peer.federation.deployment()
  assert.is(shown.deployed?.cid, good.cid)
  assert.is(shown.models[0].cid, worse.cid, 'newest first')
  assert.is(shown.models[0].reason?.code, 'WORSE_ON_LOCAL_VALIDATION')
})

test('with fewer held-out images than the minimum the comparison is skipped, and says so', async () => {
  const peer = await peerWith({ deployMinValidation: 9 })
  await publish(peer, weights(1))
  const skipped = await publish(peer, lesionEverywhere(2))
  assert.is(skipped.state, 'deployed')
  assert.equal(skipped.check, { samples: 8, minimum: 9, candidate: null, deployed: null })
})

test('weights that fail the format checks, or that nobody holds, are available, not deployed', async () => {
  const peer = await peerWith({})
  const good = await publish(peer, weights(1))
  const garbage = await publish(peer, utf8('these are not MCW1 weights'))
  assert.is(garbage.state, 'available')
  assert.is(garbage.reason?.code, 'BAD_WEIGHTS')
  const failed = nextEvent<{ code: string }>(peer.federation, 'model:failed')
  const missing = await publishCid(peer, await ghost('missing'))
  assert.is(missing.reason?.code, 'FETCH_FAILED')
  assert.is((await failed).code, 'UNAVAILABLE', 'the fetch failure keeps its own code in the event')
  assert.is(peer.federation.currentModel()?.cid.toString(), good.cid)
})

test.run()
