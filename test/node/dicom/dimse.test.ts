// The DIMSE listener against dcmtk (issue 13 item 1): C-ECHO, C-STORE in explicit, implicit and
// deflated little endian for a linked patient, custody for an MRN no patient is linked to, JPEG 2000
// refused at negotiation (JPEG and JPEG-LS are compressed.test.ts's), and raw PDUs for what dcmtk never sends: the wrong called AE title,
// P-DATA out of order, oversized, malformed and cut PDUs. After each the peer keeps serving.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join, sep } from 'node:path'
import { fromHex } from '../../../protocol/bytes.ts'
import { SOP_CLASS, TS } from '../../../node/imaging/constants.ts'
import { readTransferSyntax } from '../../../node/imaging/dicom/header.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import { encodeJpeg, toUint16, toUint8 } from '../../../node/imaging/raster/encode.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { PHI_BIRTH_DATE, PHI_NAME } from '../../helpers/imaging/images.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { associateRq, dcmtk, pData, pdu, rawClient } from '../../helpers/imaging/dicom.ts'
import { rejects } from '../../helpers/assert.ts'

let A: Hospital
let dir: string
let port: number

test.before(async () => {
  ;[A] = await startHospitals(1, { dicom: {} })
  dir = await tempDir('medichain-dicom-')
  const address = A.peer.dicom?.address()
  if (address === undefined) throw new Error('DICOM listener not started')
  port = address.port
})

test.after(async () => {
  await stopHospitals([A])
  await cleanup()
})

/** Every file under a folder, recursively. */
async function filesUnder (root: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name))
  return out
}

let serial = 0
/** A 64×64 CT instance with the PHI probes, written to a file; returns its path. */
async function instanceFile (mrn: string, ts: 'explicit' | 'implicit' = 'explicit'): Promise<string> {
  serial++
  const p = generatePhantom(serial, { size: 64, lesionCount: 1 })
  const bytes = encodeDicom({
    rows: 64, columns: 64, bitsAllocated: 16, bitsStored: 12, pixels: toUint16(p.pixels, 12), modality: 'CT', sopClassUid: SOP_CLASS.ct,
    sopInstanceUid: `2.25.31415926535897932384626433832${serial}`, studyInstanceUid: '2.25.27182818284590452353602874713', seriesInstanceUid: '2.25.16180339887498948482045868343',
    patient: { name: PHI_NAME, id: mrn, birthDate: PHI_BIRTH_DATE }, transferSyntax: ts
  })
  const path = join(dir, `i${serial}.dcm`)
  await writeFile(path, bytes)
  return path
}

