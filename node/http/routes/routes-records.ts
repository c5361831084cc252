// Image, consent and audit routes (docs/design.md §7), including the seed's three routes kept as written:
// POST /doctor/upload-patient-img, GET /doctor/get-patient-img, GET /patient/get-my-img.
// Every route is behind a session; writes are CSRF-checked by the auth middleware before this.
import { rm } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { Router } from '@koa/router'
import type { Context } from 'koa'
import { CID } from 'multiformats/cid'
import { equals, fromHex, toHex } from '../../../protocol/bytes.ts'
import { toBase64 } from '../../../protocol/base64.ts'
import { HASH_BYTES } from '../../../protocol/constants.ts'
import { InvalidRequestError, MedichainError, NotFoundError } from '../../../protocol/errors.ts'
import { txFromBase64 } from '../../../protocol/chain/tx-transport.ts'
import { patientIdOf } from '../../../protocol/chain/tx.ts'
import type { Tx, TxOf } from '../../../protocol/chain/tx.ts'
import type { Ledger } from '../../../ledger/types.ts'
import type { ConsentRecord } from '../../../ledger/queries/queries.ts'
import type { Auth, SessionUser } from '../../auth/index.ts'
import { currentUser } from '../../auth/index.ts'
import { readJson } from '../../auth/http/body.ts'
import type { Reader } from '../../records/access.ts'
import { DecodeBusyError } from '../../imaging/errors.ts'
import { receiveFile } from '../../records/multipart.ts'
import type { ReadableImage, Reads } from '../../records/reads.ts'
import { EmergencyNotCustodianError } from '../../records/reads.ts'
import type { Emergencies } from '../../emergency/service.ts'
import { abandonRawSeal, beginRawSeal, ingestUpload } from '../../records/upload.ts'
import type { RawSeal, UploadComponents, UploadResult } from '../../records/upload.ts'
import { encodeCursor, pageOf, parsePage } from '../page.ts'
import { directoryNames } from './routes-directory.ts'
import { entryView, groupEntries, groupKeyOf, parseGroupKey, parseOffset } from '../../records/audit.ts'
import type { AuditEntryView, ConsentFacts } from '../../records/audit.ts'
import { expectQueryKeys, parseHexParam, queryValue } from '../query.ts'

/** Page size of the image, audit and consent lists when `limit` is absent, and the largest allowed. */
export const DEFAULT_PAGE = 100
export const MAX_PAGE = 500

/** What the record routes use. */
export interface RecordRoutesComponents extends UploadComponents {
  auth: Auth
  reads: Reads
  /** Emergency access across hospitals (node/emergency); absent: break-glass only where the images are. */
  emergencies?: Pick<Emergencies, 'declare'>
  ledger: Ledger
  clock: () => number
}

/** Upload limits from config. */
export interface RecordRoutesInit { tmpDir: string, maxUploadBytes: number }

/** The signed-in user as a Reader (keys as bytes). */
function readerOf (ctx: Context): Reader {
  const user = currentUser(ctx) as SessionUser
  return {
    role: user.role,
    signPub: fromHex(user.signPub),
    boxPub: fromHex(user.boxPub),
    hospital: fromHex(user.hospital),
    patientId: user.patientId === undefined ? undefined : fromHex(user.patientId)
  }
}

const hex = (b: Uint8Array | null): string | null => b === null ? null : toHex(b)
const cidString = (c: CID | null): string | null => c === null ? null : c.toString()

function renderImage (r: ReadableImage, names: Map<string, string>): Record<string, unknown> {
  const { image } = r
  return {
    raw: image.raw.toString(),
    result: cidString(image.result),
    meta: image.meta === undefined ? null : image.meta.toString(),
    patientId: toHex(image.patient),
    modality: image.modality,
    size: image.size,
    score: image.score === null ? null : image.score / 10_000,
    model: cidString(image.model),
    custodian: toHex(image.custodian),
    custodianName: names.get(toHex(image.custodian)) ?? null,
    time: image.time,
    basis: r.basis,
    keys: { raw: toBase64(r.keys.raw), result: r.keys.result === null ? null : toBase64(r.keys.result) },
    record: hex(image.record),
    dicom: image.dicom === undefined ? null : { series: toHex(image.dicom.series), instance: toHex(image.dicom.instance), number: image.dicom.number },
    // The study key its data keys are also sealed under: a consent naming the study hands over that key.
    study: image.study === undefined ? null : { kid: toHex(image.study.kid) }
  }
}

