// "No images" and "none open to you" answer alike (NO_CONSENT) for a patient with more images than
// one chunk of the listing's index scan (node/records/reads.ts LIST_CHUNK, 128): a clinician at
// another hospital without a consent learns nothing from the answer, however many images there are.
import { test } from 'uvu'
import { createHash } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as digestOf } from 'multiformats/hashes/digest'
import { fromHex } from '../../../protocol/bytes.ts'
import { wrapKey } from '../../../protocol/crypto/key-wrap.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'

/** More than one chunk of the listing's scan (a page of 10 reads the index 128 at a time). */
const IMAGES = 140

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

test('a patient with more images than one scan chunk, none open to the reader, answers NO_CONSENT', async () => {
  hospitals = await startHospitals(2)
  const [A, B] = hospitals
  const patient = await user(A, 'many-patient', 'patient')
  const pid = fromHex(patient.user?.patientId as string)
  const account = await A.peer.ledger.queries.patientAccount(pid)
  if (account === undefined) throw new Error('the patient is not registered')
  const docB = await user(B, 'far-doc', 'clinician')
  const few = await user(A, 'few-patient', 'patient')
  // Image records only (the listing reads the ledger, not the bytes): one burst, one group commit.
  await Promise.all(Array.from({ length: IMAGES }, async (_, n) => {
    const cid = CID.create(1, raw.code, digestOf(0x12, createHash('sha256').update(`closed image ${n}`).digest()))
    await A.peer.ledger.submitOwn('image.add', {
      patient: pid, record: null, raw: cid, result: null, modality: 'CR', size: 10, model: null, score: null,
      keys: [{ to: account.box, raw: wrapKey(new Uint8Array(32).fill(1), account.box), result: null }]
    })
  }))
  await untilLedger(B.peer.ledger, async () => (await B.peer.ledger.queries.imagesOf(pid)).length === IMAGES, `B to hold the ${IMAGES} image records`, 60_000)
  // A small page makes the scan read the index chunk by chunk (a page of 500 would read it in one).
  await rejects(async () => await docB.request('GET', `/api/patients/${patient.user?.patientId as string}/images?limit=10`), 'NO_CONSENT')
  await rejects(async () => await docB.patientImages(patient.user?.patientId as string), 'NO_CONSENT')
  // The same answer as for a patient with no image at all.
  await rejects(async () => await docB.request('GET', `/api/patients/${few.user?.patientId as string}/images?limit=10`), 'NO_CONSENT')
})

test.run()