async function echoWorks (): Promise<void> {
  const echo = await dcmtk('echoscu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port)])
  assert.is(echo.code, 0, `echoscu still answered: ${echo.stderr}`)
}

test('C-ECHO succeeds; a called AE title that is not ours is refused (A-ASSOCIATE-RJ, reason 7)', async () => {
  await echoWorks()
  const c = await rawClient(port)
  c.socket.write(associateRq('NOT-US', 'ECHOSCU'))
  const rj = await c.received(10)
  assert.equal([...rj.subarray(0, 10)], [0x03, 0, 0, 0, 0, 4, 0, 1, 1, 7], 'A-ASSOCIATE-RJ: permanent, service user, called AE not recognized')
  c.socket.destroy()
})

test('C-STORE of a linked patient in explicit, implicit and deflated little endian: the images appear for the patient', async () => {
  const patient = await user(A, 'dicom-pat-1', 'patient')
  const pid = patient.user?.patientId as string
  assert.is(await A.peer.dicom?.linkPatient('MRN-LINKED-1', fromHex(pid)), 0, 'nothing was held for this MRN')
  const runs = [
    { args: ['-xe'], ts: 'explicit' as const, expect: TS.explicitLittle },
    { args: ['-xi'], ts: 'implicit' as const, expect: TS.implicitLittle },
    { args: ['-xd'], ts: 'explicit' as const, expect: TS.deflatedExplicitLittle }
  ]
  for (const r of runs) {
    const store = await dcmtk('storescu', [...r.args, '-aec', 'MEDICHAIN', '127.0.0.1', String(port), await instanceFile('MRN-LINKED-1', r.ts)])
    assert.is(store.code, 0, `storescu ${r.args.join(' ')}: ${store.stderr}`)
  }
  // Acknowledged from custody (the default): the intake puts them on the ledger right after.
  await A.peer.dicom?.settled()
  const images = await patient.myImages()
  assert.is(images.length, 3)
  const syntaxes = new Set<string>()
  for (const image of images) {
    assert.is(image.modality, 'CT')
    syntaxes.add(readTransferSyntax(await patient.openImage(image)))
  }
  assert.equal([...syntaxes].sort(), runs.map(r => r.expect).sort(), 'each transfer syntax was negotiated and stored as received')
  // One study, one series, three instances: pseudonymous ids on the ledger, never the UIDs.
  assert.is(new Set(images.map(i => i.record)).size, 1, 'one study (the record)')
  assert.is(new Set(images.map(i => i.dicom?.series)).size, 1, 'one series')
  assert.is(new Set(images.map(i => i.dicom?.instance)).size, 3, 'three instances')
  assert.ok(images.every(i => i.record !== null && /^[0-9a-f]{32}$/.test(i.record) && i.dicom !== null && /^[0-9a-f]{32}$/.test(i.dicom.series)))
  const catalogue = A.peer.dicom?.catalogue
  if (catalogue === undefined) throw new Error('no catalogue')
  const study = catalogue.pseudonym('study', '2.25.27182818284590452353602874713')
  assert.is(images[0].record, Buffer.from(study).toString('hex'), 'the record is the pseudonym of the Study Instance UID')
  const entries = []
  for await (const e of catalogue.byUid('study', '2.25.27182818284590452353602874713')) entries.push(e)
  assert.is(entries.length, 3, 'the catalogue holds the three instances under the study')
  assert.is(entries[0].header.patient.mrn, 'MRN-LINKED-1')
})

test('an MRN no patient is linked to: held in custody, encrypted, then attached when linked', async () => {
  const patient = await user(A, 'dicom-pat-2', 'patient')
  const pid = patient.user?.patientId as string
  const store = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), await instanceFile('MRN-CUSTODY-2')])
  assert.is(store.code, 0, store.stderr)
  assert.is((await patient.myImages()).length, 0, 'nothing on the ledger before the link')
  // Held sealed: a small instance inside its index record, a large one in a custody file; no
  // byte of either shows the PHI or the Part 10 magic.
  for (const file of await filesUnder(join(A.data, 'dicom'))) {
    const sealed = await readFile(file)
    for (const probe of [PHI_NAME, PHI_BIRTH_DATE, 'MRN-CUSTODY-2']) assert.is(sealed.indexOf(probe, 0, 'latin1'), -1, `${file} contains ${probe}`)
    if (file.includes(`${sep}custody${sep}`)) assert.is(sealed.indexOf('DICM', 0, 'latin1'), -1, `${file} is not sealed`)
  }
  // The desk links the MRN: a clinician of this hospital may, a patient may not.
  const doc = await user(A, 'dicom-desk', 'clinician')
  const link = async (who: typeof doc, body: unknown): Promise<unknown> => await (await who.request('POST', '/api/dicom/links', body)).json()
  await rejects(async () => await link(patient, { mrn: 'MRN-CUSTODY-2', patientId: pid }), 'FORBIDDEN')
  await rejects(async () => await link(doc, { mrn: 'MRN\\BAD', patientId: pid }), 'INVALID')
  await rejects(async () => await link(doc, { mrn: 'MRN-CUSTODY-2', patientId: 'ab'.repeat(32) }), 'UNKNOWN_PATIENT')
  assert.is((await patient.myImages()).length, 0, 'a refused link attaches nothing')
  assert.equal(await link(doc, { mrn: 'MRN-CUSTODY-2', patientId: pid }), { attached: 1 })
  assert.is((await patient.myImages()).length, 1)
  assert.equal(await link(doc, { mrn: 'MRN-CUSTODY-2', patientId: pid }), { attached: 0 }, 'custody emptied once attached')
})