function renderUpload (u: UploadResult, patient: Uint8Array): Record<string, unknown> {
  return {
    raw: u.raw.toString(), result: cidString(u.result), meta: u.meta.toString(), card: u.card, patientId: toHex(patient), modality: u.modality, size: u.size,
    score: u.score, model: cidString(u.model), boxes: u.boxes, analysed: u.analysed
  }
}

function renderConsent (patient: Uint8Array, c: ConsentRecord): Record<string, unknown> {
  return {
    id: toHex(c.tx), patientId: toHex(patient), grantee: toHex(c.grantee), kind: c.kind ?? null, action: c.action, seq: c.seq,
    purpose: c.purpose ?? null, scope: c.scope === undefined ? null : renderScope(c.scope), expires: c.expires ?? null, time: c.time,
    images: c.keys?.map(k => k.image.toString()) ?? [],
    studies: c.studies?.map(s => ({ record: toHex(s.record), custodian: toHex(s.custodian), kid: toHex(s.kid) })) ?? []
  }
}

function renderScope (s: NonNullable<ConsentRecord['scope']>): Record<string, unknown> {
  if (s.kind === 'all') return { kind: 'all' }
  if (s.kind === 'record') return { kind: 'record', record: toHex(s.record) }
  return { kind: 'images', images: s.images.map(c => c.toString()) }
}

/**
 * Whether `revoke` may be filed against the consent `granted`: a grant signed by the same patient,
 * to the same grantee, and, when the revoke names a purpose, for that purpose. A revoke without a
 * purpose ends every purpose of the grantee, this consent's included.
 */
function revokeMatches (granted: Tx, revoke: TxOf<'consent.revoke'>, successor: Uint8Array | undefined): boolean {
  if (granted.type !== 'consent.grant') return false
  // The new key of a patient recovered by assisted recovery (issue 16.3) revokes the old key's consents.
  const byOwner = equals(granted.signer, revoke.signer) || (successor !== undefined && equals(successor, revoke.signer))
  if (!byOwner || !equals(granted.body.grantee, revoke.body.grantee)) return false
  return revoke.body.purpose === undefined || revoke.body.purpose === granted.body.purpose
}

const pairOf = (grantee: Uint8Array, purpose: string): string => `${toHex(grantee)}:${purpose}`

function cidParam (value: string | undefined): CID {
  try {
    return CID.parse(value ?? '')
  } catch {
    throw new InvalidRequestError('cid: expected a CID string')
  }
}

function patientParam (value: string | undefined): Uint8Array {
  return parseHexParam(value, 'patientId', HASH_BYTES)
}

