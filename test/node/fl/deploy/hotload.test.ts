// "Fetch model" (issue 4): a published model is hot-loaded into the analyser slot, a restarted peer
// finds the latest publication already on its ledger, a publication whose weights cannot be
// fetched leaves the current model in place (model:failed), and "newer" is decided by ledger
// position, the same way on every peer. Also: the task API's negative paths on a one-hospital consortium.
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { utf8 } from '../../../../protocol/bytes.ts'
import { initBackend } from '../../../../node/ai/runtime/backend.ts'
import { AnalyserSlot } from '../../../../node/analysis/analyser.ts'
import { createFederation } from '../../../../node/fl/index.ts'
import type { PublishedModel } from '../../../../node/fl/index.ts'
import { isNewer } from '../../../../node/fl/deploy/hotload.ts'
import { taskIdFor } from '../../../../ledger/rules/fl.ts'
import { rejects, throwsCode } from '../../../helpers/assert.ts'
import { withTimeout } from '../../../helpers/timeout.ts'
import { cleanup, testConsortium } from '../../../helpers/ledger/fixture.ts'
import { consent, itemsFor, logger, nextEvent, phantoms, startFlPeer, stopAllFlPeers, TINY } from '../fixture.ts'
import type { FlPeer } from '../fixture.ts'

const { genesis } = testConsortium(1)
const SOLO = { task: 'detect-strange', model: TINY, epochs: 1, batchSize: 4, learningRate: 0.01, rounds: 1, minParticipants: 1, patience: 1, roundTimeoutMs: 20_000 }

test.before(async () => {
  await initBackend({ prefer: 'wasm' })
})

test.after.each(async () => {
  await stopAllFlPeers()
  await cleanup()
})

async function soloPeer (init = {}): Promise<FlPeer> {
  const peer = await startFlPeer(1, genesis, { items: itemsFor(phantoms(100, 8), 100), validation: phantoms(9000, 8), init })
  await consent(peer, Array.from({ length: 8 }, (_, i) => ({ patient: 100 + i })))
  return peer
}

test('a published model is hot-loaded, and found again by a restarted federation', async () => {
  const peer = await soloPeer()
  const changed = nextEvent<string | null>(peer.analysers, 'analyser:changed')
  const id = peer.federation.startTask(SOLO)
  const view = await withTimeout(peer.federation.settled(id), 30_000, 'the task')
  const cid = view.published?.model
  assert.ok(cid !== undefined)
  assert.is(await changed, cid)
  assert.is(peer.analysers.current?.model.toString(), cid)
  const result = await peer.analysers.current?.analyse(phantoms(5, 1)[0].image)
  assert.is(result?.model.toString(), cid, 'the analyser stamps results with the published CID')

  // A fresh federation on the same ledger and storage (a restart) loads it from the ledger.
  await peer.federation.stop()
  const slot = new AnalyserSlot()
  const again = createFederation({})({
    ledger: peer.ledger, p2p: peer.p2p, storage: peer.storage, identity: peer.identity, analysers: slot, logger, clock: Date.now,
    trainingSet: async () => [], validationSet: async () => []
  })
  const loaded = nextEvent<PublishedModel>(again, 'model:loaded')
  await again.start()
  try {
    assert.is((await loaded).cid.toString(), cid)
    assert.is(slot.current?.model.toString(), cid)
    assert.is(again.currentModel()?.round, 1)
  } finally {
    await again.stop()
  }
})

test('a publication whose weights nobody has leaves the current model in place', async () => {
  const peer = await soloPeer({ fetchTimeoutMs: 200 })
  const id = peer.federation.startTask(SOLO)
  const cid = (await withTimeout(peer.federation.settled(id), 30_000, 'the task')).published?.model
  await withTimeout((async () => { while (peer.federation.currentModel() === null) await nextEvent(peer.federation, 'model:loaded') })(), 10_000, 'the first model')
  const ghost = CID.create(1, raw.code, await sha256.digest(utf8('weights nobody stored')))
  const failed = nextEvent<{ cid: CID, code: string }>(peer.federation, 'model:failed')
  await peer.ledger.submitOwn('model.publish', { model: ghost, task: taskIdFor('detect-strange', peer.key, new Uint8Array(4)), round: 1, metrics: {}, participants: [] })
  const failure = await failed
  assert.is(failure.cid.toString(), ghost.toString())
  assert.is(failure.code, 'UNAVAILABLE')
  assert.is(peer.analysers.current?.model.toString(), cid, 'the previous model keeps serving')
  assert.is(peer.federation.currentModel()?.cid.toString(), cid)
})

