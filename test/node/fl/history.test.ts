// The FL history survives a restart (issue 4): a peer's federation is stopped and a new one opened
// on the same data folder, and `GET /api/fl/tasks[/:id]` and `/api/fl/status` still show every
// task with its rounds and published model, and this hospital's participation. A task running when
// the peer stopped, or left running by a crash, comes back 'interrupted'; unreadable records are
// skipped with a code while the rest is served; the history is bounded; a store of another schema
// version is refused. An interrupted or stopped task is continued over HTTP as a new task from its
// last round, with the same learning-rate schedule, and every refusal to continue has its code.
import { Level } from 'level'
import { CID } from 'multiformats/cid'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { AnalyserSlot } from '../../../node/analysis/analyser.ts'
import { createAuth } from '../../../node/auth/index.ts'
import { createHttpServer } from '../../../node/http/server.ts'
import type { RoundConfig } from '../../../node/fl/transport/messages.ts'
import { createFederation, FL_STATUS_BY_CODE, storageModelStore } from '../../../node/fl/index.ts'
import type { Federation, FederationInit, RoundRecord, TaskView } from '../../../node/fl/index.ts'
import { roundConfig } from '../../../node/fl/task/schedule.ts'
import { parseTaskOptions } from '../../../node/fl/task/options.ts'
import { flRoutes } from '../../../node/fl/routes.ts'
import type { FlRoutesComponents } from '../../../node/fl/routes.ts'
import { TaskStore } from '../../../node/fl/task/store.ts'
import type { SkippedRecord } from '../../../node/fl/task/store.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { cleanup, tempDir, testConsortium } from '../../helpers/ledger/fixture.ts'
import { adminBrowser, call, signIn, signUp, testClock } from '../auth/fixture.ts'
import type { AuthHarness, Browser, Reply } from '../auth/fixture.ts'
import { consent, itemsFor, logger, nextEvent, phantoms, startFlPeer, stopAllFlPeers, TINY } from './fixture.ts'
import type { FlPeer } from './fixture.ts'

const { genesis } = testConsortium(1)
const OPTIONS = { task: 'detect-strange', model: TINY, epochs: 1, batchSize: 4, learningRate: 0.01, rounds: 2, minParticipants: 1, patience: 2, roundTimeoutMs: 20_000 }
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

/** A peer behind the FL routes; `live.federation` is whichever federation runs now (restarts swap it). */
interface Harness { url: string, peer: FlPeer, live: { federation: Federation }, admin: Browser, h: AuthHarness }

/** The routes' view of the federation, always the live one. */
function delegate (live: Harness['live']): FlRoutesComponents['federation'] {
  return {
    startTask: (o) => live.federation.startTask(o),
    stopTask: (id) => { live.federation.stopTask(id) },
    continueTask: (id) => live.federation.continueTask(id),
    task: (id) => live.federation.task(id),
    tasks: () => live.federation.tasks(),
    participation: () => live.federation.participation(),
    currentModel: () => live.federation.currentModel(),
    deployment: () => live.federation.deployment(),
    pinModel: async (cid) => await live.federation.pinModel(cid),
    unpinModel: async () => await live.federation.unpinModel(),
    rollbackModel: async () => await live.federation.rollbackModel()
  }
}

async function serve (init: FederationInit = {}): Promise<Harness> {
  const peer = await startFlPeer(1, genesis, { items: itemsFor(phantoms(100, 8), 100), validation: VALIDATION, init })
  await consent(peer, Array.from({ length: 8 }, (_, i) => ({ patient: 100 + i })))
  const clock = testClock()
  const data = await tempDir('medichain-fl-history-auth-')
  const auth = createAuth({ data, scryptN: 2 ** 14 })({ ledger: peer.ledger, logger, clock })
  const http = createHttpServer({ host: '127.0.0.1', port: 0, statusByCode: { ...auth.statusByCode, ...FL_STATUS_BY_CODE } })({ ledger: peer.ledger, logger, clock })
  auth.mount(http.app)
  const live = { federation: peer.federation }
  const router = flRoutes({ federation: delegate(live), requireUser: auth.requireUser })
  http.app.use(router.routes())
  http.app.use(router.allowedMethods({ throw: true }))
  await auth.start()
  await http.start()
  stops.push(async () => await auth.stop(), async () => await http.stop())
  const h = { url: http.url, auth, ledger: peer.ledger, clock, data, http }
  const admin = await adminBrowser(h)
  return { url: http.url, peer, live, admin, h }
}

