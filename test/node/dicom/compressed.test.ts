// Compressed C-STORE against dcmtk (issue 13 item 1): instances dcmcjpeg and dcmcjpls made from
// the synthetic study, sent by storescu proposing JPEG Lossless (-xs), JPEG-LS lossless (-xt) and
// JPEG Baseline (-xy), are accepted, stored as received, analysed from their decoded first frame
// (exactly the original's pixels for the lossless syntaxes), retrieved unchanged by getscu that
// proposes their syntax and refused (a failed sub-operation) to one that takes only native data,
// served by WADO-RS as stored, as a decoded native frame and rendered. A corrupt JPEG-LS stream
// is refused by the intake, and the listener keeps serving.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import dicomParser from 'dicom-parser'
import { fromHex } from '../../../protocol/bytes.ts'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { createDetectStrange } from '../../../node/ai/detect/detect.ts'
import { createModel, serializeWeights } from '../../../node/ai/model/model.ts'
import { SOP_CLASS, TS } from '../../../node/imaging/constants.ts'
import { loadCodecs } from '../../../node/imaging/dicom/codecs.ts'
import { readTransferSyntax } from '../../../node/imaging/dicom/header.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import { loadImage } from '../../../node/imaging/load.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { PHI_BIRTH_DATE, PHI_NAME } from '../../helpers/imaging/images.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { dataSetDump, dcmtk, freePort, writeStudy } from '../../helpers/imaging/dicom.ts'
import { dicomwebClient, viewerToken } from '../../helpers/imaging/dicomweb.ts'
import { codecsPresent } from '../../helpers/imaging/codecs.ts'

let A: Hospital
let dir: string
let port: number
let movePort: number
let patient: Awaited<ReturnType<typeof user>>
const STUDY = { mrn: 'MRN-JPEG-1', name: PHI_NAME, birthDate: PHI_BIRTH_DATE, uid: '2.25.7100001', series: [{ uid: '2.25.7100001.1', modality: 'CT', slices: 3 }] }
const BASELINE_SERIES = '2.25.7100001.2'
const BASELINE_UID = `${BASELINE_SERIES}.1`
const uidOf = (n: number): string => `${STUDY.series[0].uid}.${n}`
/** Originals (uncompressed) and what was sent, by SOP Instance UID. */
const originals = new Map<string, string>()
const sent = new Map<string, string>()

async function run (tool: string, args: string[]): Promise<void> {
  const r = await dcmtk(tool, args)
  assert.is(r.code, 0, `${tool} ${args.join(' ')}: ${r.stderr}`)
}

const store = async (args: string[], path: string): Promise<{ code: number, stderr: string }> =>
  await dcmtk('storescu', [...args, '-aec', 'MEDICHAIN', '127.0.0.1', String(port), path])

