// The desk's routes of the hospital's patient index (issue 13 item 4): staff of this hospital find
// a patient by MRN or name (decrypted on this peer, never on the ledger), link an MRN to an
// enrolled patient whose QR code they scanned, or print an enrolment code the patient enters in
// their portal. Either way the instances held in custody for that MRN are attached to the patient.
import { Router } from '@koa/router'
import { fromHex, toHex } from '../../protocol/bytes.ts'
import { InvalidRequestError } from '../../protocol/errors.ts'
import type { Auth, SessionUser } from '../auth/index.ts'
import { currentUser } from '../auth/index.ts'
import { readJson } from '../auth/http/body.ts'
import type { Dicom } from './index.ts'

/** HTTP statuses of the desk's error codes (the error middleware's extension point). */
export const DICOM_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  UNKNOWN_ENROLMENT_CODE: 404,
  MRN_LINKED: 409,
  CORRUPT_PATIENT_INDEX: 500
}

/** Most patients one search answers: the desk narrows a longer list by typing more. */
export const MAX_PATIENT_MATCHES = 50

/** What the routes use. */
export interface DicomRouteComponents {
  auth: Pick<Auth, 'requireUser'>
  dicom: Pick<Dicom, 'linkPatient' | 'findPatients' | 'issueEnrolmentCode' | 'enrol'>
}

/** A Patient ID value (VR LO, PS3.5 §6.2): 1 to 64 characters, no control characters or backslash. */
function isMrn (v: unknown): v is string {
  return typeof v === 'string' && v.trim().length > 0 && v.length <= 64 && /^[^\u0000-\u001f\\]+$/.test(v)
}

function mrnOf (body: { mrn?: unknown } | null): string {
  if (!isMrn(body?.mrn)) throw new InvalidRequestError('mrn: the DICOM PatientID, 1 to 64 characters')
  return body.mrn.trim()
}

/**
 * `POST /api/dicom/links`, `POST /api/dicom/patients/search`, `POST /api/dicom/enrolment-codes`
 * (clinician, admin of this hospital) and `POST /api/me/enrol` (patient).
 */
export function dicomRoutes ({ auth, dicom }: DicomRouteComponents): Router {
  const router = new Router()
  const desk = auth.requireUser('clinician', 'admin')
  router.post('/api/dicom/links', desk, async (ctx) => {
    const body = await readJson(ctx) as { mrn?: unknown, patientId?: unknown } | null
    const mrn = mrnOf(body)
    const patientId = body?.patientId
    if (typeof patientId !== 'string' || !/^[0-9a-fA-F]{64}$/.test(patientId)) throw new InvalidRequestError('patientId: 64 hex characters')
    const attached = await dicom.linkPatient(mrn, fromHex(patientId))
    ctx.body = { attached }
  })

  // A POST, though it reads: the MRN or name stays in the body, out of URLs, browser history and
  // the access logs of any proxy in front of the peer.
  router.post('/api/dicom/patients/search', desk, async (ctx) => {
    const body = await readJson(ctx) as { q?: unknown } | null
    const q = typeof body?.q === 'string' ? body.q.trim() : ''
    if (q.length < 2 || q.length > 64) throw new InvalidRequestError('q: an MRN or part of a name, 2 to 64 characters')
    const found = await dicom.findPatients(q, MAX_PATIENT_MATCHES)
    // PHI for this hospital's own staff: never cached by a browser or a proxy.
    ctx.set('Cache-Control', 'no-store')
    ctx.body = {
      patients: found.map(p => ({
        mrn: p.mrn, name: p.name, birthDate: p.birthDate, sex: p.sex, patientId: p.patient === undefined ? null : toHex(p.patient), held: p.held
      }))
    }
  })

  router.post('/api/dicom/enrolment-codes', desk, async (ctx) => {
    const mrn = mrnOf(await readJson(ctx) as { mrn?: unknown } | null)
    ctx.set('Cache-Control', 'no-store')
    ctx.status = 201
    ctx.body = await dicom.issueEnrolmentCode(mrn)
  })

  router.post('/api/me/enrol', auth.requireUser('patient'), async (ctx) => {
    const body = await readJson(ctx) as { code?: unknown } | null
    if (typeof body?.code !== 'string') throw new InvalidRequestError('code: the enrolment code the hospital printed')
    const user = currentUser(ctx) as SessionUser
    if (user.patientId === undefined) throw new InvalidRequestError('this account has no patient id')
    ctx.body = { attached: await dicom.enrol(body.code, fromHex(user.patientId)) }
  })
  return router
}
