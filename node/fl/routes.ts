// HTTP routes of federated learning (DESIGN §7 "fl"): an admin starts a task on this peer, which
// then coordinates it (`POST /api/fl/tasks`), stops it, or continues an interrupted or stopped one
// as a new task (`POST /api/fl/tasks/:id/continue`); any signed-in user of the peer lists tasks
// and reads one task's round history for the dashboard's loss chart (`GET /api/fl/tasks[/:id]`).
import { Router } from '@koa/router'
import type { Middleware } from 'koa'
import { InvalidRequestError } from '../../protocol/errors.ts'
import type { Role } from '../../protocol/tx.ts'
import { readJson } from '../auth/body.ts'
import { expectQueryKeys } from '../http/query.ts'
import { TASK_ID } from './constants.ts'
import type { Federation } from './index.ts'

/** What the routes use: the federation, and the auth guard of node/auth (`Auth.requireUser`). */
export interface FlRoutesComponents {
  federation: Pick<Federation, 'startTask' | 'stopTask' | 'continueTask' | 'task' | 'tasks' | 'participation' | 'currentModel'>
  requireUser: (...roles: Role[]) => Middleware
}

function taskId (v: string | undefined): string {
  if (v === undefined || !TASK_ID.test(v)) throw new InvalidRequestError('task id: expected lower-case letters, digits and dashes')
  return v
}

/**
 * Builds the router (prefix `/api`). `POST /fl/tasks` (admin) answers 202 with `{ id }`;
 * `POST /fl/tasks/:id/stop` (admin) stops it; `POST /fl/tasks/:id/continue` (admin) answers 202
 * with `{ id, continues }` (the new task and the one it continues); `GET /fl/tasks`,
 * `GET /fl/tasks/:id`, `GET /fl/status` need a session. Mount it after the auth middleware (session, CSRF).
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
      model: current === null ? null : { cid: current.cid.toString(), task: current.task, round: current.round, time: current.time, publisher: current.publisher },
      participation: federation.participation()
    }
  })

  return router
}
