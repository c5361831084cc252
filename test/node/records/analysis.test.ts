// An upload analysed end to end: with a detect-strange model in the peer's slot, the decode worker
// prepares the model input off the main thread and the result is the one the main thread's own
// preprocessing gives, stamped with the model's CID.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { createDetectStrange } from '../../../node/ai/detect/detect.ts'
import { createModel, serializeWeights } from '../../../node/ai/model/model.ts'
import { loadImage } from '../../../node/imaging/load.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

test('an upload is analysed with the model input prepared in the decode worker', async () => {
  hospitals = await startHospitals(1)
  const [A] = hospitals
  const model = createModel(3, { inputSize: 32, base: 4, depth: 2 })
  try {
    const modelCid = CID.create(1, raw.code, await sha256.digest(serializeWeights(model)))
    const analyser = createDetectStrange({ model, modelCid })
    A.peer.analysers.set(analyser)
    const patient = await user(A, 'analysis-patient', 'patient')
    const doc = await user(A, 'analysis-doc', 'clinician')
    const { png } = testImages(11)
    const up = await doc.upload(patient.user?.patientId as string, png, 'scan.png')
    assert.is(up.analysed, true)
    assert.is(up.model, modelCid.toString())
    const local = await analyser.analyse(loadImage(png))
    assert.is(up.score, local.score, 'the same score as preprocessing on the main thread')
    assert.equal(up.boxes, local.boxes)
  } finally {
    model.dispose()
  }
})

test.run()
