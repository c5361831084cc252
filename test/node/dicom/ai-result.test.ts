// The AI result as a DICOM object (issue 13 item 5): an instance C-STOREd to a peer with a model
// deployed has a detect-strange result; over DIMSE it is a Secondary Capture in a series of its
// own in the same study, found by C-FIND, retrieved by C-GET and C-MOVE, that references its
// source instance and carries the model's CID, with the result image's pixels. The same object
// (same UIDs) comes back every time; its read is logged like any other. The Segmentation beside
// it is ai-segmentation.test.ts's.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { PNG } from 'pngjs'
import { fromHex } from '../../../protocol/bytes.ts'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { createDetectStrange } from '../../../node/ai/detect/detect.ts'
import { createModel, serializeWeights } from '../../../node/ai/model/model.ts'
import { RESULT_SERIES_DESCRIPTION, derivedUid } from '../../../node/dicom/results/ai-result.ts'
import { SEGMENTATION_SERIES_DESCRIPTION } from '../../../node/dicom/results/ai-segmentation.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { PHI_BIRTH_DATE, PHI_NAME } from '../../helpers/imaging/images.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { dcmtk, freePort, tagOf, writeStudy } from '../../helpers/imaging/dicom.ts'

let A: Hospital
let dir: string
let port: number
let movePort: number
let modelCid: string
const STUDY = { mrn: 'MRN-AI-1', name: PHI_NAME, birthDate: PHI_BIRTH_DATE, uid: '2.25.6000006', series: [{ uid: '2.25.6000006.1', modality: 'CT', slices: 2 }] }

test.before(async () => {
  movePort = await freePort()
  ;[A] = await startHospitals(1, { dicom: { allowed: [{ address: '127.0.0.1' }, { aeTitle: 'AIMOVE', address: '127.0.0.1', port: movePort }] } })
  await initBackend({ prefer: 'wasm' })
  const model = createModel(5, { inputSize: 32, base: 4, depth: 2 })
  const cid = CID.create(1, raw.code, await sha256.digest(serializeWeights(model)))
  modelCid = cid.toString()
  A.peer.analysers.set(createDetectStrange({ model, modelCid: cid }))
  dir = await tempDir('medichain-ai-result-')
  port = A.peer.dicom?.address()?.port ?? 0
  const patient = await user(A, 'ai-patient', 'patient')
  await A.peer.dicom?.linkPatient(STUDY.mrn, fromHex(patient.user?.patientId as string))
  const files = await writeStudy(join(dir, 'study'), STUDY)
  const r = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), ...files], 120_000)
  assert.is(r.code, 0, r.stderr)
  // Acknowledged from custody (the default): the intake puts them on the ledger right after.
  await A.peer.dicom?.settled()
  const images = await patient.myImages()
  assert.is(images.length, 2)
  assert.ok(images.every(i => i.result !== null && i.model === modelCid), 'the model analysed both instances')
})

test.after(async () => {
  await stopHospitals([A])
  await cleanup()
})

let n = 0
async function outDir (): Promise<string> {
  const d = join(dir, `out-${++n}`)
  await mkdir(d)
  return d
}

test('C-FIND lists the result series and the segmentation series beside their source, with their own UIDs', async () => {
  const out = await outDir()
  const r = await dcmtk('findscu', ['-S', '-aec', 'MEDICHAIN', '-X', '-od', out, '-k', 'QueryRetrieveLevel=SERIES', '-k', `StudyInstanceUID=${STUDY.uid}`, '-k', 'SeriesInstanceUID', '-k', 'Modality', '-k', 'SeriesDescription', '-k', 'NumberOfSeriesRelatedInstances', '127.0.0.1', String(port)])
  assert.is(r.code, 0, r.stderr)
  const dumps = await Promise.all((await readdir(out)).map(async f => (await dcmtk('dcmdump', [join(out, f)])).stdout))
  const rows = dumps.map(d => [tagOf(d, '0020,000e'), tagOf(d, '0008,0060'), tagOf(d, '0008,103e') ?? '', tagOf(d, '0020,1209')]).sort((a, b) => String(a[1]).localeCompare(String(b[1])))
  assert.equal(rows, [
    [STUDY.series[0].uid, 'CT', '', '2'],
    [derivedUid('result-series', STUDY.series[0].uid, modelCid), 'OT', RESULT_SERIES_DESCRIPTION, '2'],
    [derivedUid('segmentation-series', STUDY.series[0].uid, modelCid), 'SEG', SEGMENTATION_SERIES_DESCRIPTION, '2']
  ])
})

