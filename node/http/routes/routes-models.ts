// `GET /api/models/default`: the model card of the detect-strange model that ships with the peer,
// so the viewer can say what a score means and which model gave it ("the default model, trained on
// synthetic phantoms, not for clinical use") instead of showing a bare CID.
import { Router } from '@koa/router'
import { NotFoundError } from '../../../protocol/errors.ts'
import { readDefaultModel, weightsCid } from '../../ai/detect/default-model.ts'
import type { Auth } from '../../auth/index.ts'
import { expectQueryKeys } from '../query.ts'

/** Builds the router for `/api/models/default`; any signed-in user may read it. */
export function modelRoutes (components: { auth: Pick<Auth, 'requireUser'> }): Router {
  const router = new Router({ prefix: '/api/models' })
  router.get('/default', components.auth.requireUser(), async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const shipped = await readDefaultModel()
    if (shipped === undefined) throw new NotFoundError('this peer ships no default model')
    const { card } = shipped
    ctx.body = { cid: (await weightsCid(shipped.weights)).toString(), name: card.name, intendedUse: card.intendedUse, heldOut: card.heldOut, score: card.score }
  })
  return router
}
