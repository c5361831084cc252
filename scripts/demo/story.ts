// The clinical story of `npm run demo`, told through the real client SDK against the three
// peers' HTTP APIs: admins set up, a patient signs up, clinicians are approved, synthetic images
// are uploaded at A, the patient grants a clinician at B, who reads them over bitswap; then a
// modality sends a study over DICOM (scripts/demo/dicom.ts), a researcher exports a consented cohort
// and the patient signs in at another hospital (scripts/demo/research.ts), and the hospitals train a
// model together with secure aggregation (scripts/demo/federated.ts).
import { MedichainClient } from '../../protocol/client/client.ts'
import type { Peer } from '../../node/peer.ts'
import { encodeDicom } from '../../node/imaging/dicom/write.ts'
import { encodePng, toUint16, toUint8 } from '../../node/imaging/raster/encode.ts'
import { generatePhantom } from '../synth/phantom.ts'
import { runDicomStory } from './dicom.ts'
import { runFederatedStory } from './federated.ts'
import { runResearchStory } from './research.ts'

/** The demo's accounts: printed so a person can sign in to each peer with them. */
export const DEMO_PASSWORD = 'medichain demo password'

/** One demo account. */
export interface DemoAccount { hospital: string, url: string, username: string, role: string }

async function admin (peer: Peer, username: string): Promise<MedichainClient> {
  const c = new MedichainClient({ baseUrl: peer.http.url })
  const link = peer.auth.setupLink(peer.http.url)
  if (link !== undefined) {
    await c.signUp({ username, password: DEMO_PASSWORD, role: 'admin', setupToken: new URL(link).hash.replace(/^#token=/, '') })
  }
  await c.signIn(username, DEMO_PASSWORD)
  return c
}

async function signUp (peer: Peer, username: string, role: 'patient' | 'clinician' | 'researcher', approver?: MedichainClient): Promise<MedichainClient> {
  const c = new MedichainClient({ baseUrl: peer.http.url })
  await c.signUp({ username, password: DEMO_PASSWORD, role })
  if (approver !== undefined) await approver.approve(username)
  await c.signIn(username, DEMO_PASSWORD)
  return c
}

/** Synthetic, PHI-free images: a phantom with one lesion as 16-bit DICOM and as PNG. */
function phantomFiles (seed: number): { dicom: Uint8Array, png: Uint8Array } {
  const p = generatePhantom(seed, { size: 256, lesionCount: 1 })
  return {
    dicom: encodeDicom({
      rows: 256, columns: 256, bitsAllocated: 16, bitsStored: 12, pixels: toUint16(p.pixels, 12), modality: 'CT',
      sopInstanceUid: `2.25.${seed}1`, studyInstanceUid: `2.25.${seed}2`, seriesInstanceUid: `2.25.${seed}3`,
      patient: { name: `SYNTH^PATIENT^${seed}`, id: `SYN-${seed}`, birthDate: '19000101' }
    }),
    png: encodePng(toUint8(p.pixels), 256, 256)
  }
}

/** Runs the story; `say` prints a line. Returns the accounts it made. */
export async function runStory (peers: Peer[], names: string[], say: (line: string) => void, dicomAeTitle: string): Promise<DemoAccount[]> {
  const [A, B] = peers
  const admins = await Promise.all(peers.map(async (p, i) => await admin(p, `admin-${String.fromCharCode(97 + i)}`)))
  const patient = await signUp(A, 'patient-1', 'patient')
  const docA = await signUp(A, 'doctor-a', 'clinician', admins[0])
  const docB = await signUp(B, 'doctor-b', 'clinician', admins[1])
  // Staff name themselves in the consortium directory: patients read these names, not keys.
  await docA.setMyDirectoryEntry('Dr Ada Obi', 'Radiology')
  await docB.setMyDirectoryEntry('Dr Lee', 'Radiology')
  const patientId = patient.user?.patientId as string
  say(`patient-1 signed up at ${names[0]}: patient id ${patientId}`)

  const files = phantomFiles(1)
  for (const [name, bytes] of Object.entries(files)) {
    const up = await docA.upload(patientId, bytes, `${name}`)
    say(`doctor-a uploaded a synthetic ${name.toUpperCase()} (${bytes.length} bytes): raw ${String(up.raw)}${up.analysed === true ? `, score ${String(up.score)}` : ', no model loaded yet'}`)
  }
  try {
    await docB.patientImages(patientId)
  } catch (err) {
    say(`doctor-b at ${names[1]} is refused before consent: ${(err as { code?: string }).code ?? String(err)}`)
  }
  const grant = await patient.grant({ grantee: docB.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: Date.now() + 24 * 3_600_000 })
  say(`patient-1 granted doctor-b treatment access for 24 h (consent ${grant.id.slice(0, 16)}…)`)
  let images: Awaited<ReturnType<MedichainClient['patientImages']>> = []
  for (let tries = 0; tries < 100 && images.length === 0; tries++) {
    images = await docB.patientImages(patientId).catch(() => [])
    if (images.length === 0) await new Promise(resolve => setTimeout(resolve, 100))
  }
  for (const image of images) {
    const bytes = await docB.openImage(image)
    say(`doctor-b decrypted ${image.modality} ${image.raw.slice(0, 20)}… (${bytes.length} bytes, fetched from ${image.custodianName ?? '?'} over bitswap)`)
  }
  const audit = await patient.myAudit()
  const { groups } = await patient.myAuditGroups()
  say(`patient-1's "who viewed my images": ${audit.length} entries in ${groups.length} lines by person and day (${groups.map(g => `${String(g.accessorName ?? 'someone')} ${String(g.use)}, ${String(g.basis)}`).join('; ')})`)
  say('DICOM: a modality, the registration desk and a viewer at another hospital:')
  await runDicomStory({ peers, names, docA, docB, aeTitle: dicomAeTitle, signUp, say })
  say('research under consent, and the shared patient portal:')
  await runResearchStory({
    peers, names, admins, patient, password: DEMO_PASSWORD, say,
    signUpResearcher: async (peer, username) => await signUp(peer, username, 'researcher', admins[peers.indexOf(peer)]),
    newClient: peer => new MedichainClient({ baseUrl: peer.http.url })
  })
  say('federated learning on labelled images with the patients\' training consents:')
  await runFederatedStory({ peers, names, admins, signUp, say })
  return [
    ...admins.map((_, i) => ({ hospital: names[i], url: peers[i].http.url, username: `admin-${String.fromCharCode(97 + i)}`, role: 'admin' })),
    { hospital: names[0], url: A.http.url, username: 'patient-1', role: 'patient' },
    { hospital: names[0], url: A.http.url, username: 'patient-3', role: 'patient' },
    { hospital: names[0], url: A.http.url, username: 'researcher-a', role: 'researcher' },
    { hospital: names[0], url: A.http.url, username: 'doctor-a', role: 'clinician' },
    { hospital: names[1], url: B.http.url, username: 'doctor-b', role: 'clinician' }
  ]
}
