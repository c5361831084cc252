// Labels of other hospitals' images in a research export, across three real peers (docs/design.md
// §10): A is the researcher's home, B approves the project, C refuses it. The export's manifest
// carries B's lesion counts, asked of B over /medichain/research-labels/1.0.0, beside A's own;
// "labelled" and "unlabelled" criteria now hold for B's images too. B tells only of images in the
// consented cohort: not of a patient without a consent, not to a hospital other than the
// researcher's, not of a project B refused (C), and not after the patient revokes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import { fromHex, toHex } from '../../protocol/bytes.ts'
import type { MedichainClient } from '../../protocol/client/client.ts'
import { ResearchClient } from '../../protocol/client/research.ts'
import { encodePng } from '../../node/imaging/raster/encode.ts'
import { cleanup } from '../helpers/ledger/fixture.ts'
import { untilLedger } from '../helpers/ledger/until.ts'
import { startHospitals, stopHospitals, user } from '../helpers/peers/peers.ts'
import type { Hospital } from '../helpers/peers/peers.ts'
import { unzip } from '../helpers/unzip.ts'
import { phiDicom } from './deid-fixture.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

const YEAR = 365 * 86_400_000
const SIZE = 32
const CRITERIA = { modalities: [], from: null, to: null, labelled: null, scoreMin: null, scoreMax: null }
const PROJECT = { title: 'Labels across hospitals', purpose: 'Check labels travel as counts', options: { modifiedDates: true, cleanDescriptors: true }, criteria: CRITERIA }

/** A mask with `lesion` pixels set, as the PNG a clinician sends. */
function mask (lesion: number): Uint8Array {
  return encodePng(new Uint8Array(SIZE * SIZE).map((_, i) => i < lesion ? 255 : 0), SIZE, SIZE)
}

let n = 0
async function upload (doc: MedichainClient, patient: MedichainClient): Promise<string> {
  n++
  const bytes = phiDicom({ sopUid: `1.2.826.0.1.3680043.8.498.${6000 + n}`, name: `LABEL^P${n}`, mrn: `MRN66${n}`, rows: SIZE, columns: SIZE })
  return String((await doc.upload(String(patient.user?.patientId), bytes, `l${n}.dcm`) as { raw?: string }).raw)
}

interface Row { pseudonym: string, labelLesionPixels: number | null }

async function manifestOf (bytes: Uint8Array): Promise<Row[]> {
  const zip = await unzip(bytes)
  return (JSON.parse((await zip.read('manifest.json')).toString('utf8')) as { files: Row[] }).files
}

const sorted = (rows: Row[]): Array<number | null> => rows.map(r => r.labelLesionPixels).sort((a, b) => (a ?? -1) - (b ?? -1))

