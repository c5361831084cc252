// The AI result as a DICOM Segmentation (issue 13 item 5): instances C-STOREd to a peer running the
// shipped detect-strange model each get a BINARY Segmentation of one segment, "abnormal region",
// beside the Secondary Capture. dciodvfy (dicom3tools) finds no error in it; it references its
// source instance; it takes the source's Frame of Reference and plane when the source has them;
// its one frame is, bit for bit, the mask the model drew (the one in the stored result). It comes
// over DIMSE (getscu, movescu) and over WADO-RS (dicomweb-client), and is refused to callers
// without access; the peer sends Segmentations but never stores one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import dcmjs from 'dcmjs'
import dimse from 'dcmjs-dimse'
import { PNG } from 'pngjs'
import { fromHex } from '../../../protocol/bytes.ts'
import type { ApiImage, MedichainClient } from '../../../protocol/client/client.ts'
import { loadDefaultAnalyser } from '../../../node/ai/detect/default-model.ts'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { derivedUid } from '../../../node/dicom/results/ai-result.ts'
import { SEGMENT_LABEL } from '../../../node/dicom/results/ai-segmentation.ts'
import { readInstanceHeader } from '../../../node/dicom/catalogue/instance-header.ts'
import { maskBit, readResultMask } from '../../../node/imaging/derived/result-mask.ts'
import type { ResultMask } from '../../../node/imaging/derived/result-mask.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { PHI_BIRTH_DATE, PHI_NAME } from '../../helpers/imaging/images.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { dcmtk, freePort, tagOf, writeStudy } from '../../helpers/imaging/dicom.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { dicomwebClient, viewerToken } from '../../helpers/imaging/dicomweb.ts'

let A: Hospital
let dir: string
let port: number
let movePort: number
let modelCid: string
let patient: MedichainClient
let doc: MedichainClient
/** The model's mask of each source instance, by SOP Instance UID, from the stored result. */
const masks = new Map<string, ResultMask>()
const STUDY = { mrn: 'MRN-SEG-1', name: PHI_NAME, birthDate: PHI_BIRTH_DATE, uid: '2.25.7000007', series: [{ uid: '2.25.7000007.1', modality: 'CT', slices: 2 }] }
const SOURCE = (n: number): string => `${STUDY.series[0].uid}.${n}`
/** The geometry written into slice 1 only (slice 2 has none). */
const GEOMETRY = { frame: '2.25.7000007.99', position: ['-64', '-64', '12.5'], orientation: ['1', '0', '0', '0', '1', '0'] }
const segSeries = (): string => derivedUid('segmentation-series', STUDY.series[0].uid, modelCid)
const segInstance = (n: number): string => derivedUid('segmentation-instance', SOURCE(n), modelCid)

test.before(async () => {
  // dcmtk's tools call as STORESCU and GETSCU, dcmjs-dimse's SCU as SEGGET, movescu as SEGMOVE (also
  // the move destination); no other calling AE title is let in.
  movePort = await freePort()
  ;[A] = await startHospitals(1, { dicom: { allowed: [...['STORESCU', 'GETSCU', 'SEGGET'].map(aeTitle => ({ aeTitle, address: '127.0.0.1' })), { aeTitle: 'SEGMOVE', address: '127.0.0.1', port: movePort }] } })
  await initBackend({ prefer: 'wasm' })
  const shipped = await loadDefaultAnalyser()
  assert.ok(shipped !== undefined, 'the default model ships')
  modelCid = shipped.cid.toString()
  A.peer.analysers.set(shipped.analyser)
  dir = await tempDir('medichain-ai-seg-')
  port = A.peer.dicom?.address()?.port ?? 0
  patient = await user(A, 'seg-patient', 'patient')
  doc = await user(A, 'seg-doc', 'clinician')
  await A.peer.dicom?.linkPatient(STUDY.mrn, fromHex(patient.user?.patientId as string))
  const files = await writeStudy(join(dir, 'study'), STUDY)
  const g = GEOMETRY
  const modify = await dcmtk('dcmodify', ['-nb', '-i', `(0020,0052)=${g.frame}`, '-i', `(0020,0032)=${g.position.join('\\')}`, '-i', `(0020,0037)=${g.orientation.join('\\')}`, '-i', '(0028,0030)=0.5\\0.5', '-i', '(0018,0050)=2.5', files[0]])
  assert.is(modify.code, 0, modify.stderr)
  const r = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), ...files], 120_000)
  assert.is(r.code, 0, r.stderr)
  // Acknowledged from custody (the default): the intake puts them on the ledger right after.
  await A.peer.dicom?.settled()
  const images = await patient.myImages()
  assert.is(images.length, 2)
  for (const image of images) {
    assert.is(image.model, modelCid, 'the default model analysed it')
    const uid = readInstanceHeader(await patient.openImage(image, 'raw')).instance.uid
    const mask = readResultMask(await patient.openImage(image as ApiImage, 'result'))
    assert.ok(mask !== undefined, 'the stored result carries its mask')
    masks.set(uid, mask)
  }
  for (const [uid, m] of masks) assert.ok(m.bits.some(b => b !== 0), `the model flagged something in ${uid}, so its frame below is not trivially empty`)
})