/** Stops the live federation and opens a new one on the same data folder (a restarted peer). */
async function restart (x: Harness, init: FederationInit = {}, listen?: (f: Federation) => void): Promise<Federation> {
  await x.live.federation.stop()
  const { peer } = x
  const again = createFederation({ data: peer.dir, ...init })({
    ledger: peer.ledger, p2p: peer.p2p, storage: peer.storage, identity: peer.identity, analysers: new AnalyserSlot(), logger, clock: Date.now,
    trainingSet: async () => peer.data.items, validationSet: async () => VALIDATION
  })
  listen?.(again)
  stops.push(async () => await again.stop())
  await again.start()
  x.live.federation = again
  return again
}

async function get (x: Harness, path: string): Promise<{ status: number, body: Record<string, unknown> | null }> {
  return await call(x.url, path, { cookie: x.admin.cookie })
}

/** Starts a task over HTTP and waits for it to end. */
async function runTask (x: Harness, options: Record<string, unknown> = OPTIONS): Promise<string> {
  const started = await call(x.url, '/api/fl/tasks', { json: options, cookie: x.admin.cookie, csrf: x.admin.csrf })
  assert.is(started.status, 202)
  const id = String(started.body?.id)
  await withTimeout(x.live.federation.settled(id), 30_000, 'the task')
  return id
}

/** Every key of the stored history (the federation must be stopped: level locks its folder). */
async function storedKeys (dir: string): Promise<string[]> {
  const db = new Level<string, string>(join(dir, 'fl'))
  try {
    return await db.keys().all()
  } finally {
    await db.close()
  }
}

test('a finished task, its rounds, published model and this hospital\'s participation survive a restart', async () => {
  const x = await serve()
  const id = await runTask(x)
  const before = await get(x, `/api/fl/tasks/${id}`)
  const list = await get(x, '/api/fl/tasks')
  const status = await get(x, '/api/fl/status')
  assert.is(before.body?.status, 'done')
  assert.is((before.body?.rounds as unknown[]).length, 2)
  assert.type((before.body?.published as { model: string }).model, 'string')
  assert.is((status.body?.participation as unknown[]).length, 2)

  await restart(x)
  const after = await get(x, `/api/fl/tasks/${id}`)
  assert.is(after.status, 200)
  assert.equal(after.body, before.body, 'the same view, round by round: loss, Dice, participants, timings, model link')
  assert.equal((await get(x, '/api/fl/tasks')).body, list.body)
  assert.equal((await get(x, '/api/fl/status')).body?.participation, status.body?.participation)
})

test('a task running when the peer stops comes back interrupted, and so does one a crash left running', async () => {
  const x = await serve()
  const id = await startUntilRound(x, { ...OPTIONS, rounds: 50, patience: 50 }, 1)
  await restart(x)
  const view = (await get(x, `/api/fl/tasks/${id}`)).body
  assert.is(view?.status, 'interrupted')
  assert.is(view?.stopReason, 'interrupted')
  assert.is((view?.error as { code: string }).code, 'INTERRUPTED')
  const listed = ((await get(x, '/api/fl/tasks')).body?.tasks as Array<{ id: string, error: { code: string } | null }>).find(t => t.id === id)
  assert.is(listed?.error?.code, 'INTERRUPTED', 'the task list says why it ended')
  assert.ok((view?.rounds as unknown[]).length >= 1)
  assert.ok(Number(view?.endedAt) >= Number(view?.startedAt))
  assert.is(view?.published, null)
  // The peer still coordinates: a new task runs to the end.
  const next = await runTask(x, { ...OPTIONS, rounds: 1, patience: 1 })
  assert.is((await get(x, `/api/fl/tasks/${next}`)).body?.status, 'done')

  // A crash: the store still says 'running' (written here as the coordinator wrote it mid-task).
  const done = x.live.federation.task(next)
  await x.live.federation.stop()
  const crashed: TaskView = { ...structuredClone(done), id: 'detect-strange-00000000000000aa', status: 'running', endedAt: null, stopReason: null, published: null }
  const store = new TaskStore(join(x.peer.dir, 'fl'))
  await store.open()
  await store.taskWrite(crashed)()
  for (const r of crashed.rounds) await store.roundWrite(crashed, r)()
  await store.close()
  await restart(x)
  const back = (await get(x, `/api/fl/tasks/${crashed.id}`)).body
  assert.is(back?.status, 'interrupted')
  assert.is((back?.error as { code: string }).code, 'INTERRUPTED')
  const last = crashed.rounds[crashed.rounds.length - 1]
  assert.is(back?.endedAt, last.startedAt + Math.round(last.wallMs), 'ended when it was last seen alive: the end of its last round')
  // Written back: a second restart reads 'interrupted' from the store itself.
  await restart(x)
  assert.is((await get(x, `/api/fl/tasks/${crashed.id}`)).body?.status, 'interrupted')
})