test('"newer" is by ledger position (order key, author, height, index), never by the claimed time', async () => {
  const a = CID.create(1, raw.code, await sha256.digest(utf8('a')))
  const at = (order: number, author: string, height: number, index: number, time: number): PublishedModel =>
    ({ cid: a, time, task: 't', round: 1, publisher: '', position: { order, author, height, index } })
  assert.ok(isNewer(at(1, 'aa', 0, 0, 0), null))
  assert.ok(isNewer(at(3, 'aa', 2, 0, 0), at(2, 'bb', 1, 0, Number.MAX_SAFE_INTEGER)), 'a later block wins whatever time the earlier one claims')
  assert.not.ok(isNewer(at(2, 'bb', 1, 0, Number.MAX_SAFE_INTEGER), at(3, 'aa', 2, 0, 0)))
  assert.ok(isNewer(at(5, 'bb', 1, 0, 0), at(5, 'aa', 3, 0, 9)), 'equal order keys: by author')
  assert.ok(isNewer(at(5, 'aa', 1, 2, 0), at(5, 'aa', 1, 1, 9)), 'one block: by index')
  assert.not.ok(isNewer(at(5, 'aa', 1, 1, 0), at(5, 'aa', 1, 1, 0)), 'the same publication is not newer than itself')
})

test('task API: bad options are INVALID, a second task is CONFLICT, unknown ids NOT_FOUND', async () => {
  const peer = await soloPeer()
  const bad: unknown[] = [
    null, [], { rounds: 0 }, { rounds: 1.5 }, { minParticipants: 0 }, { roundTimeoutMs: 10 }, { epochs: 101 }, { aggregation: 'median' },
    { trim: 0.5 }, { mu: -1 }, { clip: 0 }, { dpSigma: 1 }, { task: 'Bad Name' }, { task: 'a/b' }, { model: { inputSize: 30 } }, { model: 'big' },
    { learningRate: 0 }, { initialModel: 'not-a-cid' }, { patience: 0 }, { surprise: true }, { schedule: 'step' }, { serverLearningRate: 0 },
    { serverMomentum: 1 }
  ]
  for (const options of bad) {
    try {
      throwsCode(() => peer.federation.startTask(options), 'INVALID')
    } catch (err) {
      assert.unreachable(`${JSON.stringify(options)}: ${String(err)}`)
    }
  }
  const id = peer.federation.startTask({ ...SOLO, rounds: 2 })
  throwsCode(() => peer.federation.startTask(SOLO), 'CONFLICT')
  throwsCode(() => peer.federation.task('no-such-task'), 'NOT_FOUND')
  throwsCode(() => peer.federation.stopTask('no-such-task'), 'NOT_FOUND')
  await rejects(async () => await peer.federation.settled('no-such-task'), 'NOT_FOUND')
  peer.federation.stopTask(id)
  const view = await withTimeout(peer.federation.settled(id), 30_000, 'the stopped task')
  assert.is(view.status, 'stopped')
  assert.is(view.published, null, 'a stopped task publishes nothing')
  assert.is(peer.federation.tasks().length, 1)
  assert.is(peer.federation.tasks()[0].status, 'stopped')
  assert.is(peer.federation.tasks()[0].error, null)
})

test('a peer without a held-out set cannot coordinate: the task fails with NO_VALIDATION_SET', async () => {
  const peer = await startFlPeer(1, genesis, { items: itemsFor(phantoms(100, 4), 100) })
  const view = await withTimeout(peer.federation.settled(peer.federation.startTask(SOLO)), 30_000, 'the task')
  assert.is(view.status, 'failed')
  assert.is(view.error?.code, 'NO_VALIDATION_SET')
  assert.equal(view.rounds, [])
  assert.is(peer.federation.tasks()[0].error?.code, 'NO_VALIDATION_SET', 'the task list says why it failed')
})

test.run()
