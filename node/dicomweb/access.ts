// Who a DICOMweb request acts as: the web UI's session (cookie), or a viewer token (RFC 6750
// bearer) that a clinician issued. Either way only a clinician of this hospital whose account is
// still active, and a token only within its scope and study.
import type { Context, Middleware, Next } from 'koa'
import { currentUser } from '../auth/index.ts'
import type { Auth, SessionUser } from '../auth/index.ts'
import { ForbiddenError, UnauthenticatedError } from '../auth/errors.ts'
import { fromHex } from '../../protocol/bytes.ts'
import type { Reader } from '../records/access.ts'
import type { TokenScope, ViewerTokens } from './tokens.ts'

/** The caller of a DICOMweb request. */
export interface DicomwebCaller {
  user: SessionUser
  /** Set for a viewer token limited to one study (its Study Instance UID). */
  study: string | null
}

const callers = new WeakMap<Context, DicomwebCaller>()

/** The caller a guard resolved for this request. */
export function callerOf (ctx: Context): DicomwebCaller {
  const c = callers.get(ctx)
  if (c === undefined) throw new UnauthenticatedError()
  return c
}

/** A user as the access rules read them (keys as bytes). */
export function readerOfUser (user: SessionUser): Reader {
  return { role: user.role, signPub: fromHex(user.signPub), boxPub: fromHex(user.boxPub), hospital: fromHex(user.hospital) }
}

/** What the guard uses. */
export interface DicomwebAccessComponents {
  tokens: ViewerTokens
  auth: Pick<Auth, 'accounts'>
}

/**
 * Guard of the DICOMweb routes needing `scope`: 401 (with `WWW-Authenticate: Bearer`, RFC 6750
 * §3) without a session or a live token, 403 for another role, a token without the scope, or a
 * study outside the token's.
 */
export function requireDicomweb ({ tokens, auth }: DicomwebAccessComponents, scope: TokenScope): Middleware {
  return async (ctx: Context, next: Next) => {
    const header = ctx.get('authorization')
    let caller: DicomwebCaller
    try {
      if (/^bearer\s/i.test(header)) {
        const t = tokens.check(header.replace(/^bearer\s+/i, '').trim())
        if (!t.scope.includes(scope)) throw new ForbiddenError(`this viewer token does not allow ${scope === 'read' ? 'reading' : 'storing'}`)
        const account = await auth.accounts.get(t.user.username)
        if (account === undefined || account.status !== 'active') throw new UnauthenticatedError('the account of this viewer token is no longer active')
        caller = { user: t.user, study: t.study }
      } else {
        const user = currentUser(ctx)
        if (user === undefined) throw new UnauthenticatedError()
        caller = { user, study: null }
      }
    } catch (err) {
      if (err instanceof UnauthenticatedError || (err instanceof Error && err.name === 'BadTokenError')) ctx.set('WWW-Authenticate', 'Bearer realm="dicomweb"')
      throw err
    }
    if (caller.user.role !== 'clinician' || caller.user.remote !== undefined) throw new ForbiddenError('DICOMweb is for the clinicians of this hospital')
    const study = ctx.params?.study
    if (caller.study !== null && typeof study === 'string' && study !== caller.study) throw new ForbiddenError('this viewer token is for another study')
    callers.set(ctx, caller)
    await next()
  }
}