test('a JPEG 2000 proposal is refused at negotiation (transfer syntaxes not supported); nothing is stored', async () => {
  const p = generatePhantom(99, { size: 64 })
  const jpeg = encodeDicom({
    rows: 64, columns: 64, bitsAllocated: 8, pixels: toUint8(p.pixels), modality: 'CT', sopClassUid: SOP_CLASS.ct,
    sopInstanceUid: '2.25.99001', studyInstanceUid: '2.25.99002', seriesInstanceUid: '2.25.99003',
    patient: { name: PHI_NAME, id: 'MRN-JPEG', birthDate: PHI_BIRTH_DATE },
    // JPEG 2000 Lossless: no decoder here, so refused before any byte is sent (JPEG, JPEG-LS: compressed.test.ts).
    encapsulated: { transferSyntaxUid: '1.2.840.10008.1.2.4.90', frames: [encodeJpeg(toUint8(p.pixels), 64, 64)] }
  })
  const path = join(dir, 'jpeg.dcm')
  await writeFile(path, jpeg)
  const doc = await user(A, 'dicom-desk-jpeg', 'clinician')
  const patient = await user(A, 'dicom-pat-jpeg', 'patient')
  const store = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), path])
  assert.is.not(store.code, 0, 'storescu reports the refusal')
  assert.equal(await (await doc.request('POST', '/api/dicom/links', { mrn: 'MRN-JPEG', patientId: patient.user?.patientId })).json(), { attached: 0 }, 'nothing was held')
})

test('malformed, out-of-order, oversized and truncated PDUs end the association with A-ABORT; the peer keeps serving', async () => {
  const aborted = async (bytes: Uint8Array, reason: number, what: string): Promise<void> => {
    const c = await rawClient(port)
    c.socket.write(bytes)
    const got = await c.closed
    assert.equal([...got.subarray(0, 10)], [0x07, 0, 0, 0, 0, 4, 0, 0, 2, reason], `${what}: A-ABORT from the provider, reason ${reason}`)
  }
  await aborted(new Uint8Array(16).fill(0xff), 1, 'unknown PDU type')
  await aborted(pData(10), 2, 'P-DATA before any association')
  await aborted(Uint8Array.of(0x01, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1), 6, 'A-ASSOCIATE-RQ declaring 2 GiB')
  await echoWorks()

  // An oversized P-DATA inside an accepted association (we announce 128 KiB).
  const c = await rawClient(port)
  c.socket.write(associateRq('MEDICHAIN', 'RAW'))
  const ac = await c.received(1)
  assert.is(ac[0], 0x02, 'A-ASSOCIATE-AC')
  c.socket.write(pData(200_000))
  const got = await c.closed
  const abort = got.subarray(got.length - 10)
  assert.equal([...abort], [0x07, 0, 0, 0, 0, 4, 0, 0, 2, 6], 'oversized P-DATA: A-ABORT, invalid PDU parameter')

  // An A-ASSOCIATE-RQ whose item runs past the PDU's end (the library would read it as a request
  // with no presentation contexts and accept it).
  const fixed = associateRq('MEDICHAIN', 'RAW').subarray(6, 6 + 68)
  await aborted(pdu(0x01, new Uint8Array([...fixed, 0x10, 0, 0x03, 0xe8, 0x31])), 6, 'items past the end of the PDU')

  // A truncated association: half an A-ASSOCIATE-RQ, then the caller hangs up.
  const cut = await rawClient(port)
  cut.socket.end(associateRq('MEDICHAIN', 'RAW').subarray(0, 30))
  await cut.closed
  await echoWorks()
})

test.run()
