// The FL routes on a real koa server with real auth (issue 4): an admin starts a task with
// `POST /api/fl/tasks` and follows it with `GET /api/fl/tasks/:id` (rounds with loss, Dice,
// participants, timings); others may read but not start; bad options, bad ids, unknown tasks and a
// second concurrent task get their codes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { createAuth } from '../../../node/auth/index.ts'
import type { Auth } from '../../../node/auth/index.ts'
import { createHttpServer } from '../../../node/http/server.ts'
import type { HttpServer } from '../../../node/http/server.ts'
import { flRoutes } from '../../../node/fl/routes.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { cleanup, tempDir, testConsortium } from '../../helpers/ledger/fixture.ts'
import { adminBrowser, call, signIn, signUp, testClock } from '../auth/fixture.ts'
import type { AuthHarness } from '../auth/fixture.ts'
import { isCoordinatorOf } from '../../../ledger/rules/fl.ts'
import { consent, itemsFor, logger, nextEvent, phantoms, startFlPeer, stopAllFlPeers, TINY } from './fixture.ts'
import type { FlPeer } from './fixture.ts'

const { genesis } = testConsortium(1)
const OPTIONS = { task: 'detect-strange', model: TINY, epochs: 1, batchSize: 4, learningRate: 0.01, rounds: 2, minParticipants: 1, patience: 2, roundTimeoutMs: 20_000 }
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

async function serve (): Promise<{ h: AuthHarness, peer: FlPeer }> {
  const peer = await startFlPeer(1, genesis, { items: itemsFor(phantoms(100, 8), 100), validation: phantoms(9000, 8) })
  await consent(peer, Array.from({ length: 8 }, (_, i) => ({ patient: 100 + i })))
  const clock = testClock()
  const data = await tempDir('medichain-fl-auth-')
  const auth: Auth = createAuth({ data, scryptN: 2 ** 14 })({ ledger: peer.ledger, logger, clock })
  const http: HttpServer = createHttpServer({ host: '127.0.0.1', port: 0, statusByCode: auth.statusByCode })({ ledger: peer.ledger, logger, clock })
  auth.mount(http.app)
  const router = flRoutes({ federation: peer.federation, requireUser: auth.requireUser })
  http.app.use(router.routes())
  http.app.use(router.allowedMethods({ throw: true }))
  await auth.start()
  await http.start()
  stops.push(async () => await auth.stop(), async () => await http.stop())
  return { h: { url: http.url, auth, ledger: peer.ledger, clock, data, http }, peer }
}

test('an admin starts a task and reads its round history; others read but may not start', async () => {
  const { h, peer } = await serve()
  assert.is((await call(h.url, '/api/fl/tasks')).status, 401)
  assert.is((await call(h.url, '/api/fl/tasks', { json: OPTIONS })).status, 401)
  const admin = await adminBrowser(h)
  await signUp(h, 'pat', 'patient')
  const patient = await signIn(h.url, 'pat')
  const denied = await call(h.url, '/api/fl/tasks', { json: OPTIONS, cookie: patient.cookie, csrf: patient.csrf })
  assert.is(denied.status, 403)
  assert.is(denied.body?.code, 'FORBIDDEN')

  const bad = await call(h.url, '/api/fl/tasks', { json: { ...OPTIONS, rounds: 0 }, cookie: admin.cookie, csrf: admin.csrf })
  assert.is(bad.status, 400)
  assert.is(bad.body?.code, 'INVALID')

  const loaded = nextEvent(peer.federation, 'model:loaded')
  const started = await call(h.url, '/api/fl/tasks', { json: OPTIONS, cookie: admin.cookie, csrf: admin.csrf })
  assert.is(started.status, 202)
  const id = String(started.body?.id)
  assert.match(id, /^detect-strange-[0-9a-f]{24}$/, 'name, coordinator fingerprint, nonce')
  assert.ok(isCoordinatorOf(id, peer.key), 'the task id names this peer as its coordinator')
  assert.is(started.headers.get('location'), `/api/fl/tasks/${id}`)
  const again = await call(h.url, '/api/fl/tasks', { json: OPTIONS, cookie: admin.cookie, csrf: admin.csrf })
  assert.is(again.status, 409)
  assert.is(again.body?.code, 'CONFLICT')

  await withTimeout(peer.federation.settled(id), 30_000, 'the task')
  const view = await call(h.url, `/api/fl/tasks/${id}`, { cookie: patient.cookie })
  assert.is(view.status, 200)
  const body = view.body as { status: string, rounds: Array<Record<string, unknown>>, published: { model: string } | null, baseline: { loss: number } }
  assert.is(body.status, 'done')
  assert.is(body.rounds.length, 2)
  for (const r of body.rounds) {
    const validation = r.validation as { loss: number, dice: number }
    assert.type(validation.loss, 'number')
    assert.type(validation.dice, 'number')
    assert.is((r.participants as unknown[]).length, 1)
    for (const k of ['startedAt', 'wallMs', 'collectMs', 'aggregateMs', 'validateMs', 'slowestTrainMs', 'overhead']) assert.type(r[k], 'number', k)
  }
  const list = await call(h.url, '/api/fl/tasks', { cookie: patient.cookie })
  assert.equal((list.body?.tasks as Array<{ id: string }>).map(t => t.id), [id])
  await loaded
  const status = await call(h.url, '/api/fl/status', { cookie: admin.cookie })
  assert.is((status.body?.model as { cid: string }).cid, body.published?.model)
  assert.is((status.body?.participation as unknown[]).length, 2)
})

test('unknown and malformed task ids, unknown query parameters, stopping', async () => {
  const { h } = await serve()
  const admin = await adminBrowser(h)
  assert.is((await call(h.url, '/api/fl/tasks/detect-strange-0000000000000000', { cookie: admin.cookie })).body?.code, 'NOT_FOUND')
  const malformed = await call(h.url, '/api/fl/tasks/Bad%20Id', { cookie: admin.cookie })
  assert.is(malformed.status, 400)
  assert.is((await call(h.url, '/api/fl/tasks?limit=5', { cookie: admin.cookie })).status, 400)
  const started = await call(h.url, '/api/fl/tasks', { json: { ...OPTIONS, rounds: 50, patience: 50 }, cookie: admin.cookie, csrf: admin.csrf })
  const id = String(started.body?.id)
  const stopped = await call(h.url, `/api/fl/tasks/${id}/stop`, { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
  assert.is(stopped.status, 202)
  const unknown = await call(h.url, '/api/fl/tasks/detect-strange-0000000000000000/stop', { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
  assert.is(unknown.status, 404)
})

test.run()