test('the manifest carries other hospitals\' labels of consented images, and only those are told', async () => {
  hospitals = await startHospitals(3)
  const [A, B, C] = hospitals
  const researcher = await user(A, 'res-l', 'researcher')
  const [docA, docB, docC] = await Promise.all([user(A, 'doc-la', 'clinician'), user(B, 'doc-lb', 'clinician'), user(C, 'doc-lc', 'clinician')])
  const consenting = await user(A, 'pat-l1', 'patient')
  const withheld = await user(A, 'pat-l2', 'patient')
  const unlabelled = await user(A, 'pat-l3', 'patient')

  const atA = await upload(docA, consenting)
  const atB = await upload(docB, consenting)
  const atC = await upload(docC, consenting)
  const withheldAtB = await upload(docB, withheld)
  const unlabelledAtB = await upload(docB, unlabelled)
  await docA.putLabel(atA, mask(100), 'train')
  await docB.putLabel(atB, mask(200), 'train')
  await docC.putLabel(atC, mask(300), 'train')
  await docB.putLabel(withheldAtB, mask(400), 'train')

  const research = new ResearchClient(researcher)
  const { id: project } = await research.create(PROJECT)
  const { id: onlyLabelled } = await research.create({ ...PROJECT, title: 'Only labelled', criteria: { ...CRITERIA, labelled: true } })
  const { id: onlyUnlabelled } = await research.create({ ...PROJECT, title: 'Only unlabelled', criteria: { ...CRITERIA, labelled: false } })
  for (const p of [project, onlyLabelled, onlyUnlabelled]) {
    await new ResearchClient(A.admin).decide(p, true)
    await new ResearchClient(B.admin).decide(p, true)
    await new ResearchClient(C.admin).decide(p, false)
  }
  for (const h of [A, B]) {
    await untilLedger(h.peer.ledger, async () => (await h.peer.ledger.queries.decisions(fromHex(onlyUnlabelled))).length === 3, `every decision reaches ${h.name}`, 30_000)
  }
  for (const p of [consenting, unlabelled]) {
    await untilLedger(A.peer.ledger, async () => (await A.peer.ledger.queries.imagesOf(fromHex(String(p.user?.patientId)))).length === (p === consenting ? 3 : 1), 'the images reach A', 30_000)
    const { id } = await p.grant({ grantee: String(researcher.user?.signPub), kind: 'user', purpose: 'research', expires: Date.now() + YEAR })
    await untilLedger(B.peer.ledger, async () => await B.peer.ledger.tx(fromHex(id)) !== undefined, 'the consent reaches B', 30_000)
  }

  // Every label of the cohort: A's own, B's asked of B; C refused, the withheld patient never consented.
  const first = await research.export(project)
  assert.is(first.images, 3, 'A\'s and B\'s images of the consenting patient, and the unlabelled one at B')
  assert.equal(sorted(await manifestOf(first.bytes)), [null, 100, 200])
  const second = await research.export(project)
  assert.equal(second.bytes, first.bytes, 'byte-identical with the labels of another hospital in it')
  assert.is(second.exportId, first.exportId)

  // The labelled criterion now holds for B's images too.
  assert.equal(sorted(await manifestOf((await research.export(onlyLabelled)).bytes)), [100, 200])
  assert.equal(sorted(await manifestOf((await research.export(onlyUnlabelled)).bytes)), [null])

  // B tells A of the consented images only; C (not the researcher's hospital) hears nothing from B,
  // and C, which refused, tells A nothing.
  const ask = async (from: Hospital, to: Hospital, cids: string[], p = project): Promise<Record<string, number | null>> =>
    Object.fromEntries(await from.peer.researchLabels.ask(to.peer.ledger.self, fromHex(p), cids.map(c => CID.parse(c))))
  assert.equal(await ask(A, B, [atB, withheldAtB, unlabelledAtB, atA]), { [atB]: 200, [unlabelledAtB]: null }, 'no label of a patient without a consent, nor of another hospital\'s image')
  assert.equal(await ask(C, B, [atB]), {}, 'only the researcher\'s home hospital is told')
  assert.equal(await ask(A, C, [atC]), {}, 'a hospital that refused the project tells nothing')
  assert.equal(await ask(A, B, [atB], toHex(new Uint8Array(32))), {}, 'an unknown project')

  // A revoke ends it: B no longer tells, and the label leaves the next export with the image.
  const mine = await consenting.myConsents()
  const revoked = await consenting.revoke(String(mine.consents.find(c => c.purpose === 'research')?.id), String(researcher.user?.signPub), 'research')
  await untilLedger(B.peer.ledger, async () => await B.peer.ledger.tx(fromHex(revoked.id)) !== undefined, 'the revoke reaches B', 30_000)
  assert.equal(await ask(A, B, [atB]), {}, 'revoked: B tells nothing')
  await untilLedger(A.peer.ledger, async () => await A.peer.ledger.tx(fromHex(revoked.id)) !== undefined, 'the revoke reaches A', 30_000)
  assert.equal(sorted(await manifestOf((await research.export(project)).bytes)), [null])
})

test.run()
