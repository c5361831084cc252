// HTTP routes of federated learning (docs/design.md §7 "fl"): an admin starts a task on this peer, which
// then coordinates it (`POST /api/fl/tasks`), stops it, or continues an interrupted or stopped one
// as a new task (`POST /api/fl/tasks/:id/continue`); any signed-in user of the peer lists tasks
// and reads one task's round history for the dashboard's loss chart (`GET /api/fl/tasks[/:id]`).
// An admin sees which published models this hospital deployed or holds back and why, and pins a
// model, lifts the pin or rolls back (`/api/fl/deployment`).
import { Router } from '@koa/router'
import { CID } from 'multiformats/cid'
import type { Middleware } from 'koa'
import { InvalidRequestError } from '../../protocol/errors.ts'
import type { Role } from '../../protocol/chain/tx.ts'
import { readJson } from '../auth/http/body.ts'
import { expectQueryKeys } from '../http/query.ts'
import { TASK_ID } from './constants.ts'
import type { Federation } from './federation.ts'

/** What the routes use: the federation, and the auth guard of node/auth (`Auth.requireUser`). */
export interface FlRoutesComponents {
  federation: Pick<Federation, 'startTask' | 'stopTask' | 'continueTask' | 'task' | 'tasks' | 'participation' | 'currentModel' |
  'deployment' | 'pinModel' | 'unpinModel' | 'rollbackModel'>
  requireUser: (...roles: Role[]) => Middleware
}

function taskId (v: string | undefined): string {
  if (v === undefined || !TASK_ID.test(v)) throw new InvalidRequestError('task id: expected lower-case letters, digits and dashes')
  return v
}

/** The `model` of a pin request: a CID string, returned in canonical form. */
async function modelParam (ctx: Parameters<Middleware>[0]): Promise<string> {
  const body = await readJson(ctx)
  const model = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).model : undefined
  const keys = typeof body === 'object' && body !== null ? Object.keys(body) : []
  if (typeof model !== 'string' || keys.length !== 1) throw new InvalidRequestError('expected {"model": "<CID>"}')
  try {
    return CID.parse(model).toString()
  } catch {
    throw new InvalidRequestError('model: expected a CID string')
  }
}

/**
 * Builds the router (prefix `/api`). `POST /fl/tasks` (admin) answers 202 with `{ id }`;
 * `POST /fl/tasks/:id/stop` (admin) stops it; `POST /fl/tasks/:id/continue` (admin) answers 202
 * with `{ id, continues }` (the new task and the one it continues); `GET /fl/tasks`,
 * `GET /fl/tasks/:id`, `GET /fl/status` need a session. `GET /fl/deployment` (admin) lists the
 * publications with their state; `POST /fl/deployment/pin` (admin, `{ model }`), `/unpin` and
 * `/rollback` answer 200 with the new deployment once it is stored. Mount it after the auth
 * middleware (session, CSRF).
 */
export function flRoutes (components: FlRoutesComponents): Router {
  const { federation, requireUser } = components
  const router = new Router({ prefix: '/api' })

  router.post('/fl/tasks', requireUser('admin'), async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const id = federation.startTask(await readJson(ctx))
    ctx.status = 202
    ctx.set('Location', `/api/fl/tasks/${id}`)
    ctx.body = { id }
  })

  router.post('/fl/tasks/:id/stop', requireUser('admin'), (ctx) => {
    expectQueryKeys(ctx.query, [])
    federation.stopTask(taskId(ctx.params.id))
    ctx.status = 202
    ctx.body = { id: ctx.params.id }
  })

  router.post('/fl/tasks/:id/continue', requireUser('admin'), (ctx) => {
    expectQueryKeys(ctx.query, [])
    const continues = taskId(ctx.params.id)
    const id = federation.continueTask(continues)
    ctx.status = 202
    ctx.set('Location', `/api/fl/tasks/${id}`)
    ctx.body = { id, continues }
  })

  router.get('/fl/tasks', requireUser(), (ctx) => {
    expectQueryKeys(ctx.query, [])
    ctx.body = { tasks: federation.tasks() }
  })

  router.get('/fl/tasks/:id', requireUser(), (ctx) => {
    expectQueryKeys(ctx.query, [])
    ctx.body = federation.task(taskId(ctx.params.id))
  })

  router.get('/fl/status', requireUser(), (ctx) => {
    expectQueryKeys(ctx.query, [])
    const current = federation.currentModel()
    ctx.body = {
      model: current === null ? null : { cid: current.cid.toString(), task: current.task, round: current.round, time: current.time, publisher: current.publisher, position: current.position },
      participation: federation.participation()
    }
  })

  router.get('/fl/deployment', requireUser('admin'), (ctx) => {
    expectQueryKeys(ctx.query, [])
    ctx.body = federation.deployment()
  })

  router.post('/fl/deployment/pin', requireUser('admin'), async (ctx) => {
    expectQueryKeys(ctx.query, [])
    ctx.body = await federation.pinModel(await modelParam(ctx))
  })

  router.post('/fl/deployment/unpin', requireUser('admin'), async (ctx) => {
    expectQueryKeys(ctx.query, [])
    ctx.body = await federation.unpinModel()
  })

  router.post('/fl/deployment/rollback', requireUser('admin'), async (ctx) => {
    expectQueryKeys(ctx.query, [])
    ctx.body = await federation.rollbackModel()
  })

  return router
}
