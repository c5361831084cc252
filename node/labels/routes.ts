// Label routes (docs/design.md §7 resources): a clinician of the custodian hospital attaches, reads and
// removes the ground-truth lesion mask of an image; clinicians and admins see how much labelled
// data federated learning may use under the patients' training consents.
import { Router } from '@koa/router'
import type { Context } from 'koa'
import { fromHex, toHex } from '../../protocol/bytes.ts'
import { InvalidRequestError } from '../../protocol/errors.ts'
import type { Auth, SessionUser } from '../auth/index.ts'
import { currentUser } from '../auth/index.ts'
import { readBytes } from '../auth/http/body.ts'
import { expectQueryKeys, queryValue } from '../http/query.ts'
import { cidParam } from './service.ts'
import type { Labels } from './service.ts'
import type { LabelMeta, LabelUse } from './store.ts'

/** Largest mask accepted: a PNG of a binary mask compresses far below its image. */
export const MAX_MASK_BYTES = 32 * 1024 * 1024

/** HTTP statuses of the label errors. */
export const LABEL_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  LABEL_MISMATCH: 400,
  CORRUPT_LABEL: 500,
  UNSUPPORTED_MEDIA_TYPE: 415
}

/**
 * A label as the API shows it. The author is a clinician of this hospital (only the custodian
 * labels), named by the local account of that key; null once the account is gone.
 */
async function render (m: LabelMeta, auth: Auth): Promise<Record<string, unknown>> {
  const account = await auth.accounts.byKey(m.author)
  return {
    cid: m.cid, patientId: toHex(m.patient), record: m.record === null ? null : toHex(m.record), use: m.use,
    width: m.width, height: m.height, lesionPixels: m.lesionPixels, author: toHex(m.author), authorName: account?.username ?? null, time: m.time
  }
}

function useParam (ctx: Context): LabelUse | undefined {
  expectQueryKeys(ctx.query, ['use'])
  const use = queryValue(ctx.query, 'use')
  if (use === undefined) return undefined
  if (use !== 'train' && use !== 'validation') throw new InvalidRequestError('use: expected train or validation')
  return use
}

/** Builds the router of labels. */
export function labelRoutes (c: { auth: Auth, labels: Labels }): Router {
  const router = new Router()
  const clinician = c.auth.requireUser('clinician')

  router.put('/api/images/:cid/label', clinician, async (ctx) => {
    const cid = cidParam(ctx.params.cid)
    const use = useParam(ctx)
    const maskPng = await readBytes(ctx, MAX_MASK_BYTES, ['image/png'])
    const user = currentUser(ctx) as SessionUser
    ctx.body = await render(await c.labels.put({ cid, maskPng, use, author: fromHex(user.signPub) }), c.auth)
  })
  router.get('/api/images/:cid/label', clinician, async (ctx) => {
    ctx.body = await render(await c.labels.get(cidParam(ctx.params.cid)), c.auth)
  })
  router.delete('/api/images/:cid/label', clinician, async (ctx) => {
    await c.labels.delete(cidParam(ctx.params.cid))
    ctx.status = 204
  })
  router.get('/api/labels/summary', c.auth.requireUser('clinician', 'admin'), async (ctx) => {
    ctx.body = await c.labels.summary()
  })
  return router
}
