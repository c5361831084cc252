// The hospital desk's calls over the client SDK (issue 13 item 4): find a patient of this hospital
// by MRN or name, link an MRN to an enrolled patient, print an enrolment code, and (the patient)
// redeem one. Kept beside client.ts so that file stays one concept; each takes a signed-in client.
import type { MedichainClient } from './client.ts'

/** A patient of the hospital as `POST /api/dicom/patients/search` lists them (PHI: shown to this hospital's staff only). */
export interface ApiHospitalPatient {
  mrn: string
  /** Patient's Name as DICOM stores it (components separated by ^). */
  name: string
  birthDate: string
  sex: string
  /** The enrolled patient's id (hex), or null while not linked. */
  patientId: string | null
  /** Instances held in the hospital's custody for this MRN. */
  held: number
}

/** Patients of this hospital whose MRN is `q` or whose name contains every word of it. */
export async function findHospitalPatients (client: MedichainClient, q: string): Promise<ApiHospitalPatient[]> {
  const res = await client.request('POST', '/api/dicom/patients/search', { q })
  return (await res.json() as { patients: ApiHospitalPatient[] }).patients
}

/** Links an MRN to an enrolled patient (their QR code or id); resolves to how many held instances were attached. */
export async function linkMrn (client: MedichainClient, mrn: string, patientId: string): Promise<number> {
  const res = await client.request('POST', '/api/dicom/links', { mrn, patientId })
  return (await res.json() as { attached: number }).attached
}

/** A printed enrolment code for an MRN: `XXXX-XXXX-XXXX`, single use, and when it expires. */
export async function issueEnrolmentCode (client: MedichainClient, mrn: string): Promise<{ code: string, expires: number }> {
  const res = await client.request('POST', '/api/dicom/enrolment-codes', { mrn })
  return await res.json() as { code: string, expires: number }
}

/** The signed-in patient redeems an enrolment code; resolves to how many images were attached. */
export async function enrolWithCode (client: MedichainClient, code: string): Promise<number> {
  const res = await client.request('POST', '/api/me/enrol', { code })
  return (await res.json() as { attached: number }).attached
}