if (await codecsPresent('dicom-compressed')) {
  test.before(async () => {
    await loadCodecs()
    movePort = await freePort()
    ;[A] = await startHospitals(1, { dicom: { allowed: [{ address: '127.0.0.1' }, { aeTitle: 'JPEGMOVE', address: '127.0.0.1', port: movePort }] } })
    await initBackend({ prefer: 'wasm' })
    const model = createModel(5, { inputSize: 32, base: 4, depth: 2 })
    A.peer.analysers.set(createDetectStrange({ model, modelCid: CID.create(1, raw.code, await sha256.digest(serializeWeights(model))) }))
    dir = await tempDir('medichain-dicom-jpeg-')
    port = A.peer.dicom?.address()?.port ?? 0
    patient = await user(A, 'jpeg-patient', 'patient')
    await A.peer.dicom?.linkPatient(STUDY.mrn, fromHex(patient.user?.patientId as string))
    const files = await writeStudy(join(dir, 'study'), STUDY)
    files.forEach((f, i) => originals.set(uidOf(i + 1), f))
    sent.set(uidOf(1), join(dir, 'sv1.dcm'))
    sent.set(uidOf(2), join(dir, 'jls.dcm'))
    await run('dcmcjpeg', [files[0], join(dir, 'sv1.dcm')])
    await run('dcmcjpls', [files[1], join(dir, 'jls.dcm')])
    await run('dcmcjpls', [files[2], join(dir, 'corrupt.dcm')])
    // JPEG Baseline is 8-bit: a Secondary Capture of the same study with an 8-bit ramp.
    const eight = join(dir, 'eight.dcm')
    await writeFile(eight, encodeDicom({
      rows: 64, columns: 64, bitsAllocated: 8, pixels: Uint8Array.from({ length: 64 * 64 }, (_, i) => 20 + (i % 64) + (i >> 6)), modality: 'OT', sopClassUid: SOP_CLASS.secondaryCapture,
      sopInstanceUid: BASELINE_UID, studyInstanceUid: STUDY.uid, seriesInstanceUid: BASELINE_SERIES, seriesNumber: 2, instanceNumber: 1, study: { date: '20261201', description: 'SYNTH STUDY' }, patient: { name: PHI_NAME, id: STUDY.mrn, birthDate: PHI_BIRTH_DATE }
    }))
    originals.set(BASELINE_UID, eight)
    sent.set(BASELINE_UID, join(dir, 'baseline.dcm'))
    // +un: the SOP Instance UID stays (dcmcjpeg gives lossy output a new one by default).
    await run('dcmcjpeg', ['+eb', '+q', '95', '+sr', '+un', eight, join(dir, 'baseline.dcm')])
  })

  test.after(async () => {
    await stopHospitals([A])
    await cleanup()
  })

  test('storescu -xs, -xt, -xy: stored as received, analysed, the lossless frames decode to the original pixels', async () => {
    for (const [args, uid] of [[['-xs'], uidOf(1)], [['-xt'], uidOf(2)], [['-xy'], BASELINE_UID]] as const) {
      const r = await store([...args], sent.get(uid) ?? '')
      assert.is(r.code, 0, `storescu ${args.join(' ')}: ${r.stderr}`)
    }
    // C-STORE answers from custody: the intake puts them on the ledger right after.
    await A.peer.dicom?.settled()
    const images = await patient.myImages()
    assert.is(images.length, 3)
    assert.ok(images.every(i => i.result !== null), 'the model analysed every compressed instance')
    const expected = new Map([[TS.jpegLosslessSV1, uidOf(1)], [TS.jpegLsLossless, uidOf(2)], [TS.jpegBaseline, BASELINE_UID]])
    for (const image of images) {
      const bytes = await patient.openImage(image)
      const ts = readTransferSyntax(bytes)
      const uid = expected.get(ts as never)
      if (uid === undefined) throw new Error(`stored in ${ts}`)
      const stored = join(dir, `stored-${uid}.dcm`)
      await writeFile(stored, bytes)
      assert.is(await dataSetDump(stored), await dataSetDump(sent.get(uid) ?? ''), `${uid}: the data set as sent`)
      const decoded = loadImage(bytes)
      const original = loadImage(await readFile(originals.get(uid) ?? ''))
      assert.equal([decoded.width, decoded.height], [64, 64])
      if (ts === TS.jpegBaseline) decoded.pixels.forEach((v, i) => { if (Math.abs(v - original.pixels[i]) > 6 / 255) assert.unreachable(`baseline pixel ${i}`) })
      else assert.equal(Array.from(decoded.pixels), Array.from(original.pixels), `${ts}: lossless`)
    }
  })

  /**
   * The data set as dcmdump prints it, without how a sequence's length was encoded: dcmjs writes a
   * sequence of undefined length (dcmcjpeg's Derivation Code Sequence) with an explicit one.
   */
  async function dataSetOf (path: string): Promise<string> {
    return (await dataSetDump(path)).split('\n')
      .filter(l => !l.startsWith('(fffe,e0dd)'))
      .map(l => l.replace(/\s*#.*$/, '').replace(/ SQ \(Sequence with .*$/, ' SQ')).join('\n')
  }

  /** getscu of one instance with `args`; the files that came back. */
  async function getscu (uid: string, series: string, args: string[], name: string): Promise<string[]> {
    const out = join(dir, name)
    await mkdir(out)
    const r = await dcmtk('getscu', ['-S', ...args, '-aec', 'MEDICHAIN', '-od', out, '-k', 'QueryRetrieveLevel=IMAGE', '-k', `StudyInstanceUID=${STUDY.uid}`, '-k', `SeriesInstanceUID=${series}`, '-k', `SOPInstanceUID=${uid}`, '127.0.0.1', String(port)], 60_000)
    assert.ok(r.code === 0 || (await readdir(out)).length === 0, r.stderr)
    return (await readdir(out)).map(f => join(out, f))
  }

  test('C-GET proposing the stored syntax gets the instance back unchanged; a native-only caller gets a failed sub-operation', async () => {
    for (const [uid, series, args] of [[uidOf(1), STUDY.series[0].uid, ['+xs']], [uidOf(2), STUDY.series[0].uid, ['+xt']], [BASELINE_UID, BASELINE_SERIES, ['+xy']]] as const) {
      const got = await getscu(uid, series, [...args], `get-${uid}`)
      assert.is(got.length, 1, `${uid} came back`)
      assert.is(await dataSetOf(got[0]), await dataSetOf(sent.get(uid) ?? ''), `${uid}: the data set as sent`)
      const back = dicomParser.parseDicom(await readFile(got[0]))
      const mine = dicomParser.parseDicom(await readFile(sent.get(uid) ?? ''))
      const frame = (ds: typeof back): number[] => Array.from(dicomParser.readEncapsulatedPixelDataFromFragments(ds, ds.elements.x7fe00010, 0, ds.elements.x7fe00010.fragments?.length))
      assert.equal(frame(back), frame(mine), `${uid}: the compressed stream byte for byte`)
    }
    assert.is((await getscu(uidOf(1), STUDY.series[0].uid, [], 'get-native-only')).length, 0, 'not decompressed for a native-only caller')
    // The listener still serves a native retrieve after the failed sub-operation.
    const again = await getscu(uidOf(1), STUDY.series[0].uid, ['+xs'], 'get-again')
    assert.is(again.length, 1)
  })

  test('C-MOVE proposes the stored syntax: a destination that takes it gets the instance unchanged, a native-only one a failed sub-operation', async () => {
    const move = async (args: string[], name: string): Promise<{ files: string[], report: string }> => {
      const out = join(dir, name)
      await mkdir(out)
      const r = await dcmtk('movescu', ['-S', ...args, '-aet', 'JPEGMOVE', '-aem', 'JPEGMOVE', '-aec', 'MEDICHAIN', '+P', String(movePort), '-od', out,
        '-k', 'QueryRetrieveLevel=IMAGE', '-k', `StudyInstanceUID=${STUDY.uid}`, '-k', `SeriesInstanceUID=${STUDY.series[0].uid}`, '-k', `SOPInstanceUID=${uidOf(2)}`, '127.0.0.1', String(port)], 60_000)
      return { files: (await readdir(out)).map(f => join(out, f)), report: r.stdout + r.stderr }
    }
    const taken = await move(['+xt'], 'move-jls')
    assert.is(taken.files.length, 1, taken.report)
    assert.is(readTransferSyntax(new Uint8Array(await readFile(taken.files[0]))), TS.jpegLsLossless)
    assert.is(await dataSetOf(taken.files[0]), await dataSetOf(sent.get(uidOf(2)) ?? ''))
    const refused = await move(['+xi'], 'move-native')
    assert.is(refused.files.length, 0, 'not decompressed for a native-only destination')
  })

  test('WADO-RS: the instance as stored, frame 1 decoded to native stored values, a rendered PNG', async () => {
    const doc = await user(A, 'jpeg-doc', 'clinician')
    const client = dicomwebClient(A.url, (await viewerToken(doc)).token)
    const ids = { studyInstanceUID: STUDY.uid, seriesInstanceUID: STUDY.series[0].uid, sopInstanceUID: uidOf(2) }
    const instance = new Uint8Array(await client.retrieveInstance(ids))
    assert.is(readTransferSyntax(instance), TS.jpegLsLossless, 'as stored')
    const [frame] = await client.retrieveInstanceFrames({ ...ids, frameNumbers: [1] })
    const native = dicomParser.parseDicom(await readFile(originals.get(uidOf(2)) ?? ''))
    const pixel = native.elements.x7fe00010
    assert.equal(Array.from(new Uint8Array(frame)), Array.from(native.byteArray.subarray(pixel.dataOffset, pixel.dataOffset + pixel.length)), 'the decoded frame is the original native frame')
    const rendered = await client.retrieveInstanceRendered({ ...ids, mediaTypes: [{ mediaType: 'image/png' }] })
    const png = loadImage(new Uint8Array(Array.isArray(rendered) ? rendered[0] : rendered))
    assert.equal([png.format, png.width, png.height], ['png', 64, 64])
  })

  test('a corrupt JPEG-LS stream is refused by the intake (C000 when acknowledged on the ledger); nothing reaches the ledger and the listener keeps serving', async () => {
    const path = join(dir, 'corrupt.dcm')
    const bytes = new Uint8Array(await readFile(path))
    const fragment = dicomParser.parseDicom(bytes).elements.x7fe00010?.fragments?.[0]
    if (fragment === undefined) throw new Error('no fragment')
    for (let i = fragment.position + 40; i < fragment.position + fragment.length - 2; i++) bytes[i] = (i * 131) & 0xff
    await writeFile(path, bytes)
    const before = (await patient.myImages()).length
    const r = await store(['-xt'], path)
    // Answered from custody (the default acknowledgement): the refusal comes from the intake.
    assert.is(r.code, 0, r.stderr)
    await A.peer.dicom?.settled()
    assert.is((await patient.myImages()).length, before, 'the corrupt instance is not on the ledger')
    const echo = await dcmtk('echoscu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port)])
    assert.is(echo.code, 0, echo.stderr)
    // Acknowledged once on the ledger: the refusal is the C-STORE's answer.
    const [B] = await startHospitals(1, { dicom: { acknowledge: 'ledger' } })
    try {
      const other = await user(B, 'jpeg-patient-b', 'patient')
      await B.peer.dicom?.linkPatient(STUDY.mrn, fromHex(other.user?.patientId as string))
      const portB = String(B.peer.dicom?.address()?.port)
      const refused = await dcmtk('storescu', ['-v', '-xt', '-aec', 'MEDICHAIN', '127.0.0.1', portB, path])
      assert.match(refused.stdout + refused.stderr, /0xc000|CannotUnderstand/i, 'C-STORE status C000')
      assert.is((await other.myImages()).length, 0)
      const good = await dcmtk('storescu', ['-v', '-xt', '-aec', 'MEDICHAIN', '127.0.0.1', portB, sent.get(uidOf(2)) ?? ''])
      assert.is(good.code, 0, good.stderr)
      assert.is((await other.myImages()).length, 1, 'the listener keeps serving: a sound JPEG-LS instance is on the ledger when answered')
    } finally {
      await stopHospitals([B])
    }
  })
}

test.run()