test('unreadable records are skipped with a code; the rest is served and the peer keeps working', async () => {
  const x = await serve()
  const id = await runTask(x, { ...OPTIONS, rounds: 1, patience: 1 })
  const good = x.live.federation.task(id)
  const participation = x.live.federation.participation()
  await x.live.federation.stop()
  const db = new Level<string, string>(join(x.peer.dir, 'fl'))
  const header = JSON.parse(await db.get(`t:${id}`) ?? 'null') as Record<string, unknown>
  await db.batch([
    { type: 'put', key: 't:detect-strange-00000000000000bb', value: 'not json {' },
    { type: 'put', key: 't:detect-strange-00000000000000cc', value: JSON.stringify({ ...header, id: 'detect-strange-00000000000000cc', status: 'exploded' }) },
    { type: 'put', key: 't:detect-strange-00000000000000dd', value: JSON.stringify(header) },
    { type: 'put', key: `r:${id}:000002`, value: JSON.stringify({ round: 2 }) },
    { type: 'put', key: 'r:detect-strange-00000000000000ee:000001', value: '{}' },
    { type: 'put', key: 'p:000000000099', value: '\u0000\u0001garbage' }
  ])
  await db.close()

  const skipped: SkippedRecord[] = []
  await restart(x, {}, f => f.addEventListener('history:skipped', (e) => { skipped.push((e as CustomEvent<SkippedRecord>).detail) }))
  assert.equal(skipped.map(s => `${s.key} ${s.code}`).sort(), [
    `r:${id}:000002 CORRUPT_HISTORY`,
    'p:000000000099 CORRUPT_HISTORY',
    'r:detect-strange-00000000000000ee:000001 ORPHAN_ROUND',
    't:detect-strange-00000000000000bb CORRUPT_HISTORY',
    't:detect-strange-00000000000000cc CORRUPT_HISTORY',
    't:detect-strange-00000000000000dd CORRUPT_HISTORY'
  ].sort())
  const list = await get(x, '/api/fl/tasks')
  assert.is(list.status, 200)
  assert.equal((list.body?.tasks as Array<{ id: string }>).map(t => t.id), [id])
  const view = await get(x, `/api/fl/tasks/${id}`)
  assert.equal(view.body, JSON.parse(JSON.stringify(good)), 'the good task, without the unreadable round')
  const bad = await get(x, '/api/fl/tasks/detect-strange-00000000000000bb')
  assert.is(bad.status, 404)
  assert.is(bad.body?.code, 'NOT_FOUND')
  assert.equal((await get(x, '/api/fl/status')).body?.participation, JSON.parse(JSON.stringify(participation)))
  const next = await runTask(x, { ...OPTIONS, rounds: 1, patience: 1 })
  assert.is((await get(x, `/api/fl/tasks/${next}`)).body?.status, 'done')
})

test('history is bounded: the oldest tasks beyond keepTasks are dropped, rounds and all, from memory and disk', async () => {
  const x = await serve({ keepTasks: 2 })
  const one = { ...OPTIONS, rounds: 1, patience: 1 }
  const ids = [await runTask(x, one), await runTask(x, one), await runTask(x, one)]
  assert.equal(((await get(x, '/api/fl/tasks')).body?.tasks as Array<{ id: string }>).map(t => t.id), ids.slice(1))
  await restart(x, { keepTasks: 1 })
  assert.equal(((await get(x, '/api/fl/tasks')).body?.tasks as Array<{ id: string }>).map(t => t.id), ids.slice(2))
  await x.live.federation.stop()
  const keys = await storedKeys(x.peer.dir)
  for (const gone of ids.slice(0, 2)) assert.not.ok(keys.some(k => k.includes(gone)), `nothing of ${gone} is left on disk`)
  assert.ok(keys.includes(`t:${ids[2]}`) && keys.includes(`r:${ids[2]}:000001`))
})

