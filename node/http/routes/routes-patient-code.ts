// Finding a patient by the short code they read out at a desk (protocol/patient-code.ts,
// docs/design.md §5 "Patient codes"): `GET /api/patients/by-code/:code` checks the code's check
// character, then looks the 45 bits it carries up among the registered patients on the ledger.
// A typo is refused before any lookup; a code two patients share is reported, never guessed.
import { Router } from '@koa/router'
import { toHex } from '../../../protocol/bytes.ts'
import { MedichainError } from '../../../protocol/errors.ts'
import { idMatchesCode, parsePatientCode } from '../../../protocol/patient-code.ts'
import type { Ledger } from '../../../ledger/types.ts'
import type { Auth } from '../../auth/index.ts'
import { UnknownPatientError } from '../../records/upload.ts'

/** Patient ids read for one code: a shared 45-bit prefix is rare, so a few are plenty. */
const CANDIDATES = 16

/** Thrown when two registered patients share a code: the desk scans the QR code or takes the full id. */
export class PatientCodeAmbiguousError extends MedichainError {
  constructor () {
    super('PATIENT_CODE_AMBIGUOUS', 'more than one patient has this code: scan their QR code or use the full patient id')
    this.name = 'PatientCodeAmbiguousError'
  }
}

/** HTTP statuses of the codes these routes raise. */
export const PATIENT_CODE_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  BAD_PATIENT_CODE: 400,
  PATIENT_CODE_AMBIGUOUS: 409
}

/** What the routes use. */
export interface PatientCodeRoutesComponents { ledger: Ledger, auth: Pick<Auth, 'requireUser'> }

/** Resolves a typed code to the one registered patient id it names. */
export async function resolvePatientCode (ledger: Ledger, input: string): Promise<{ patientId: Uint8Array, code: string }> {
  const parsed = parsePatientCode(input)
  const ids = (await ledger.queries.patientIdsWithPrefix(parsed.prefixHex, CANDIDATES)).filter(id => idMatchesCode(id, parsed))
  if (ids.length === 0) throw new UnknownPatientError()
  if (ids.length > 1) throw new PatientCodeAmbiguousError()
  return { patientId: ids[0], code: parsed.code }
}

/** `GET /api/patients/by-code/:code` (clinician, admin) → `{ patientId, code }`. */
export function patientCodeRoutes ({ ledger, auth }: PatientCodeRoutesComponents): Router {
  const router = new Router()
  router.get('/api/patients/by-code/:code', auth.requireUser('clinician', 'admin'), async (ctx) => {
    const { patientId, code } = await resolvePatientCode(ledger, ctx.params.code ?? '')
    ctx.body = { patientId: toHex(patientId), code }
  })
  return router
}
