// The desk's link from a hospital MRN to an enrolled patient (issue 13 item 4): a clinician or the
// admin of this hospital names the MRN and the patient id, and the instances held in custody for
// that MRN are attached to the patient. The MRN stays in the request and the sealed local index.
import { Router } from '@koa/router'
import { fromHex } from '../../protocol/bytes.ts'
import { InvalidRequestError } from '../../protocol/errors.ts'
import type { Auth } from '../auth/index.ts'
import { readJson } from '../auth/body.ts'
import type { Dicom } from './index.ts'

/** What the routes use. */
export interface DicomRouteComponents {
  auth: Pick<Auth, 'requireUser'>
  dicom: Pick<Dicom, 'linkPatient'>
}

/** A Patient ID value (VR LO, PS3.5 §6.2): 1 to 64 characters, no control characters or backslash. */
function isMrn (v: unknown): v is string {
  return typeof v === 'string' && v.trim().length > 0 && v.length <= 64 && /^[^\u0000-\u001f\\]+$/.test(v)
}

/** `POST /api/dicom/links` (clinician, admin): `{ mrn, patientId }` → `{ attached }`. */
export function dicomRoutes ({ auth, dicom }: DicomRouteComponents): Router {
  const router = new Router()
  router.post('/api/dicom/links', auth.requireUser('clinician', 'admin'), async (ctx) => {
    const body = await readJson(ctx) as { mrn?: unknown, patientId?: unknown } | null
    if (!isMrn(body?.mrn)) throw new InvalidRequestError('mrn: the DICOM PatientID, 1 to 64 characters')
    const patientId = body?.patientId
    if (typeof patientId !== 'string' || !/^[0-9a-fA-F]{64}$/.test(patientId)) throw new InvalidRequestError('patientId: 64 hex characters')
    const attached = await dicom.linkPatient(body.mrn.trim(), fromHex(patientId))
    ctx.body = { attached }
  })
  return router
}