test('a store of another schema version is refused at start; bad bounds are refused at creation', async () => {
  const x = await serve()
  await x.live.federation.stop()
  const db = new Level<string, string>(join(x.peer.dir, 'fl'))
  await db.put('meta:schema', '99')
  await db.close()
  await rejects(async () => await restart(x), 'SCHEMA_VERSION')
  const components = {
    ledger: x.peer.ledger, p2p: x.peer.p2p, storage: x.peer.storage, identity: x.peer.identity, analysers: new AnalyserSlot(), logger, clock: Date.now,
    trainingSet: async () => [], validationSet: async () => []
  }
  for (const keepTasks of [0, 1.5, -1, 1e9]) throwsCode(() => createFederation({ keepTasks })(components), 'INVALID')
  throwsCode(() => createFederation({ keepParticipation: 0 })(components), 'INVALID')
})

/** `POST /api/fl/tasks/:id/continue` as `who` (the admin unless told). */
async function continueTask (x: Harness, id: string, who: Partial<Browser> = x.admin): Promise<Reply> {
  return await call(x.url, `/api/fl/tasks/${id}/continue`, { method: 'POST', cookie: who.cookie, csrf: who.csrf })
}

/** Starts a task over HTTP as the admin and returns its id once its round `round` has ended. */
async function startUntilRound (x: Harness, options: Record<string, unknown>, round: number): Promise<string> {
  const ended = nextEvent<RoundRecord>(x.live.federation, 'round:ended', r => r.round === round)
  const started = await call(x.url, '/api/fl/tasks', { json: options, cookie: x.admin.cookie, csrf: x.admin.csrf })
  const id = String(started.body?.id)
  await ended
  return id
}

