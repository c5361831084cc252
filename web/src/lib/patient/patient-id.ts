// Patient ids in the UI: 64 hex digits (SHA-256 of the patient's public key, docs/design.md §5), typed,
// pasted or read from the QR code the patient portal shows, or the short patient code read out at
// a desk (protocol/patient-code.ts). The QR payload carries a prefix so a clinician's scanner does
// not mistake some other QR code for a patient.
import { looksLikePatientCode } from '../../../../protocol/patient-code.ts'

/** Prefix of the patient QR payload: `medichain:patient:<64 hex>`. */
export const PATIENT_QR_PREFIX = 'medichain:patient:'

/** The QR payload for a patient id. */
export function patientQrPayload (patientId: string): string {
  return PATIENT_QR_PREFIX + patientId.toLowerCase()
}

/**
 * A patient id from what a person typed, pasted or scanned: bare hex or the QR payload, any case,
 * surrounding spaces ignored. Null when it is neither.
 */
export function parsePatientId (input: string): string | null {
  let s = input.trim()
  if (s.toLowerCase().startsWith(PATIENT_QR_PREFIX)) s = s.slice(PATIENT_QR_PREFIX.length)
  s = s.replace(/\s+/g, '')
  return /^[0-9a-fA-F]{64}$/.test(s) ? s.toLowerCase() : null
}

/**
 * What a person typed in the "find a patient" box: a patient id (hex or QR payload), something
 * shaped like a patient code (ten code characters, checked when it is resolved), or neither.
 */
export function parsePatientInput (input: string): { kind: 'id', id: string } | { kind: 'code', code: string } | null {
  const id = parsePatientId(input)
  if (id !== null) return { kind: 'id', id }
  return looksLikePatientCode(input.trim()) ? { kind: 'code', code: input.trim() } : null
}
