// The peer's DICOMweb service (PS3.18) under /dicomweb: STOW-RS, QIDO-RS and WADO-RS (instances,
// metadata, frames, rendered), and the viewer tokens of its clinicians
// under /api/dicomweb/tokens. Mounted after the session and CSRF middleware: a cookie-authenticated
// write still needs the session's CSRF token, a bearer-authenticated one does not need a cookie.
import { Router } from '@koa/router'
import type { Context } from 'koa'
import type { Logger } from 'pino'
import { MedichainError } from '../../protocol/errors.ts'
import type { Auth } from '../auth/index.ts'
import { currentUser } from '../auth/index.ts'
import { readJson } from '../auth/http/body.ts'
import type { SessionUser } from '../auth/index.ts'
import type { Dicom } from '../dicom/index.ts'
import { recordsByPatient } from '../dicom/catalogue/retrieve.ts'
import type { Ledger } from '../../ledger/types.ts'
import type { Reader } from '../records/access.ts'
import type { Reads } from '../records/reads.ts'
import { callerOf, readerOfUser, requireDicomweb } from './access.ts'
import { createInstanceView } from './instances.ts'
import type { InstanceView, VisibleInstance } from './instances.ts'
import { answerSearch } from './qido.ts'
import { answerFrames, answerInstances, answerMetadata, answerRendered, NotVisibleError } from './wado.ts'
import { DICOMWEB_BASE, TOKEN_MAX_TTL_MS } from './constants.ts'
import { stowHandler } from './stow.ts'
import type { TokenScope, ViewerTokens } from './tokens.ts'

/** Error codes of the DICOMweb routes and their HTTP statuses. */
export const DICOMWEB_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_ACCEPTABLE: 406,
  TOO_MANY_TOKENS: 409
}

/** What the routes use. */
export interface DicomwebRouteComponents {
  auth: Pick<Auth, 'requireUser' | 'accounts'>
  dicom: Pick<Dicom, 'storeNow' | 'catalogue' | 'caughtUp'>
  ledger: Ledger
  reads: Pick<Reads, 'mayRead' | 'plaintext' | 'logListed'>
  tokens: ViewerTokens
  tmpDir: string
  logger: Logger
  /** The caller-specific instance view; made here unless the peer shares one (node/viewer opens studies through it too). */
  view?: InstanceView
}

/** A Study Instance UID as a token scope (PS3.5 §9.1). */
const UID = /^[0-9]+(\.[0-9]+)*$/

function tokenRequest (body: unknown): { scope: TokenScope[], ttlMs?: number, study?: string } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { scope?: unknown, ttlMinutes?: unknown, study?: unknown }
  const scope = b.scope ?? ['read']
  if (!Array.isArray(scope) || scope.length === 0 || !scope.every(s => s === 'read' || s === 'write')) throw new MedichainError('INVALID', 'scope: a non-empty list of "read" and "write"')
  if (b.ttlMinutes !== undefined && (typeof b.ttlMinutes !== 'number' || !Number.isInteger(b.ttlMinutes))) throw new MedichainError('INVALID', `ttlMinutes: an integer from 1 to ${TOKEN_MAX_TTL_MS / 60_000}`)
  if (b.study !== undefined && (typeof b.study !== 'string' || b.study.length > 64 || !UID.test(b.study))) throw new MedichainError('INVALID', 'study: a Study Instance UID')
  return { scope: scope as TokenScope[], ...(b.ttlMinutes === undefined ? {} : { ttlMs: b.ttlMinutes * 60_000 }), ...(b.study === undefined ? {} : { study: b.study }) }
}

