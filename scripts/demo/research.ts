// The research chapter of `npm run demo`, through the real client SDK: a researcher at A proposes a
// project; A's admin approves it and B's refuses it, each on the ledger; patient-1 grants the
// researcher a research consent naming the project; the researcher sees the cohort per hospital
// (small counts suppressed), downloads the de-identified export twice (byte-identical), and the
// patient reads each use in their audit. Then patient-1 signs in at the third hospital, which
// only relays the sign-in to A, and sees their images from there.
import { createHash } from 'node:crypto'
import type { MedichainClient } from '../../protocol/client/client.ts'
import { hospitalShortName } from '../../protocol/crypto/relay-sign-in.ts'
import { ResearchClient } from '../../protocol/client/research.ts'
import type { Peer } from '../../node/peer.ts'

const PROJECT = {
  title: 'Lesion detection on chest CT',
  purpose: 'Evaluate the detector on consented, de-identified images',
  options: { modifiedDates: true, cleanDescriptors: true },
  criteria: { modalities: [], from: null, to: null, labelled: null, scoreMin: null, scoreMax: null }
}

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/** Runs the chapter: `patient` is patient-1 of the story, whose password is `password`. */
export async function runResearchStory (input: {
  peers: Peer[]
  names: string[]
  admins: MedichainClient[]
  patient: MedichainClient
  password: string
  signUpResearcher: (peer: Peer, username: string) => Promise<MedichainClient>
  newClient: (peer: Peer) => MedichainClient
  say: (line: string) => void
}): Promise<void> {
  const { peers, names, admins, patient, say } = input
  const researcher = await input.signUpResearcher(peers[0], 'researcher-a')
  const research = new ResearchClient(researcher)
  const { id: project } = await research.create(PROJECT)
  await new ResearchClient(admins[0]).decide(project, true)
  await new ResearchClient(admins[1]).decide(project, false)
  say(`researcher-a proposed project "${PROJECT.title}"; ${names[0]} approved it, ${names[1]} refused it (research.decision on the ledger)`)

  await patient.grant({ grantee: researcher.user?.signPub as string, kind: 'user', purpose: 'research', expires: Date.now() + 365 * 86_400_000, project })
  const cohort = await research.cohort(project)
  const nameOf = (key: string): string => names[peers.findIndex(p => Buffer.from(p.ledger.self).toString('hex') === key)] ?? key.slice(0, 8)
  say(`patient-1 consented to this project; the cohort per hospital: ${cohort.hospitals.map(h => `${nameOf(h.hospital)} ${h.decision}, ${String(h.count)} images`).join('; ')} ` +
    '(a count under 5 reads "<5")')
  let last = 0
  const first = await research.export(project, (done, total) => { last = total > 0 ? Math.round(100 * done / total) : last })
  const second = await research.export(project)
  say(`researcher-a exported ${first.images} de-identified DICOM files as a streamed zip (${first.bytes.length} bytes, progress reached ${last} %; ` +
    `${first.held} held for a person's check); a second export is ${sha(first.bytes) === sha(second.bytes) ? 'byte-identical' : 'DIFFERENT'}`)
  const uses = await new ResearchClient(patient).myUses()
  say(`patient-1's "Research use" tab: ${uses.length} entries on the ledger, "used in research project ${uses[0]?.title ?? '?'}"`)

  const visitor = input.newClient(peers[2])
  const typed = `patient-1@${hospitalShortName(names[0])}`
  await visitor.signInAnywhere(typed, input.password)
  const images = await visitor.myImages()
  say(`patient-1 signed in at ${names[2]} as ${typed}: ${names[2]} only carried the sealed proof to ${names[0]}, ` +
    `and shows their ${images.length} images from there`)
  await visitor.signOut()
}
