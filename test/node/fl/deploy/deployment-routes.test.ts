// An admin pins a published model, rolls back to the one deployed before, and lifts the pin over
// HTTP (`/api/fl/deployment`), and each decision survives a restart: the restarted peer deploys
// the same model and keeps the pin. Every refusal has its code; only admins see or change it.
import { randomBytes } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { taskIdFor } from '../../../../ledger/rules/fl.ts'
import { initBackend } from '../../../../node/ai/runtime/backend.ts'
import { createModel, serializeWeights } from '../../../../node/ai/model/model.ts'
import { AnalyserSlot } from '../../../../node/analysis/analyser.ts'
import { createAuth } from '../../../../node/auth/index.ts'
import { createHttpServer } from '../../../../node/http/server.ts'
import { createFederation, FL_STATUS_BY_CODE, flRoutes, storageModelStore } from '../../../../node/fl/index.ts'
import type { DeploymentView, Federation, ModelRecord } from '../../../../node/fl/index.ts'
import type { FlRoutesComponents } from '../../../../node/fl/routes.ts'
import { cleanup, tempDir, testConsortium } from '../../../helpers/ledger/fixture.ts'
import { adminBrowser, call, signIn, signUp, testClock } from '../../auth/fixture.ts'
import type { Browser } from '../../auth/fixture.ts'
import { logger, nextEvent, phantoms, startFlPeer, stopAllFlPeers, TINY } from '../fixture.ts'
import type { FlPeer } from '../fixture.ts'

const { genesis } = testConsortium(1)
const VALIDATION = phantoms(9000, 8)
let stops: Array<() => Promise<void>> = []

test.before(async () => {
  await initBackend({ prefer: 'wasm' })
})

test.after.each(async () => {
  for (const stop of stops.reverse()) await stop()
  stops = []
  await stopAllFlPeers()
  await cleanup()
})

interface Harness { url: string, peer: FlPeer, live: { federation: Federation, analysers: AnalyserSlot }, admin: Browser, h: Parameters<typeof adminBrowser>[0] }

/** The routes' view of the federation, always the live one (a restart swaps it). */
function delegate (live: Harness['live']): FlRoutesComponents['federation'] {
  const f = (): Federation => live.federation
  return {
    startTask: (o) => f().startTask(o),
    stopTask: (id) => { f().stopTask(id) },
    continueTask: (id) => f().continueTask(id),
    task: (id) => f().task(id),
    tasks: () => f().tasks(),
    participation: () => f().participation(),
    currentModel: () => f().currentModel(),
    deployment: () => f().deployment(),
    pinModel: async (cid) => await f().pinModel(cid),
    unpinModel: async () => await f().unpinModel(),
    rollbackModel: async () => await f().rollbackModel()
  }
}

async function serve (): Promise<Harness> {
  const peer = await startFlPeer(1, genesis, { validation: VALIDATION, init: { participate: false, fetchTimeoutMs: 300 } })
  const clock = testClock()
  const data = await tempDir('medichain-fl-deploy-auth-')
  const auth = createAuth({ data, scryptN: 2 ** 14 })({ ledger: peer.ledger, logger, clock })
  const http = createHttpServer({ host: '127.0.0.1', port: 0, statusByCode: { ...auth.statusByCode, ...FL_STATUS_BY_CODE } })({ ledger: peer.ledger, logger, clock })
  auth.mount(http.app)
  const live = { federation: peer.federation, analysers: peer.analysers }
  const router = flRoutes({ federation: delegate(live), requireUser: auth.requireUser })
  http.app.use(router.routes())
  http.app.use(router.allowedMethods({ throw: true }))
  await auth.start()
  await http.start()
  stops.push(async () => await auth.stop(), async () => await http.stop())
  const h = { url: http.url, auth, ledger: peer.ledger, clock, data, http }
  return { url: http.url, peer, live, admin: await adminBrowser(h), h }
}

/** Stops the live federation and opens a new one on the same data folder (a restarted peer). */
async function restart (x: Harness): Promise<void> {
  await x.live.federation.stop()
  const { peer } = x
  const analysers = new AnalyserSlot()
  const again = createFederation({ data: peer.dir, participate: false, fetchTimeoutMs: 300 })({
    ledger: peer.ledger, p2p: peer.p2p, storage: peer.storage, identity: peer.identity, analysers, logger, clock: Date.now,
    trainingSet: async () => [], validationSet: async () => VALIDATION
  })
  stops.push(async () => await again.stop())
  const loaded = nextEvent(again, 'model:loaded')
  await again.start()
  await loaded
  x.live.federation = again
  x.live.analysers = analysers
}

/** Publishes a fresh TINY model of `seed` and waits for this hospital's decision. */
async function publish (x: Harness, seed: number): Promise<ModelRecord> {
  const model = createModel(seed, TINY)
  const cid = await storageModelStore(x.peer.storage).put(serializeWeights(model))
  model.dispose()
  const decided = nextEvent<ModelRecord>(x.live.federation, 'model:decided', r => r.cid === cid.toString())
  await x.peer.ledger.submitOwn('model.publish', { model: cid, task: taskIdFor('detect-strange', x.peer.key, randomBytes(4)), round: 1, metrics: {}, participants: [] })
  return await decided
}

