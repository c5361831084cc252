// Emergency access across hospitals over HTTP (issue 16.4): the admin gives or takes back a
// clinician's emergency role (on the ledger, where other hospitals check it), reviews after the
// fact every emergency release of this hospital's images with the reason the clinician gave, and
// records a verdict on the ledger; a patient sees every emergency release of their images at once.
import { readFile } from 'node:fs/promises'
import { Router } from '@koa/router'
import { equals, fromHex, toHex } from '../../../protocol/bytes.ts'
import { ED25519_PUBLIC_KEY_BYTES, HASH_BYTES } from '../../../protocol/constants.ts'
import { InvalidRequestError, NotFoundError } from '../../../protocol/errors.ts'
import type { EmergencyAccess } from '../../../ledger/rules/emergency.ts'
import type { Clock, Ledger } from '../../../ledger/types.ts'
import type { Auth } from '../../auth/index.ts'
import { currentUser } from '../../auth/index.ts'
import { readJson } from '../../auth/http/body.ts'
import { expectQueryKeys, parseHexParam } from '../query.ts'

/** Reasons kept in this hospital's break-glass file, by release id (hex). */
async function reasons (file: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const text = await readFile(file, 'utf8').catch(() => '')
  for (const line of text.split('\n')) {
    if (line === '') continue
    try {
      const entry = JSON.parse(line) as { access?: unknown, reason?: unknown }
      if (typeof entry.access === 'string' && typeof entry.reason === 'string') out.set(entry.access, entry.reason)
    } catch {
      // A torn last line after a crash: the others still count.
    }
  }
  return out
}

/** Builds the router of `/api/emergency*` and `/api/me/emergencies`. */
export function emergencyRoutes (c: { ledger: Ledger, auth: Auth, clock: Clock, breakGlassLog: string }): Router {
  const { ledger } = c
  const router = new Router()
  const admin = c.auth.requireUser('admin')
  const patient = c.auth.requireUser('patient')

  const view = (e: EmergencyAccess, names: Map<string, string>, reason?: string): object => ({
    id: toHex(e.tx),
    time: e.time,
    until: e.until,
    live: e.until > c.clock(),
    patient: toHex(e.patient),
    clinician: { key: toHex(e.accessor), name: names.get(toHex(e.accessor)) ?? null },
    hospital: { key: toHex(e.hospital), name: names.get(toHex(e.hospital)) ?? null },
    custodian: { key: toHex(e.custodian), name: names.get(toHex(e.custodian)) ?? null },
    review: e.review === null ? null : { verdict: e.review.verdict, time: e.review.time },
    ...(reason === undefined ? {} : { reason })
  })
  const names = async (): Promise<Map<string, string>> => new Map((await ledger.queries.directory()).map(d => [toHex(d.subject), d.name]))

  // B's admin gives a clinician the emergency role, or takes it back.
  router.put('/api/emergency-roles/:subject', admin, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const subject = parseHexParam(ctx.params.subject, 'subject', ED25519_PUBLIC_KEY_BYTES)
    const body = await readJson(ctx) as { role?: unknown }
    if (body?.role !== 'allow' && body?.role !== 'deny') throw new InvalidRequestError('role: expected "allow" or "deny"')
    const loc = await ledger.submitOwn('emergency.role', { subject, role: body.role })
    ctx.body = { id: toHex(loc.txId) }
  })

  // A's review page: every emergency release of this hospital's images, with the reason given.
  router.get('/api/emergencies', admin, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const [all, n, why] = await Promise.all([ledger.queries.emergencies.all(), names(), reasons(c.breakGlassLog)])
    ctx.body = { emergencies: all.filter(e => equals(e.custodian, ledger.self)).reverse().map(e => view(e, n, why.get(toHex(e.tx)))) }
  })

  router.post('/api/emergencies/:id/review', admin, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const id = parseHexParam(ctx.params.id, 'id', HASH_BYTES)
    const body = await readJson(ctx) as { verdict?: unknown }
    if (body?.verdict !== 'justified' && body?.verdict !== 'unjustified') throw new InvalidRequestError('verdict: expected "justified" or "unjustified"')
    const release = (await ledger.queries.emergencies.all()).find(e => equals(e.tx, id) && equals(e.custodian, ledger.self))
    if (release === undefined) throw new NotFoundError('this hospital recorded no emergency release with this id')
    const loc = await ledger.submitOwn('emergency.review', { access: id, patient: release.patient, verdict: body.verdict })
    ctx.status = 201
    ctx.body = { id: toHex(loc.txId) }
  })

  // The patient sees every emergency release of their images as soon as it is on the ledger.
  router.get('/api/me/emergencies', patient, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const me = fromHex(currentUser(ctx)?.patientId ?? '')
    const ids = [me, ...await ledger.queries.rekeys.predecessorsOf(me, c.clock())]
    const n = await names()
    const all = (await Promise.all(ids.map(async p => await ledger.queries.emergencies.of(p)))).flat().sort((a, b) => b.time - a.time)
    ctx.body = { emergencies: all.map(e => view(e, n)) }
  })

  return router
}