/** The DICOMweb router and the viewer token routes. */
export function dicomwebRoutes (c: DicomwebRouteComponents): Router {
  const router = new Router()
  const clinician = c.auth.requireUser('clinician')
  const me = (ctx: Context): SessionUser => currentUser(ctx) as SessionUser

  router.post('/api/dicomweb/tokens', clinician, async (ctx) => {
    const user = me(ctx)
    if (user.remote !== undefined) throw new MedichainError('FORBIDDEN', 'viewer tokens are for the clinicians of this hospital')
    const issued = c.tokens.issue(user, tokenRequest(await readJson(ctx)))
    c.logger.info({ scope: issued.scope, studyScoped: issued.study !== null }, 'viewer token issued')
    ctx.status = 201
    ctx.body = issued
  })
  router.get('/api/dicomweb/tokens', clinician, (ctx) => {
    ctx.body = { tokens: c.tokens.list(me(ctx).username) }
  })
  router.delete('/api/dicomweb/tokens/:id', clinician, (ctx) => {
    if (!c.tokens.revoke(me(ctx).username, ctx.params.id)) throw new MedichainError('NOT_FOUND', 'you hold no viewer token with this id')
    ctx.status = 204
  })

  const write = requireDicomweb({ tokens: c.tokens, auth: c.auth }, 'write')
  const stow = stowHandler({ dicom: c.dicom, tmpDir: c.tmpDir, logger: c.logger })
  router.post(`${DICOMWEB_BASE}/studies`, write, stow)
  router.post(`${DICOMWEB_BASE}/studies/:study`, write, stow)

  // QIDO-RS and WADO-RS over what the caller may see.
  const read = requireDicomweb({ tokens: c.tokens, auth: c.auth }, 'read')
  const view = c.view ?? createInstanceView({ catalogue: c.dicom.catalogue, ledger: c.ledger, reads: c.reads })
  const readerOf = (ctx: Context): Reader => readerOfUser(callerOf(ctx).user)
  const visibleNow = async (ctx: Context): ReturnType<typeof view.visible> => await view.visible(readerOf(ctx), callerOf(ctx).study)
  /** A search finds every instance acknowledged (from custody) before it: it waits for them first. */
  const searched = async (ctx: Context): ReturnType<typeof view.visible> => {
    await c.dicom.caughtUp()
    return await visibleNow(ctx)
  }
  /**
   * A retrieve answers from what is on the ledger now, so a viewer scrolling a study is never held
   * up by an ingest in progress; only when what it names is not found does it wait for the
   * instances acknowledged before it, and look once more.
   */
  const retrieved = (answer: (ctx: Context, visible: VisibleInstance[]) => Promise<void>) => async (ctx: Context): Promise<void> => {
    try {
      await answer(ctx, await visibleNow(ctx))
    } catch (err) {
      if (!(err instanceof NotVisibleError)) throw err
      await c.dicom.caughtUp()
      await answer(ctx, await visibleNow(ctx))
    }
  }
  const B = DICOMWEB_BASE
  for (const [path, level] of [
    [`${B}/studies`, 'STUDY'], [`${B}/series`, 'SERIES'], [`${B}/instances`, 'IMAGE'],
    [`${B}/studies/:study/series`, 'SERIES'], [`${B}/studies/:study/instances`, 'IMAGE'], [`${B}/studies/:study/series/:series/instances`, 'IMAGE']
  ] as const) {
    router.get(path, read, async (ctx) => {
      const shown = answerSearch(ctx, await searched(ctx), level)
      // Listed, not opened (issue 14): one access entry per patient the answer shows, durable before it goes out.
      await c.reads.logListed(readerOf(ctx), recordsByPatient(shown))
    })
  }
  const instance = `${B}/studies/:study/series/:series/instances/:instance`
  for (const path of [`${B}/studies/:study`, `${B}/studies/:study/series/:series`, instance]) {
    router.get(path, read, retrieved(async (ctx, v) => { await answerInstances(ctx, c.reads, readerOf(ctx), v) }))
    router.get(`${path}/metadata`, read, retrieved(async (ctx, v) => { await answerMetadata(ctx, c.reads, readerOf(ctx), v) }))
  }
  router.get(`${instance}/frames/:frames`, read, retrieved(async (ctx, v) => { await answerFrames(ctx, c.reads, readerOf(ctx), v) }))
  router.get(`${instance}/rendered`, read, retrieved(async (ctx, v) => { await answerRendered(ctx, c.reads, readerOf(ctx), v) }))
  return router
}