test.after(async () => {
  await stopHospitals([A])
  await cleanup()
})

/** The Pixel Data of a Part 10 file, as dcmjs reads it. */
function pixelData (bytes: Uint8Array): Uint8Array {
  const file = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, { ignoreErrors: false })
  const value = file.dict['7FE00010']?.Value?.[0]
  assert.ok(value instanceof ArrayBuffer, 'pixel data present')
  return new Uint8Array(value)
}

/** A tag's value anywhere in a dcmdump listing, nested in a sequence or not (tagOf reads the top level). */
function nestedTag (dump: string, tag: string): string | undefined {
  return tagOf(dump.split('\n').map(l => l.trimStart()).join('\n'), tag)
}

/**
 * The data set of a Part 10 file as dcmdump reads it, every value in full, without the file meta
 * group and the sequences' and items' encoding (explicit or undefined lengths, which a storage SCP
 * may re-encode): two files with the same attributes and values give the same text.
 */
async function attributes (path: string): Promise<string> {
  const lines = (await dcmtk('dcmdump', ['+L', path])).stdout.split('\n').map(l => l.trim())
    .filter(l => l.startsWith('(') && !l.startsWith('(0002,') && !l.startsWith('(fffe,'))
    .map(l => l.replace(/\s+#.*$/, '').replace(/^(\([0-9a-f,]+\) SQ).*$/, '$1'))
  assert.ok(lines.some(l => l.startsWith('(7fe0,0010)')), `${path}: dcmdump printed no pixel data`)
  return lines.join('\n')
}

/** The mask's bits as a frame of Pixel Data: padded to an even length. */
function frameOfMask (mask: ResultMask): Uint8Array {
  const out = new Uint8Array(mask.bits.length + (mask.bits.length % 2))
  out.set(mask.bits)
  return out
}

let n = 0
async function outDir (): Promise<string> {
  const d = join(dir, `out-${++n}`)
  await mkdir(d)
  return d
}

/** The files in `out`, by the SOP Instance UID of the source each references. */
async function bySource (out: string): Promise<Map<string, string>> {
  const files = new Map<string, string>()
  for (const f of await readdir(out)) {
    const d = (await dcmtk('dcmdump', [join(out, f)])).stdout
    files.set(/\(0008,1155\) UI \[([0-9.]+)\]/.exec(d)?.[1] ?? '', join(out, f))
  }
  assert.is(files.size, 2, 'two segmentations came')
  return files
}

/** movescu (dcmtk) of the segmentation series to its own storage SCP: the files by source. */
async function moveSegmentations (): Promise<Map<string, string>> {
  const out = await outDir()
  const r = await dcmtk('movescu', ['-S', '-aet', 'SEGMOVE', '-aem', 'SEGMOVE', '-aec', 'MEDICHAIN', '+P', String(movePort), '-od', out,
    '-k', 'QueryRetrieveLevel=SERIES', '-k', `StudyInstanceUID=${STUDY.uid}`, '-k', `SeriesInstanceUID=${segSeries()}`, '127.0.0.1', String(port)], 60_000)
  assert.is(r.code, 0, r.stderr)
  return await bySource(out)
}

/** getscu (dcmtk) of the segmentation series: the files by source. */
async function getSegmentations (): Promise<Map<string, string>> {
  const out = await outDir()
  const r = await dcmtk('getscu', ['-S', '-aec', 'MEDICHAIN', '-od', out, '-k', 'QueryRetrieveLevel=SERIES', '-k', `StudyInstanceUID=${STUDY.uid}`, '-k', `SeriesInstanceUID=${segSeries()}`, '127.0.0.1', String(port)], 60_000)
  assert.is(r.code, 0, r.stderr)
  return await bySource(out)
}

test('C-MOVE (movescu): valid Segmentations (dciodvfy) that reference their sources and carry the model CID, with the source\'s geometry where it has one', async () => {
  const files = await moveSegmentations()
  assert.equal([...files.keys()].sort(), [SOURCE(1), SOURCE(2)], 'one per source instance')
  for (const [source, f] of files) {
    const check = await dcmtk('dciodvfy', [f])
    // dciodvfy names the IOD it checked first: without it, the tool did not run (not installed: .ci/run installs dicom3tools).
    assert.match(check.stdout + check.stderr, /^Segmentation$/m, `dciodvfy ran (${check.stderr.slice(0, 200)})`)
    const errors = (check.stdout + check.stderr).split('\n').filter(l => l.startsWith('Error'))
    assert.equal(errors, [], `dciodvfy finds no error in the segmentation of ${source}`)
    const d = (await dcmtk('dcmdump', ['+L', f])).stdout
    assert.is(tagOf(d, '0008,0016'), 'SegmentationStorage')
    assert.is(tagOf(d, '0062,0001'), 'BINARY')
    assert.is(tagOf(d, '0008,0060'), 'SEG')
    assert.is(tagOf(d, '0020,000d'), STUDY.uid, 'in the source study')
    assert.is(tagOf(d, '0010,0020'), STUDY.mrn, 'under the same patient')
    assert.is(tagOf(d, '0008,0018'), segInstance(Number(source.split('.').at(-1))), 'its UID derives from its source and the model')
    assert.ok(d.includes(`[${SEGMENT_LABEL}]`), 'one segment, "abnormal region"')
    assert.match(d, /\(0008,0100\) SH \[49755003\][\s\S]*\(0008,0100\) SH \[52988006\]/, 'category and type codes (SCT)')
    assert.ok(d.includes(`by model ${modelCid}`), 'the model CID in the derivation description')
    // The Referenced Series Sequence and the frame's Source Image Sequence both name the source.
    const refs = [...d.matchAll(/\(0008,1155\) UI \[([0-9.]+)\]/g)].map(m => m[1])
    assert.equal(refs, [source, source])
    if (source === SOURCE(1)) {
      assert.is(tagOf(d, '0020,0052'), GEOMETRY.frame, 'the source\'s Frame of Reference')
      assert.is(nestedTag(d, '0020,0032'), GEOMETRY.position.join('\\'), 'the source\'s position, in the frame\'s Plane Position')
      assert.is(nestedTag(d, '0020,0037'), GEOMETRY.orientation.join('\\'), 'and orientation, in the shared Plane Orientation')
      assert.equal([nestedTag(d, '0028,0030'), nestedTag(d, '0018,0050')], ['0.5\\0.5', '2.5'], 'its pixel spacing and slice thickness')
    } else {
      assert.is(tagOf(d, '0020,0052'), undefined, 'no Frame of Reference made up for a source without one')
      assert.is(nestedTag(d, '0020,0032'), undefined)
      assert.is(nestedTag(d, '0020,0037'), undefined)
    }
  }
})

test('its one frame is, bit for bit, the mask the model drew for that instance; C-GET brings the same objects', async () => {
  const files = await moveSegmentations()
  const got = await getSegmentations()
  for (const [source, f] of files) {
    assert.is(await attributes(got.get(source) as string), await attributes(f), 'C-GET and C-MOVE bring the same data set')
    const mask = masks.get(source)
    assert.ok(mask !== undefined)
    const d = (await dcmtk('dcmdump', [f])).stdout
    assert.equal([tagOf(d, '0028,0010'), tagOf(d, '0028,0011'), tagOf(d, '0028,0008')], ['64', '64', '1'])
    assert.equal(pixelData(new Uint8Array(await readFile(f))), frameOfMask(mask))
  }
  // The two phantoms differ, so their masks do: each frame is its own instance's.
  assert.not.equal(frameOfMask(masks.get(SOURCE(1)) as ResultMask), frameOfMask(masks.get(SOURCE(2)) as ResultMask))
})

test('over DICOMweb: found by QIDO-RS, retrieved by WADO-RS (instance, frame, rendered) as the same object, each read logged', async () => {
  const web = dicomwebClient(A.url, (await viewerToken(doc)).token)
  const series = await web.searchForSeries({ studyInstanceUID: STUDY.uid })
  assert.equal(series.map(s => s['00080060']?.Value?.[0]).sort(), ['CT', 'OT', 'SEG'], 'source, Secondary Capture and Segmentation series')
  const ids = { studyInstanceUID: STUDY.uid, seriesInstanceUID: segSeries(), sopInstanceUID: segInstance(1) }
  const pid = fromHex(patient.user?.patientId as string)
  const before = (await A.peer.ledger.queries.auditOf(pid)).filter(e => e.use === 'open').length
  const got = new Uint8Array(await web.retrieveInstance(ids))
  const viaWeb = join(await outDir(), 'seg.dcm')
  await writeFile(viaWeb, got)
  assert.is(await attributes(viaWeb), await attributes((await moveSegmentations()).get(SOURCE(1)) as string), 'the same data set as over DIMSE')
  const mask = masks.get(SOURCE(1)) as ResultMask
  const [frame] = await web.retrieveInstanceFrames({ ...ids, frameNumbers: [1] })
  assert.equal(new Uint8Array(frame), mask.bits, 'the frame is the mask\'s bits')
  const rendered = await web.retrieveInstanceRendered({ ...ids, mediaTypes: [{ mediaType: 'image/png' }] })
  const png = PNG.sync.read(Buffer.from(Array.isArray(rendered) ? rendered[0] : rendered))
  for (let i = 0; i < 64 * 64; i++) assert.is(png.data[i * 4] === 255, maskBit(mask, i), `rendered pixel ${i}`)
  const after = (await A.peer.ledger.queries.auditOf(pid)).filter(e => e.use === 'open')
  assert.ok(after.length >= before + 3, `each WADO read is an opening on the ledger (${after.length - before})`)
  assert.ok(after.slice(before).every(e => e.accessor !== undefined && e.image !== null && e.basis === 'custodian'))
})

test('a Segmentation is sent, never stored: C-STORE of one is refused with 0122 (SOP class not supported)', async () => {
  const [, f] = [...(await getSegmentations()).entries()][0]
  const client = new dimse.Client()
  // The context is accepted only beside a C-GET, as a C-GET caller proposes it: one (of a study
  // that does not exist) goes first on the same association.
  client.addRequest(dimse.requests.CGetRequest.createStudyGetRequest('2.25.424242'))
  const store = new dimse.requests.CStoreRequest(f)
  const status = new Promise<number>(resolve => store.on('response', (r: { getStatus: () => number }) => resolve(r.getStatus())))
  client.addRequest(store)
  await withTimeout(new Promise<void>((resolve, reject) => {
    client.on('closed', () => resolve())
    client.on('networkError', reject)
    client.on('associationRejected', () => reject(new Error('association rejected')))
    client.send('127.0.0.1', port, 'SEGGET', 'MEDICHAIN')
  }), 60_000, 'C-STORE')
  assert.is(await withTimeout(status, 1000, 'C-STORE answer'), 0x0122)
  assert.is((await patient.myImages()).length, 2, 'nothing new stored')
  // Without a C-GET beside it, the storage context itself is refused: storescu cannot send one.
  const r = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), f], 60_000)
  assert.ok(r.code !== 0 || /no presentation context|not supported|reject/i.test(r.stderr), r.stderr)
})