async function get (x: Harness): Promise<DeploymentView> {
  const r = await call(x.url, '/api/fl/deployment', { cookie: x.admin.cookie })
  assert.is(r.status, 200)
  return r.body as unknown as DeploymentView
}

async function post (x: Harness, what: 'pin' | 'unpin' | 'rollback', json?: unknown): Promise<{ status: number, body: Record<string, unknown> | null }> {
  return await call(x.url, `/api/fl/deployment/${what}`, { method: 'POST', json: json ?? {}, cookie: x.admin.cookie, csrf: x.admin.csrf })
}

const reasonOf = (d: DeploymentView, cid: string): string | undefined => d.models.find(m => m.cid === cid)?.reason?.code

test('roll back, pin and unpin over HTTP; each survives a restart', async () => {
  const x = await serve()
  const first = await publish(x, 1)
  const second = await publish(x, 2)
  let d = await get(x)
  assert.is(d.deployed?.cid, second.cid)
  assert.is(d.pinned, false)
  assert.is(d.minimumValidation, 20)
  assert.equal(d.models.map(m => [m.cid, m.state]), [[second.cid, 'deployed'], [first.cid, 'available']])
  assert.is(reasonOf(d, first.cid), 'SUPERSEDED')

  const rolled = await post(x, 'rollback')
  assert.is(rolled.status, 200)
  d = rolled.body as unknown as DeploymentView
  assert.is(d.deployed?.cid, first.cid)
  assert.is(d.pinned, true, 'a roll-back holds the earlier model')
  assert.is(reasonOf(d, second.cid), 'ROLLED_BACK')
  assert.is(x.live.analysers.current?.model.toString(), first.cid)

  const third = await publish(x, 3)
  assert.is(third.state, 'available')
  assert.is(third.reason?.code, 'PINNED', 'a pin holds newer publications back')

  await restart(x)
  d = await get(x)
  assert.is(d.deployed?.cid, first.cid, 'the restarted peer deploys the rolled-back model')
  assert.is(d.pinned, true)
  assert.is(reasonOf(d, third.cid), 'PINNED')
  assert.is(x.live.analysers.current?.model.toString(), first.cid)

  const deployed = nextEvent<ModelRecord>(x.live.federation, 'model:decided', r => r.cid === third.cid)
  const unpinned = await post(x, 'unpin')
  assert.is(unpinned.status, 200)
  assert.is((unpinned.body as unknown as DeploymentView).pinned, false)
  assert.is((await deployed).state, 'deployed', 'the newest publication the pin held back is deployed once it passes')
  assert.is(x.live.analysers.current?.model.toString(), third.cid)

  const pinned = await post(x, 'pin', { model: second.cid })
  assert.is(pinned.status, 200)
  assert.is((pinned.body as unknown as DeploymentView).deployed?.cid, second.cid)
  await restart(x)
  d = await get(x)
  assert.is(d.deployed?.cid, second.cid, 'the pin survives a restart')
  assert.is(d.pinned, true)
  assert.is(x.live.analysers.current?.model.toString(), second.cid)
  assert.is(x.live.federation.currentModel()?.cid.toString(), second.cid)
})

test('refusals: unknown model NOT_FOUND, bad body INVALID, nothing earlier NO_EARLIER_MODEL, not an admin FORBIDDEN', async () => {
  const x = await serve()
  const early = await post(x, 'rollback')
  assert.equal([early.status, early.body?.code], [409, 'NO_EARLIER_MODEL'])
  const only = await publish(x, 1)
  const again = await post(x, 'rollback')
  assert.equal([again.status, again.body?.code], [409, 'NO_EARLIER_MODEL'])
  const unknown = await post(x, 'pin', { model: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy' })
  assert.equal([unknown.status, unknown.body?.code], [404, 'NOT_FOUND'])
  for (const body of [{}, { model: 'not-a-cid' }, { model: only.cid, extra: 1 }, { model: 7 }]) {
    const bad = await post(x, 'pin', body)
    assert.equal([bad.status, bad.body?.code], [400, 'INVALID'], JSON.stringify(body))
  }
  await signUp(x.h, 'pat', 'patient')
  const patient = await signIn(x.url, 'pat')
  const read = await call(x.url, '/api/fl/deployment', { cookie: patient.cookie })
  assert.equal([read.status, read.body?.code], [403, 'FORBIDDEN'])
  const pin = await call(x.url, '/api/fl/deployment/pin', { method: 'POST', json: { model: only.cid }, cookie: patient.cookie, csrf: patient.csrf })
  assert.equal([pin.status, pin.body?.code], [403, 'FORBIDDEN'])
  assert.is((await get(x)).deployed?.cid, only.cid, 'nothing changed')
})

test.run()
