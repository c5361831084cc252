// No PHI leaves the encrypted file (docs/design.md §5, issue 3): a DICOM with a known name, birth date and
// MRN is uploaded and read across hospitals; then every ledger byte on every peer, every gossip
// message captured on the wire, and every log line are scanned for those values. The image cards
// (issue 12) are probed too: the file names, a typed description and date, and the study date and
// descriptions a DICOM header gives are sealed beside the image, and never in clear.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Writable } from 'node:stream'
import { createLogger } from '../../../node/logger.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { PHI_BIRTH_DATE, PHI_NAME, SERIES_DESCRIPTION, STUDY_DATE, STUDY_DESCRIPTION, testImages } from '../../helpers/imaging/images.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { waitFor } from '../../helpers/timeout.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

const CARD = { name: 'PHI-FILENAME-QX7.png', description: 'PHI-DESCRIPTION-QX7 fell off a ladder', date: '1999-09-09' }
const PROBES = [PHI_NAME, PHI_BIRTH_DATE, 'MRN-0042', 'SECRET', 'QX7', CARD.date, STUDY_DATE, STUDY_DESCRIPTION, SERIES_DESCRIPTION]

function containsAny (haystack: Uint8Array, label: string): void {
  const buf = Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength)
  for (const probe of PROBES) assert.is(buf.indexOf(probe, 0, 'latin1'), -1, `${label} contains ${probe}`)
}

test('no name, birth date or patient id in ledger bytes, gossip or logs', async () => {
  const lines: string[] = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { lines.push(chunk.toString('utf8')); done() } })
  const logger = createLogger({ level: 'debug', destination: sink })
  hospitals = await startHospitals(3, { logger })
  const gossip: Uint8Array[] = []
  for (const h of hospitals) {
    h.peer.p2p.libp2p.services.pubsub.addEventListener('message', (e) => { gossip.push(e.detail.data) })
  }
  const [A, B] = hospitals
  const patient = await user(A, 'zelda-quist', 'patient')
  const pid = patient.user?.patientId as string
  const docA = await user(A, 'doc-a', 'clinician')
  const docB = await user(B, 'doc-b', 'clinician')
  const files = testImages()
  await docA.upload(pid, files.dicom, 'SYNTH^SECRET^NAME.dcm')
  await docA.upload(pid, files.png, CARD.name, { description: CARD.description, date: CARD.date })
  const mine = (await patient.myImages()).find(i => i.modality === 'CT')
  assert.ok(mine !== undefined)
  const cards = await Promise.all((await patient.myImages()).map(async i => await patient.imageCard(i)))
  assert.equal(cards.map(c => c?.name).sort(), [CARD.name, 'SYNTH^SECRET^NAME.dcm'], 'the cards hold the names, sealed')
  assert.ok(cards.some(c => c?.description === STUDY_DESCRIPTION + ' — ' + SERIES_DESCRIPTION), 'and the DICOM descriptions')
  assert.equal(await patient.openImage(mine), files.dicom, 'the DICOM itself still carries its tags, encrypted')
  const grant = await patient.grant({ grantee: docB.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: Date.now() + 60_000 })
  await waitFor(async () => await B.peer.ledger.tx(Buffer.from(grant.id, 'hex')) !== undefined, { timeout: 10_000, what: 'the consent at B' })
  const atB = (await docB.patientImages(pid)).find(i => i.modality === 'CT')
  assert.ok(atB !== undefined)
  assert.equal(await docB.openImage(atB), files.dicom)
  for (const image of await docB.patientImages(pid)) assert.ok((await docB.imageCard(image))?.thumbnail !== undefined, 'B opened a card fetched over bitswap')
  await waitFor(() => hospitals.every(h => h.peer.ledger.size() === A.peer.ledger.size()), { timeout: 10_000, what: 'ledgers to converge' })

  assert.ok(gossip.length > 0, 'gossip was captured')
  for (const h of hospitals) {
    for (const block of await h.peer.ledger.blocksAfter([], 100_000)) containsAny(block, `a ledger block at ${h.name}`)
    containsAny(new TextEncoder().encode(JSON.stringify(await h.peer.ledger.evidence())), 'evidence')
  }
  for (const [i, msg] of gossip.entries()) containsAny(msg, `gossip message ${i}`)
  assert.ok(lines.length > 10, 'logs were captured')
  containsAny(new TextEncoder().encode(lines.join('')), 'the log')
  for (const line of lines) assert.not.match(line, patient.user?.username as string, 'no username in logs')
})

test.run()
