// The ledger as a non-admin sees it: one transaction with its inclusion proof, only when it concerns
// the signed-in user. The explorer routes (/api/ledger/*) are for admins; the consent and access
// graph (who consented to whom, who read which image) is nobody else's business.
import { Router } from '@koa/router'
import type { Middleware } from 'koa'
import { equals, fromHex, toHex } from '../../../protocol/bytes.ts'
import { HASH_BYTES } from '../../../protocol/constants.ts'
import { NotFoundError } from '../../../protocol/errors.ts'
import { decodeTx } from '../../../protocol/chain/tx.ts'
import type { Tx } from '../../../protocol/chain/tx.ts'
import { patientOf } from '../../../ledger/state/state.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { currentUser } from '../../auth/index.ts'
import { purposeOfRole } from '../../records/access.ts'
import type { SessionUser } from '../../auth/index.ts'
import { expectQueryKeys, parseHexParam } from '../query.ts'
import { renderTx } from '../render.ts'

/** Who is asking, as the scope rule needs it (keys as bytes). */
export interface Viewer { role: SessionUser['role'], signPub: Uint8Array, hospital: Uint8Array, patientId: Uint8Array | null }

/**
 * Whether transaction `tx` concerns `viewer`. A patient: every transaction about their patient id
 * (registration, records, images, their consents, reads of their images). A clinician or
 * researcher: their own registration, consents naming them, or their hospital for the purpose their
 * role reads under (what they are authorised by), and the reads they made. An admin: everything (they hold the explorer).
 */
export function concerns (tx: Tx, viewer: Viewer): boolean {
  if (viewer.role === 'admin') return true
  if (viewer.role === 'patient') {
    const patient = patientOf({ tx, bytes: new Uint8Array(0), id: new Uint8Array(0) })
    return patient !== null && viewer.patientId !== null && equals(patient, viewer.patientId)
  }
  switch (tx.type) {
    case 'account.register': return equals(tx.body.user, viewer.signPub)
    case 'consent.grant':
    case 'consent.revoke': {
      if (equals(tx.body.grantee, viewer.signPub)) return true
      // A consent to the hospital authorises its staff only for the purpose their role reads under.
      const purpose = tx.body.purpose
      return equals(tx.body.grantee, viewer.hospital) && (purpose === undefined || purpose === purposeOfRole(viewer.role))
    }
    case 'access.log': return equals(tx.body.accessor, viewer.signPub)
    default: return false
  }
}

/** The session's user as a Viewer. */
function viewerOf (user: SessionUser): Viewer {
  return {
    role: user.role,
    signPub: fromHex(user.signPub),
    hospital: fromHex(user.hospital),
    patientId: user.patientId === undefined ? null : fromHex(user.patientId)
  }
}

/**
 * `GET /api/me/tx/:id`: the transaction with its inclusion proof (the shape of
 * `/api/ledger/tx/:id`) when it concerns the signed-in user, else 404 NOT_FOUND, the same answer
 * as for an id the ledger does not hold, so the route tells nobody what exists beyond their scope.
 */
export function scopedRoutes (c: { ledger: Ledger, requireUser: Middleware }): Router {
  const router = new Router({ prefix: '/api/me' })
  router.get('/tx/:id', c.requireUser, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const id = parseHexParam(ctx.params.id, 'id', HASH_BYTES)
    const user = currentUser(ctx) as SessionUser
    const found = await c.ledger.tx(id)
    const decoded = found === undefined ? undefined : decodeTx(found.proof.tx)
    if (found === undefined || decoded === undefined || !concerns(decoded.tx, viewerOf(user))) {
      throw new NotFoundError(`no transaction ${toHex(id).slice(0, 12)}… that concerns you on this ledger`)
    }
    ctx.body = renderTx(decoded, found.location, found.proof)
  })
  return router
}