/** The round numbers from..to. */
function span (from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

test('an interrupted task is continued over HTTP from its last round: numbering, model and schedule carry on', async () => {
  const x = await serve()
  const options = { ...OPTIONS, rounds: 4, patience: 4 }
  const oldId = await startUntilRound(x, options, 2)
  await restart(x)
  const old = x.live.federation.task(oldId)
  assert.is(old.status, 'interrupted')
  const last = old.rounds[old.rounds.length - 1]
  assert.ok(last.round >= 2 && last.round < 4, `interrupted in round ${last.round}`)
  // The model that round started from is stored on this peer: the continuation starts from it.
  assert.ok((await storageModelStore(x.peer.storage).get(CID.parse(last.model))).length > 0)

  const firstStart = nextEvent<{ task: string, round: number, config: RoundConfig }>(x.live.federation, 'round:started')
  const continued = await continueTask(x, oldId)
  assert.is(continued.status, 202)
  const id = String(continued.body?.id)
  assert.is(continued.body?.continues, oldId)
  assert.is.not(id, oldId)
  assert.is(continued.headers.get('location'), `/api/fl/tasks/${id}`)
  // While it runs: continuing again conflicts, and the running task is not continuable.
  const again = await continueTask(x, oldId)
  assert.equal([again.status, again.body?.code], [409, 'CONFLICT'])
  const running = await continueTask(x, id)
  assert.equal([running.status, running.body?.code], [409, 'TASK_NOT_CONTINUABLE'])

  const first = await firstStart
  assert.equal([first.task, first.round], [id, last.round])
  const parsed = parseTaskOptions(options)
  assert.equal(first.config, roundConfig(parsed, last.round), 'the old task\'s cosine schedule at that round')
  assert.is.not(first.config.learningRate, roundConfig(parsed, 1).learningRate)

  const done = await withTimeout(x.live.federation.settled(id), 30_000, 'the continuation')
  assert.is(done.status, 'done')
  assert.is(done.continues, oldId)
  assert.equal(done.rounds.map(r => r.round), span(last.round, 4))
  assert.equal([done.options.firstRound, done.options.initialModel, done.options.rounds], [last.round, last.model, 4])
  assert.is(done.rounds[0].model, last.model, 'its first round sends the stored model')
  assert.ok(done.published !== null && done.published.round >= last.round, 'published under the absolute round number')
  const listed = (await get(x, '/api/fl/tasks')).body?.tasks as Array<{ id: string, continues: string | null }>
  assert.equal(listed.map(t => [t.id, t.continues]), [[oldId, null], [id, oldId]])
  // This hospital trained the continued rounds under their own numbers.
  const participation = (await get(x, '/api/fl/status')).body?.participation as Array<{ task: string, round: number, status: string }>
  assert.equal(participation.filter(p => p.task === id).map(p => [p.round, p.status]), span(last.round, 4).map(r => [r, 'sent']))
  const finished = await continueTask(x, id)
  assert.equal([finished.status, finished.body?.code], [409, 'TASK_NOT_CONTINUABLE'])
  // Kept across a restart.
  await restart(x)
  assert.is((await get(x, `/api/fl/tasks/${id}`)).body?.continues, oldId)
})

test('a stopped task is continued; unknown, malformed, unauthorised, roundless and foreign tasks are refused', async () => {
  const x = await serve()
  const options = { ...OPTIONS, rounds: 3, patience: 3 }
  const oldId = await startUntilRound(x, options, 1)
  assert.is((await call(x.url, `/api/fl/tasks/${oldId}/stop`, { method: 'POST', cookie: x.admin.cookie, csrf: x.admin.csrf })).status, 202)
  const stopped = await withTimeout(x.live.federation.settled(oldId), 30_000, 'the stop')
  assert.is(stopped.status, 'stopped')
  const from = stopped.rounds[stopped.rounds.length - 1].round

  assert.is((await continueTask(x, oldId, {})).status, 401)
  await signUp(x.h, 'pat', 'patient')
  const patient = await signIn(x.url, 'pat')
  assert.equal(await continueTask(x, oldId, patient).then(r => [r.status, r.body?.code]), [403, 'FORBIDDEN'])
  assert.equal(await continueTask(x, oldId, { cookie: x.admin.cookie }).then(r => [r.status, r.body?.code]), [403, 'CSRF'], 'no CSRF token')
  assert.equal(await continueTask(x, 'detect-strange-0000000000000000').then(r => [r.status, r.body?.code]), [404, 'NOT_FOUND'])
  assert.equal(await continueTask(x, 'Bad%20Id').then(r => [r.status, r.body?.code]), [400, 'INVALID'])
  assert.is(x.live.federation.tasks().length, 1, 'no refusal started a task')

  const id = String((await continueTask(x, oldId)).body?.id)
  const done = await withTimeout(x.live.federation.settled(id), 30_000, 'the continuation')
  assert.is(done.status, 'done')
  assert.equal(done.rounds.map(r => r.round), span(from, 3))

  // Records a crash or an older peer can leave: a task with no round, one coordinated by another
  // peer, both stored before `continues` and `firstRound` existed.
  await x.live.federation.stop()
  const db = new Level<string, string>(join(x.peer.dir, 'fl'))
  const { continues: _continues, options: stored, ...header } = JSON.parse(await db.get(`t:${id}`) ?? 'null') as Record<string, unknown>
  const { firstRound: _firstRound, ...olderOptions } = stored as Record<string, unknown>
  const roundKey = (task: string): string => `r:${task}:${String(from).padStart(6, '0')}`
  const older = { ...header, options: olderOptions, status: 'interrupted', stopReason: 'interrupted', published: null }
  const [noRounds, foreign] = ['detect-strange-00000000000000a1', 'detect-strange-00000000000000a2']
  await db.batch([
    { type: 'put', key: `t:${noRounds}`, value: JSON.stringify({ ...older, id: noRounds }) },
    { type: 'put', key: `t:${foreign}`, value: JSON.stringify({ ...older, id: foreign, coordinator: 'cd'.repeat(32) }) },
    { type: 'put', key: roundKey(foreign), value: await db.get(roundKey(id)) ?? '' }
  ])
  await db.close()
  await restart(x)
  const loaded = (await get(x, `/api/fl/tasks/${foreign}`)).body
  assert.equal([loaded?.continues, (loaded?.options as { firstRound: number }).firstRound, (loaded?.rounds as unknown[]).length], [null, 1, 1])
  for (const bad of [noRounds, foreign]) {
    assert.equal(await continueTask(x, bad).then(r => [r.status, r.body?.code]), [409, 'TASK_NOT_CONTINUABLE'], bad)
  }
})

test.run()
