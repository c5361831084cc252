// The DICOM chapter of `npm run demo`: a modality C-STOREs a synthetic CT study (synthetic PHI in
// its headers) to hospital A's DICOM listener over a real association (dcmjs-dimse); A holds it in
// its own custody because nobody has enrolled under that MRN yet. A clinician finds the patient by
// MRN, the desk prints an enrolment code, the patient signs up and enrols with it, and the study is
// theirs. At B the study is invisible over DICOMweb (QIDO-RS) until the patient grants B's
// clinician a consent; then B finds it and retrieves an instance byte for byte (WADO-RS).
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import dimse from 'dcmjs-dimse'
import type { MedichainClient } from '../../protocol/client/client.ts'
import { enrolWithCode, findHospitalPatients, issueEnrolmentCode } from '../../protocol/client/desk.ts'
import type { Peer } from '../../node/peer.ts'
import { writeStudy } from '../synth/dicom-study.ts'

const { Client } = dimse

/** The synthetic study: one CT series (the names and MRN are synthetic probes, never real people). */
const STUDY = {
  mrn: 'DEMO-MRN-0042',
  name: 'DEMO^SYNTHETIC^PATIENT',
  birthDate: '19700101',
  uid: '2.25.318207455937810423175463109725',
  description: 'CT chest (synthetic)',
  series: [{ uid: '2.25.318207455937810423175463109726', modality: 'CT', slices: 12 }]
}

/** How long the chapter waits for the ledger to carry a step to the other hospital (ms). */
const REACH_TIMEOUT_MS = 30_000

/** C-STOREs `paths` to `port` on 127.0.0.1 in one association; resolves with the statuses. */
async function cStore (paths: string[], port: number, calledAe: string): Promise<number[]> {
  const client = new Client()
  const statuses: number[] = []
  for (const path of paths) {
    const request = new dimse.requests.CStoreRequest(path)
    request.on('response', (response: { getStatus: () => number }) => { statuses.push(response.getStatus()) })
    client.addRequest(request)
  }
  return await new Promise((resolve, reject) => {
    client.on('networkError', (err: Error) => reject(err))
    client.on('closed', () => resolve(statuses))
    client.send('127.0.0.1', port, 'DEMO-CT', calledAe, { associationTimeout: 30_000, pduTimeout: 30_000, logCommandDatasets: false, logDatasets: false })
  })
}

/** Polls `check` every 100 ms until it holds; throws after `timeoutMs`. */
async function until (what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

/** QIDO-RS at `url` with a viewer token: the studies it finds. */
async function qido (url: string, token: string, query: string): Promise<Array<Record<string, { Value?: unknown[] }>>> {
  const res = await fetch(`${url}/dicomweb/studies?${query}`, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/dicom+json' } })
  if (res.status === 204) return []
  if (!res.ok) throw new Error(`QIDO-RS answered ${res.status}`)
  return await res.json() as Array<Record<string, { Value?: unknown[] }>>
}

async function viewerToken (clinician: MedichainClient): Promise<string> {
  return (await (await clinician.request('POST', '/api/dicomweb/tokens', {})).json() as { token: string }).token
}

/** Runs the chapter; `signUp` makes a signed-in client for a new user at a peer. */
export async function runDicomStory (input: {
  peers: Peer[]
  names: string[]
  docA: MedichainClient
  docB: MedichainClient
  /** The called AE title of A's listener. */
  aeTitle: string
  signUp: (peer: Peer, username: string, role: 'patient' | 'clinician', approver?: MedichainClient) => Promise<MedichainClient>
  say: (line: string) => void
}): Promise<void> {
  const { peers: [A, B], names, docA, docB, say } = input
  const port = A.dicom?.address()?.port
  if (port === undefined) throw new Error('the demo peers start without a DICOM listener')
  const dir = await mkdtemp(join(tmpdir(), 'medichain-demo-dicom-'))
  try {
    const paths = await writeStudy(dir, STUDY)
    const statuses = await cStore(paths, port, input.aeTitle)
    say(`a CT modality sent a ${paths.length}-slice study to ${names[0]}'s DICOM listener (${input.aeTitle} on port ${port}) over C-STORE: ` +
      `${statuses.filter(s => s === 0).length} of ${paths.length} stored`)
    const [found] = await findHospitalPatients(docA, STUDY.mrn)
    say(`doctor-a found the patient by MRN at ${names[0]}: ${String(found?.held ?? 0)} images held in the hospital's custody, nobody enrolled yet`)
    const { code } = await issueEnrolmentCode(docA, STUDY.mrn)
    const patient = await input.signUp(A, 'patient-3', 'patient')
    const attached = await enrolWithCode(patient, code)
    say(`the desk printed enrolment code ${code}; patient-3 signed up and enrolled with it: ${attached} images now theirs`)

    const tokenB = await viewerToken(docB)
    const pid = patient.user?.patientId as string
    await until('the study\'s records to reach B', REACH_TIMEOUT_MS, async () => (await B.ledger.queries.imagesOf(Uint8Array.from(Buffer.from(pid, 'hex')))).length >= paths.length)
    const before = await qido(B.http.url, tokenB, `StudyInstanceUID=${STUDY.uid}`)
    say(`doctor-b at ${names[1]} searches over DICOMweb (QIDO-RS) before any consent: ${before.length} studies found`)
    await until('doctor-b\'s account to reach A', REACH_TIMEOUT_MS, async () => await A.ledger.queries.account(Uint8Array.from(Buffer.from(docB.user?.signPub as string, 'hex'))) !== undefined)
    const grant = await patient.grant({ grantee: docB.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: Date.now() + 3_600_000 })
    await until('the consent to reach B', REACH_TIMEOUT_MS, async () => await B.ledger.tx(Uint8Array.from(Buffer.from(grant.id, 'hex'))) !== undefined)
    const after = await qido(B.http.url, tokenB, `StudyInstanceUID=${STUDY.uid}`)
    const instances = after[0]?.['00201208']?.Value?.[0]
    const wado = await fetch(`${B.http.url}/dicomweb/studies/${STUDY.uid}/series/${STUDY.series[0].uid}/instances/${STUDY.series[0].uid}.1`, {
      headers: { Authorization: `Bearer ${tokenB}`, Accept: 'multipart/related; type="application/dicom"' }
    })
    const body = Buffer.from(await wado.arrayBuffer())
    // The instance comes back as a Part 10 file (the preamble's DICM) carrying slice 1's pixels as the modality sent them.
    const original = await readFile(paths[0])
    const pixels = original.subarray(original.length - 64 * 64 * 2)
    const returned = wado.ok && body.includes('DICM') && body.includes(pixels)
    say(`patient-3 granted doctor-b treatment access: QIDO-RS at ${names[1]} finds the study (${String(instances)} instances), ` +
      `and WADO-RS returns slice 1 (${body.length} bytes) ${returned ? 'with the pixels the modality sent' : `(status ${wado.status}, without the pixels sent)`}`)
    if (!returned) throw new Error('WADO-RS at B did not return the instance as stored')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