/** Builds the router of images, consents and the patient's own views. */
export function recordRoutes (init: RecordRoutesInit, c: RecordRoutesComponents): Router {
  const router = new Router()
  const { auth, reads, ledger } = c
  const names = (): Map<string, string> => new Map(ledger.members().map(m => [toHex(m.key), m.name]))

  const upload = async (ctx: Context, patient: Uint8Array | undefined): Promise<void> => {
    // The raw file is encrypted and stored as it reaches the temp file, while the body arrives.
    let raw: RawSeal | undefined
    const written = (path: string, bytes: number): void => {
      raw ??= beginRawSeal(c.storage, path)
      raw.job.grow(bytes)
    }
    let file
    let id
    try {
      // A client that hangs up mid-body is an expected event: the HTTP layer logs it once, no stack.
      file = await receiveFile(ctx.req, { maxBytes: init.maxUploadBytes, tmpDir: init.tmpDir, written })
      raw?.job.grow(file.size, true)
      id = patient ?? patientParam(file.fields.patientId)
    } catch (err) {
      if (raw !== undefined) await abandonRawSeal(raw, c.storage)
      // receiveFile removes its file when it fails; a bad patientId field comes after it succeeded.
      if (file !== undefined) await rm(file.path, { force: true })
      throw err
    }
    const result = await ingestUpload(file, id, c, { raw }).catch((err: unknown) => {
      // Every decode worker is busy and the queue is full: a moment later will do (RFC 9110 §10.2.3).
      if (err instanceof DecodeBusyError) ctx.set('Retry-After', '1')
      throw err
    })
    ctx.status = 201
    ctx.body = renderUpload(result, id)
  }
  const clinician = auth.requireUser('clinician')
  router.post('/doctor/upload-patient-img', clinician, async (ctx) => await upload(ctx, undefined))
  router.post('/api/patients/:patientId/images', clinician, async (ctx) => await upload(ctx, patientParam(ctx.params.patientId)))

  /** A page of the patient's images the reader may open, in (CID, custodian) order; each one listed is logged. */
  const listFor = async (ctx: Context, patient: Uint8Array, keys: string[] = []): Promise<void> => {
    expectQueryKeys(ctx.query, [...keys, 'limit', 'cursor'])
    const req = parsePage(ctx.query, 'ss', DEFAULT_PAGE, MAX_PAGE)
    const after = req.cursor === undefined ? undefined : `${String(req.cursor[0])}:${String(req.cursor[1])}`
    const { images, more } = await reads.imagesPage(readerOf(ctx), patient, { after, limit: req.limit })
    const n = names()
    const last = images.at(-1)
    ctx.body = { patientId: toHex(patient), images: images.map(r => renderImage(r, n)), next: more && last !== undefined ? encodeCursor([last.image.raw.toString(), toHex(last.image.custodian)]) : null }
  }
  const reader = auth.requireUser('clinician', 'researcher')
  router.get('/doctor/get-patient-img', reader, async (ctx) => {
    await listFor(ctx, patientParam(queryValue(ctx.query, 'patientId')), ['patientId'])
  })
  router.get('/api/patients/:patientId/images', reader, async (ctx) => await listFor(ctx, patientParam(ctx.params.patientId)))

  const patient = auth.requireUser('patient')
  const mine = async (ctx: Context): Promise<void> => await listFor(ctx, readerOf(ctx).patientId as Uint8Array)
  router.get('/patient/get-my-img', patient, mine)
  router.get('/api/me/images', patient, mine)

  // The patient's study keys as the custodians wrapped them for the patient's box key (optionally
  // of one study): what the patient's client re-wraps for a grantee when a consent names a study.
  router.get('/api/me/study-keys', patient, async (ctx) => {
    expectQueryKeys(ctx.query, ['record'])
    const me = readerOf(ctx)
    const recordHex = queryValue(ctx.query, 'record')
    const record = recordHex === undefined ? undefined : parseHexParam(recordHex, 'record', 16)
    const render = (k: { patient: Uint8Array, record: Uint8Array, custodian: Uint8Array, kid: Uint8Array }, key: Uint8Array): Record<string, string> =>
      ({ patientId: toHex(k.patient), record: toHex(k.record), custodian: toHex(k.custodian), kid: toHex(k.kid), key: toBase64(key) })
    const studies = (await ledger.queries.studyKeysOf(me.patientId as Uint8Array, record)).flatMap(k => {
      const mine = k.keys.find(w => equals(w.to, me.boxPub))
      return mine === undefined ? [] : [render(k, mine.key)]
    })
    // The study keys of the ids this key took over by assisted recovery, as their custodians re-wrapped them.
    for (const old of await ledger.queries.rekeys.predecessorsOf(me.patientId as Uint8Array, c.clock())) {
      const successor = await ledger.queries.rekeys.successorOf(old, c.clock())
      if (successor === undefined || !equals(successor.patient, me.patientId as Uint8Array)) continue
      for (const k of await ledger.queries.studyKeysOf(old, record)) {
        const key = await ledger.queries.rekeys.rewrappedStudy(successor.tx, k.record, k.custodian, k.kid)
        if (key !== undefined) studies.push(render(k, key))
      }
    }
    ctx.body = { studies }
  })

  router.get('/api/images/:cid', auth.requireUser('patient', 'clinician', 'researcher'), async (ctx) => {
    const { stream } = await reads.ciphertext(readerOf(ctx), cidParam(ctx.params.cid))
    ctx.set('Content-Type', 'application/octet-stream')
    ctx.set('Cache-Control', 'private, no-store')
    // Readable.from keeps back-pressure, so the ciphertext streams without buffering.
    ctx.body = Readable.from(stream)
  })

  // The sealed card of an image (by its raw CID): opened in the client with the raw data key.
  router.get('/api/images/:cid/meta', auth.requireUser('patient', 'clinician', 'researcher'), async (ctx) => {
    const sealed = await reads.card(readerOf(ctx), cidParam(ctx.params.cid))
    ctx.set('Content-Type', 'application/octet-stream')
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
  })

  router.post('/api/patients/:patientId/emergency-access', clinician, async (ctx) => {
    const body = await readJson(ctx) as { reason?: unknown }
    if (typeof body?.reason !== 'string' || body.reason.trim().length < 10 || body.reason.length > 1000) {
      throw new InvalidRequestError('reason: a reason of 10 to 1000 characters is required')
    }
    const reader = readerOf(ctx)
    const patientId = patientParam(ctx.params.patientId)
    try {
      const { until } = await reads.declareEmergency(reader, patientId, body.reason)
      ctx.status = 201
      ctx.body = { until, where: 'here' }
    } catch (err) {
      // Held only at other hospitals: they are asked to release their keys (issue 16.4).
      if (!(err instanceof EmergencyNotCustodianError) || c.emergencies === undefined) throw err
      const released = await c.emergencies.declare(reader, patientId, body.reason)
      ctx.status = 201
      ctx.body = { until: released.until, where: 'elsewhere', hospitals: released.hospitals }
    }
  })

  router.post('/api/consents', patient, async (ctx) => {
    const dtx = await signedConsent(ctx, 'consent.grant')
    const loc = await ledger.submit(dtx.tx)
    ctx.status = 201
    ctx.body = { id: toHex(loc.txId), block: toHex(loc.blockHash), height: loc.height }
  })

  router.post('/api/consents/:id/revoke', patient, async (ctx) => {
    const id = parseHexParam(ctx.params.id, 'id', HASH_BYTES)
    const grant = await ledger.tx(id)
    const dtx = await signedConsent(ctx, 'consent.revoke')
    if (grant === undefined || grant.proof === undefined) throw new NotFoundError('no consent has this id')
    const granted = txFromBase64(toBase64(grant.proof.tx)).tx
    const successor = await ledger.queries.rekeys.successorOf(patientIdOf(granted.signer), c.clock())
    if (dtx.tx.type !== 'consent.revoke' || !revokeMatches(granted, dtx.tx, successor?.key)) throw new InvalidRequestError('the revocation does not match this consent')
    const loc = await ledger.submit(dtx.tx)
    ctx.status = 201
    ctx.body = { id: toHex(loc.txId), block: toHex(loc.blockHash), height: loc.height }
  })

  /** Reads `{ tx }` (base64 dag-cbor), which must be a consent of `type` signed by the session's own key. */
  async function signedConsent (ctx: Context, type: 'consent.grant' | 'consent.revoke'): Promise<ReturnType<typeof txFromBase64>> {
    const body = await readJson(ctx, 256 * 1024) as { tx?: unknown }
    const dtx = txFromBase64(body?.tx)
    if (dtx.tx.type !== type) throw new InvalidRequestError(`expected a ${type} transaction`)
    if (!equals(dtx.tx.signer, readerOf(ctx).signPub)) throw new MedichainError('FORBIDDEN', 'a consent must be signed by the signed-in patient')
    return dtx
  }

  router.get('/api/me/consents', patient, async (ctx) => {
    expectQueryKeys(ctx.query, ['limit', 'cursor'])
    const page = parsePage(ctx.query, 'ss', DEFAULT_PAGE, MAX_PAGE)
    const me = readerOf(ctx)
    const consents = await ledger.queries.consentsOf(me.patientId as Uint8Array)
    // A revoke of every purpose leaves a revoke record under each purpose; the list shows only the
    // (grantee, purpose) pairs the patient ever granted, so it never lists consents never given.
    const granted = new Set(consents.filter(x => x.action === 'grant').map(x => pairOf(x.grantee, x.purpose)))
    if (consents.some(x => x.action === 'revoke' && !granted.has(pairOf(x.grantee, x.purpose)))) {
      for (const e of await ledger.queries.getPatientHashHistory(me.patientId as Uint8Array)) {
        if (e.tx.type === 'consent.grant') granted.add(pairOf(e.tx.body.grantee, e.tx.body.purpose))
      }
    }
    // In key order (grantee, purpose), as the ledger stores them.
    const shown = pageOf(consents.filter(x => granted.has(pairOf(x.grantee, x.purpose))), x => [toHex(x.grantee), x.purpose], page, 'asc')
    // Each grantee by name ("Dr Lee, Radiology, South Hospital"), so the list shows people, not keys.
    const granteeNames = await directoryNames(ledger, shown.items.map(x => toHex(x.grantee)))
    ctx.body = {
      nextSeq: await ledger.queries.lastSeq(me.signPub) + 1,
      consents: shown.items.map(x => ({ ...renderConsent(me.patientId as Uint8Array, x), granteeName: granteeNames.get(toHex(x.grantee)) ?? null })),
      next: shown.next
    }
  })

  /**
   * The patient's access entries as their page reads them, newest first: names from the directory
   * and, for each consent an entry relied on, its purpose and grantee.
   */
  const auditViews = async (me: Reader): Promise<AuditEntryView[]> => {
    const patientId = me.patientId as Uint8Array
    // The history follows the patient: a key recovered by assisted recovery (issue 16.3) also sees
    // the reads of the ids it took over.
    const ids = [patientId, ...await ledger.queries.rekeys.predecessorsOf(patientId, c.clock())]
    const records = ids.length === 1
      ? (await ledger.queries.auditOf(patientId)).reverse()
      : (await Promise.all(ids.map(async p => await ledger.queries.auditOf(p)))).flat().sort((x, y) => y.time - x.time || (toHex(x.tx) < toHex(y.tx) ? 1 : -1))
    const consentIds = [...new Map(records.flatMap(e => e.consent === null ? [] : [[toHex(e.consent), e.consent] as const])).values()]
    const consents = new Map<string, ConsentFacts>()
    for (const p of ids) {
      for (const [id, tx] of await ledger.queries.patientTxs(p, consentIds)) {
        if (tx.type === 'consent.grant') consents.set(id, { purpose: tx.body.purpose, grantee: tx.body.grantee })
      }
    }
    const keys = [...records.flatMap(r => [toHex(r.accessor), toHex(r.hospital)]), ...[...consents.values()].map(c => toHex(c.grantee))]
    const names = await directoryNames(ledger, keys)
    return records.map(r => entryView(r, names, consents))
  }

  router.get('/api/me/audit', patient, async (ctx) => {
    expectQueryKeys(ctx.query, ['limit', 'cursor', 'group', 'tz'])
    const page = parsePage(ctx.query, 'ns', DEFAULT_PAGE, MAX_PAGE)
    const group = parseGroupKey(queryValue(ctx.query, 'group'))
    const offset = parseOffset(queryValue(ctx.query, 'tz'))
    let views = await auditViews(readerOf(ctx))
    // One group's ledger entries, when the patient expands it.
    if (group !== undefined) views = views.filter(v => groupKeyOf(v, offset) === group)
    // Newest first, by (time, tx id): a page is a position, so entries added meanwhile never shift it.
    const { items, next } = pageOf(views, e => [e.time, e.id], page, 'desc')
    ctx.body = { next, entries: items }
  })

  router.get('/api/me/audit/groups', patient, async (ctx) => {
    expectQueryKeys(ctx.query, ['limit', 'cursor', 'tz'])
    const page = parsePage(ctx.query, 'ns', DEFAULT_PAGE, MAX_PAGE)
    const offset = parseOffset(queryValue(ctx.query, 'tz'))
    const groups = groupEntries(await auditViews(readerOf(ctx)), offset)
    const { items, next } = pageOf(groups, g => [g.last, g.key], page, 'desc')
    ctx.body = { next, groups: items }
  })

  router.get('/api/me/credit', patient, async (ctx) => {
    ctx.body = await ledger.queries.credit(readerOf(ctx).patientId as Uint8Array, c.clock())
  })

  return router
}