test('C-GET of the result series: Secondary Captures that reference their sources and carry the model CID', async () => {
  const seriesUid = derivedUid('result-series', STUDY.series[0].uid, modelCid)
  const get = async (): Promise<string[]> => {
    const out = await outDir()
    const r = await dcmtk('getscu', ['-S', '-aec', 'MEDICHAIN', '-od', out, '-k', 'QueryRetrieveLevel=SERIES', '-k', `StudyInstanceUID=${STUDY.uid}`, '-k', `SeriesInstanceUID=${seriesUid}`, '127.0.0.1', String(port)], 60_000)
    assert.is(r.code, 0, r.stderr)
    return (await readdir(out)).map(f => join(out, f))
  }
  const files = await get()
  assert.is(files.length, 2)
  const sources = new Set<string>()
  for (const f of files) {
    const d = (await dcmtk('dcmdump', ['+L', f])).stdout
    assert.is(tagOf(d, '0008,0016'), 'SecondaryCaptureImageStorage', 'Secondary Capture')
    assert.is(tagOf(d, '0020,000d'), STUDY.uid, 'in the source study')
    assert.is(tagOf(d, '0020,000e'), seriesUid)
    assert.is(tagOf(d, '0010,0020'), STUDY.mrn, 'filed under the same patient')
    assert.is(tagOf(d, '0028,0004'), 'RGB')
    assert.match(d, new RegExp(`\\(0008,2111\\) ST \\[detect-strange overlay by model ${modelCid}\\]`))
    const ref = /\(0008,1155\) UI \[([0-9.]+)\]/.exec(d)?.[1] ?? ''
    sources.add(ref)
    assert.is(tagOf(d, '0008,0018'), derivedUid('result-instance', ref, modelCid), 'its UID derives from its source and the model')
    // dcmtk itself validates and renders it.
    const png = `${f}.png`
    const render = await dcmtk('dcm2pnm', ['+on', f, png])
    assert.is(render.code, 0, render.stderr)
    const image = PNG.sync.read(await readFile(png))
    assert.is(image.width, 64)
  }
  assert.equal([...sources].sort(), [`${STUDY.series[0].uid}.1`, `${STUDY.series[0].uid}.2`], 'each references its own source instance')
  // Retrieved again: the same objects.
  const again = await get()
  const uids = async (fs: string[]): Promise<string[]> => (await Promise.all(fs.map(async f => tagOf((await dcmtk('dcmdump', [f])).stdout, '0008,0018') ?? ''))).sort()
  assert.equal(await uids(again), await uids(files))
})

test('C-MOVE of the whole study sends the sources, the results and their segmentations', async () => {
  const out = await outDir()
  const r = await dcmtk('movescu', ['-S', '-aet', 'AIMOVE', '-aem', 'AIMOVE', '-aec', 'MEDICHAIN', '+P', String(movePort), '-od', out,
    '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${STUDY.uid}`, '127.0.0.1', String(port)], 120_000)
  assert.is(r.code, 0, r.stderr)
  const classes = await Promise.all((await readdir(out)).map(async f => tagOf((await dcmtk('dcmdump', [join(out, f)])).stdout, '0008,0016')))
  assert.is(classes.length, 6)
  assert.is(classes.filter(c => c === 'SecondaryCaptureImageStorage').length, 2)
  assert.is(classes.filter(c => c === 'SegmentationStorage').length, 2)
})

test.run()
