// Assisted recovery over HTTP (issue 16.3): an admin lists the requests concerning patients whose
// images this hospital holds (or that it started), co-signs one after checking the patient's
// identity, or vetoes one; a patient's old devices list the requests naming their id and veto
// with their own key. The new key's account is made by POST /api/accounts/recovered (node/auth).
import { Router } from '@koa/router'
import type { Context } from 'koa'
import { equals, fromHex, toHex } from '../../../protocol/bytes.ts'
import { HASH_BYTES } from '../../../protocol/constants.ts'
import { InvalidRequestError, MedichainError, NotFoundError } from '../../../protocol/errors.ts'
import { txFromBase64 } from '../../../protocol/chain/tx-transport.ts'
import type { RekeyView } from '../../../ledger/rules/patient-rekey.ts'
import type { Clock, Ledger } from '../../../ledger/types.ts'
import type { Auth } from '../../auth/index.ts'
import { currentUser } from '../../auth/index.ts'
import { readJson } from '../../auth/http/body.ts'
import { expectQueryKeys, parseHexParam } from '../query.ts'

/** A request as JSON: keys and ids in hex, each hospital with its directory name. */
function rekeyJson (r: RekeyView, names: Map<string, string>): object {
  const named = (k: Uint8Array): { key: string, name: string | null } => ({ key: toHex(k), name: names.get(toHex(k)) ?? null })
  return {
    id: toHex(r.tx),
    old: toHex(r.old),
    patientId: toHex(r.patient),
    key: toHex(r.key),
    hospital: named(r.hospital),
    time: r.time,
    status: r.status,
    effectiveAt: r.effectiveAt,
    neededCustodians: r.neededCustodians,
    custodians: r.custodians.map(named),
    cosigners: r.cosigners.map(c => ({ ...named(c.hospital), time: c.time })),
    vetoes: r.vetoes.map(v => ({ by: toHex(v.by), kind: v.kind, time: v.time }))
  }
}

/** Builds the router of `/api/rekeys*` and `/api/me/rekeys*`. */
export function rekeyRoutes (c: { ledger: Ledger, auth: Auth, clock: Clock }): Router {
  const { ledger } = c
  const router = new Router()
  const admin = c.auth.requireUser('admin')
  const patient = c.auth.requireUser('patient')

  async function names (): Promise<Map<string, string>> {
    return new Map((await ledger.queries.directory()).map(e => [toHex(e.subject), e.name]))
  }

  async function request (ctx: Context): Promise<RekeyView> {
    const view = await ledger.queries.rekeys.view(parseHexParam(ctx.params.id, 'id', HASH_BYTES), c.clock())
    if (view === undefined) throw new NotFoundError('no assisted-recovery request has this id')
    return view
  }

  const concernsUs = (r: RekeyView): boolean => equals(r.hospital, ledger.self) || r.custodians.some(k => equals(k, ledger.self))

  router.get('/api/rekeys', admin, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const n = await names()
    ctx.body = { self: toHex(ledger.self), rekeys: (await ledger.queries.rekeys.all(c.clock())).filter(concernsUs).map(r => rekeyJson(r, n)) }
  })

  // Co-signing says: this hospital checked the person in front of it is the patient it holds images of.
  router.post('/api/rekeys/:id/cosign', admin, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const r = await request(ctx)
    if (r.status === 'vetoed' || r.status === 'effective') throw new MedichainError('REKEY_CLOSED', `this request is ${r.status}`)
    const loc = await ledger.submitOwn('patient.cosign', { rekey: r.tx, patient: r.old })
    ctx.status = 201
    ctx.body = { id: toHex(loc.txId) }
  })

  router.post('/api/rekeys/:id/veto', admin, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const r = await request(ctx)
    if (r.status === 'effective') throw new MedichainError('REKEY_CLOSED', 'this request is in effect: a veto now changes nothing')
    const loc = await ledger.submitOwn('patient.veto', { rekey: r.tx, patient: r.old })
    ctx.status = 201
    ctx.body = { id: toHex(loc.txId) }
  })

  // The old devices of a patient see every request to move their id to another key, at once.
  router.get('/api/me/rekeys', patient, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const user = currentUser(ctx)
    if (user?.patientId === undefined) throw new NotFoundError('no patient id')
    const me = fromHex(user.patientId)
    const now = c.clock()
    const n = await names()
    const [from, to] = await Promise.all([ledger.queries.rekeys.from(me, now), ledger.queries.rekeys.to(me, now)])
    ctx.body = { nextSeq: await ledger.queries.lastSeq(fromHex(user.signPub)) + 1, from: from.map(r => rekeyJson(r, n)), to: to.map(r => rekeyJson(r, n)) }
  })

  router.post('/api/me/rekeys/:id/veto', patient, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const r = await request(ctx)
    const body = await readJson(ctx) as { tx?: unknown }
    const dtx = txFromBase64(body?.tx)
    const user = currentUser(ctx)
    if (dtx.tx.type !== 'patient.veto' || !equals(dtx.tx.body.rekey, r.tx)) throw new InvalidRequestError('expected a patient.veto of this request')
    if (user === undefined || !equals(dtx.tx.signer, fromHex(user.signPub))) throw new MedichainError('FORBIDDEN', 'a veto must be signed by the signed-in patient')
    if (r.status === 'effective') throw new MedichainError('REKEY_CLOSED', 'this request is in effect: a veto now changes nothing')
    const loc = await ledger.submit(dtx.tx)
    ctx.status = 201
    ctx.body = { id: toHex(loc.txId) }
  })

  return router
}
