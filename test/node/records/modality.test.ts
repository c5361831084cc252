// A free-text Modality never reaches the replicated ledger or gossip (issue 11.10): a clinician
// uploads a DICOM whose Modality is a well-formed code string but no defined term, and the image
// is recorded as OT on every peer, with the text nowhere in ledger bytes or captured gossip.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { waitFor } from '../../helpers/timeout.ts'

const PROBE = 'ZZPHIMODALITY'
let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

test('an uploaded DICOM with a free-text Modality is recorded as OT everywhere', async () => {
  hospitals = await startHospitals(2)
  const [A, B] = hospitals
  const gossip: Uint8Array[] = []
  for (const h of hospitals) h.peer.p2p.libp2p.services.pubsub.addEventListener('message', (e) => { gossip.push(e.detail.data) })
  const patient = await user(A, 'modality-patient', 'patient')
  const doc = await user(A, 'modality-doc', 'clinician')
  const file = encodeDicom({
    rows: 8, columns: 8, bitsAllocated: 16, bitsStored: 12, pixels: new Uint16Array(64).fill(300), modality: PROBE,
    sopInstanceUid: '2.25.901', studyInstanceUid: '2.25.902', seriesInstanceUid: '2.25.903'
  })
  const uploaded = await doc.upload(patient.user?.patientId as string, file, 'odd.dcm')
  assert.is(uploaded.modality, 'OT')
  await waitFor(() => B.peer.ledger.size() === A.peer.ledger.size(), { timeout: 10_000, what: 'the image.add at B' })
  const [image] = await patient.myImages()
  assert.is(image.modality, 'OT')
  assert.ok(gossip.length > 0, 'gossip was captured')
  const probe = Buffer.from(PROBE, 'latin1')
  for (const h of hospitals) {
    for (const block of await h.peer.ledger.blocksAfter([], 100_000)) assert.is(Buffer.from(block).indexOf(probe), -1, `a ledger block at ${h.name}`)
  }
  for (const msg of gossip) assert.is(Buffer.from(msg).indexOf(probe), -1, 'a gossip message')
})

test.run()