test('refused to callers without access: no credentials, a token for another study, a patient, an AE title not allowed', async () => {
  const path = `/dicomweb/studies/${STUDY.uid}/series/${segSeries()}/instances/${segInstance(1)}`
  const anonymous = await fetch(`${A.url}${path}`)
  assert.is(anonymous.status, 401)
  const narrow = (await viewerToken(doc, { study: '2.25.424242' })).token
  assert.is((await fetch(`${A.url}${path}`, { headers: { Authorization: `Bearer ${narrow}` } })).status, 403)
  assert.is((await patient.request('GET', path).then(() => 200, (err: { status?: number }) => err.status)), 403)
  // Over DIMSE: a calling AE title the peer does not allow is refused at association.
  const out = await outDir()
  const r = await dcmtk('getscu', ['-S', '-aet', 'INTRUDER', '-aec', 'MEDICHAIN', '-od', out, '-k', 'QueryRetrieveLevel=SERIES', '-k', `StudyInstanceUID=${STUDY.uid}`, '-k', `SeriesInstanceUID=${segSeries()}`, '127.0.0.1', String(port)], 60_000)
  assert.match(r.stderr + r.stdout, /reject/i, 'association rejected')
  assert.equal(await readdir(out), [], 'nothing retrieved')
})

test.run()
