// DICOMweb test tools: synthetic CT instances of one patient (the PHI probes in the patient module),
// a viewer token issued through the real route, and dicomweb-client (a standard DICOMweb client,
// built for browsers) running on Node's side with xhr2 as its XMLHttpRequest.
import { SOP_CLASS } from '../../../node/imaging/constants.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import { toUint16 } from '../../../node/imaging/raster/encode.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { PHI_BIRTH_DATE, PHI_NAME } from './images.ts'
import { createRequire } from 'node:module'
import dicomweb from 'dicomweb-client'

/** The client's API (its types ship with the package). */
export const { api } = dicomweb as unknown as { api: { DICOMwebClient: new (opts: { url: string, headers?: Record<string, string> }) => DicomwebClient } }

/** The calls the tests make of dicomweb-client 0.11. */
export interface DicomwebClient {
  storeInstances(opts: { datasets: ArrayBuffer[], studyInstanceUID?: string }): Promise<unknown>
  searchForStudies(opts?: { queryParams?: Record<string, string> }): Promise<Array<Record<string, { vr: string, Value?: unknown[] }>>>
  searchForSeries(opts: { studyInstanceUID?: string, queryParams?: Record<string, string> }): Promise<Array<Record<string, { vr: string, Value?: unknown[] }>>>
  searchForInstances(opts: { studyInstanceUID?: string, seriesInstanceUID?: string, queryParams?: Record<string, string> }): Promise<Array<Record<string, { vr: string, Value?: unknown[] }>>>
  retrieveInstance(opts: { studyInstanceUID: string, seriesInstanceUID: string, sopInstanceUID: string }): Promise<ArrayBuffer>
  retrieveInstanceMetadata(opts: { studyInstanceUID: string, seriesInstanceUID: string, sopInstanceUID: string }): Promise<Array<Record<string, { vr: string, Value?: unknown[] }>>>
  retrieveStudyMetadata(opts: { studyInstanceUID: string }): Promise<Array<Record<string, { vr: string, Value?: unknown[] }>>>
  retrieveInstanceFrames(opts: { studyInstanceUID: string, seriesInstanceUID: string, sopInstanceUID: string, frameNumbers: number[] }): Promise<ArrayBuffer[]>
  retrieveInstanceRendered(opts: { studyInstanceUID: string, seriesInstanceUID: string, sopInstanceUID: string, mediaTypes?: Array<{ mediaType: string }> }): Promise<ArrayBuffer | ArrayBuffer[]>
}

// dicomweb-client calls the browser's XMLHttpRequest (xhr2 ships no types: loaded untyped).
;(globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest ??= createRequire(import.meta.url)('xhr2') as unknown

/** UIDs of one synthetic instance. */
export interface InstanceUids { study: string, series: string, instance: string }

/** A 64×64 12-bit CT instance of `mrn` with the PHI probes, as an ArrayBuffer (what dicomweb-client sends). */
export function ctInstance (mrn: string, uids: InstanceUids, seed: number, number = 1): ArrayBuffer {
  const p = generatePhantom(seed, { size: 64, lesionCount: 1 })
  const bytes = encodeDicom({
    rows: 64, columns: 64, bitsAllocated: 16, bitsStored: 12, pixels: toUint16(p.pixels, 12), modality: 'CT', sopClassUid: SOP_CLASS.ct,
    sopInstanceUid: uids.instance, studyInstanceUid: uids.study, seriesInstanceUid: uids.series, instanceNumber: number,
    patient: { name: PHI_NAME, id: mrn, birthDate: PHI_BIRTH_DATE }
  })
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
}

/** Issues a viewer token for a signed-in clinician. */
export async function viewerToken (clinician: MedichainClient, body: { scope?: string[], ttlMinutes?: number, study?: string } = {}): Promise<{ id: string, token: string }> {
  return await (await clinician.request('POST', '/api/dicomweb/tokens', body)).json() as { id: string, token: string }
}

/** dicomweb-client against a peer's DICOMweb base, with a bearer token. */
export function dicomwebClient (url: string, token: string): DicomwebClient {
  return new api.DICOMwebClient({ url: `${url}/dicomweb`, headers: { Authorization: `Bearer ${token}` } })
}
