// The C-STORE intake (dicom.acknowledge = 'custody', issue 13 item 6): storescu's one association
// of 24 instances is answered as each instance becomes durable in custody and the intake then
// attaches them; a backlog of held instances is attached together, their image.add sharing
// blocks (fewer blocks than instances). A peer stopped
// with instances still in custody attaches them when it starts again; an instance held twice (or
// still held after its image.add, as a crash in between leaves it) is recorded once.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdir, writeFile } from 'node:fs/promises'
import { SOP_CLASS } from '../../../node/imaging/constants.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import { IN_MEMORY_MAX_BYTES } from '../../../node/dicom/network/scp.ts'
import { join } from 'node:path'
import { fromHex } from '../../../protocol/bytes.ts'
import { decodeBlock } from '../../../protocol/chain/block.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { hospitalGenesis, startHospital, stopHospitals, user, adminOf } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { dcmtk } from '../../helpers/imaging/dicom.ts'
import { ctInstance, dicomwebClient, viewerToken } from '../../helpers/imaging/dicomweb.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'

let A: Hospital | undefined

test.after.each(async () => {
  if (A !== undefined) await stopHospitals([A])
  A = undefined
})
test.after(async () => { await cleanup() })

async function files (dir: string, mrn: string, n: number, base: number): Promise<string[]> {
  const out: string[] = []
  for (let i = 1; i <= n; i++) {
    const path = join(dir, `i${base + i}.dcm`)
    await writeFile(path, new Uint8Array(ctInstance(mrn, { study: `2.25.8${base}`, series: `2.25.9${base}`, instance: `2.25.10${base}${i}` }, base + i, i)))
    out.push(path)
  }
  return out
}

async function imageBlocks (h: Hospital): Promise<number> {
  const blocks = (await h.peer.ledger.blocksAfter([], 100_000)).map(b => decodeBlock(b))
  return blocks.filter(b => b.txs.some(t => t.tx.type === 'image.add')).length
}

test('one association of 24 instances: answered from custody, attached together in fewer blocks', async () => {
  A = await adminOf(await startHospital(1, hospitalGenesis(1), { dicom: { acknowledge: 'custody' } }))
  const patient = await user(A, 'intake-patient', 'patient')
  const doc = await user(A, 'intake-doc', 'clinician')
  await doc.request('POST', '/api/dicom/links', { mrn: 'MRN-INTAKE', patientId: patient.user?.patientId })
  const dir = await tempDir('medichain-intake-')
  const paths = await files(dir, 'MRN-INTAKE', 24, 100)
  const port = A.peer.dicom?.address()?.port as number
  const store = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), ...paths], 120_000)
  assert.is(store.code, 0, store.stderr)
  assert.not.match(store.stderr, /Store SCP|Failed/, 'every C-STORE answered success')
  await withTimeout(A.peer.dicom?.settled() ?? Promise.resolve(), 60_000, 'the intake to settle')
  const images = await A.peer.ledger.queries.imagesOf(fromHex(patient.user?.patientId as string))
  assert.is(images.length, 24, 'every acknowledged instance is on the ledger')
  // A backlog (an MRN linked after its 24 instances arrived): attached together, in shared blocks.
  const later = await user(A, 'intake-patient-2', 'patient')
  const held = await files(dir, 'MRN-INTAKE-2', 24, 300)
  const second = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), ...held], 120_000)
  assert.is(second.code, 0, second.stderr)
  const before = await imageBlocks(A)
  assert.equal(await (await doc.request('POST', '/api/dicom/links', { mrn: 'MRN-INTAKE-2', patientId: later.user?.patientId })).json(), { attached: 24 })
  const blocks = (await imageBlocks(A)) - before
  assert.ok(blocks < 24, `the image.add of 24 instances share blocks (${blocks} blocks)`)
})

test('a peer stopped with instances in custody for a linked patient attaches them when it starts again', async () => {
  const data = await tempDir('medichain-intake-restart-')
  const genesis = hospitalGenesis(1)
  A = await adminOf(await startHospital(1, genesis, { data, freshChain: true, dicom: { acknowledge: 'custody' } }))
  const patient = await user(A, 'restart-patient', 'patient')
  const doc = await user(A, 'restart-doc', 'clinician')
  await doc.request('POST', '/api/dicom/links', { mrn: 'MRN-RESTART', patientId: patient.user?.patientId })
  const dir = await tempDir('medichain-intake-files-')
  const paths = await files(dir, 'MRN-RESTART', 12, 200)
  const port = A.peer.dicom?.address()?.port as number
  // Ledger writes held (as while syncing): the instances are acknowledged from custody and wait.
  const gate = A.peer.writes
  gate.hold({ code: 'SYNCING', message: 'held by the test', retryAfterSeconds: 1 })
  const store = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), ...paths], 120_000)
  assert.is(store.code, 0, store.stderr)
  await withTimeout(A.peer.dicom?.settled() ?? Promise.resolve(), 60_000, 'the intake to give up while writes are held')
  const pid = fromHex(patient.user?.patientId as string)
  assert.is((await A.peer.ledger.queries.imagesOf(pid)).length, 0, 'nothing on the ledger while writes are held')
  await stopHospitals([A])
  A = { ...A, ...(await startHospital(1, genesis, { data, dicom: { acknowledge: 'custody' } })) }
  const ledger = A.peer.ledger
  await untilLedger(ledger, async () => (await ledger.queries.imagesOf(pid)).length === 12, 'the held instances to be attached after the restart', 60_000)
})

test('the same instance held twice before the patient enrols is recorded once', async () => {
  A = await adminOf(await startHospital(1, hospitalGenesis(1), { dicom: { acknowledge: 'custody' } }))
  const dir = await tempDir('medichain-intake-twice-')
  const [path] = await files(dir, 'MRN-TWICE', 1, 400)
  const port = A.peer.dicom?.address()?.port as number
  for (let i = 0; i < 2; i++) {
    const store = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), path])
    assert.is(store.code, 0, store.stderr)
  }
  const patient = await user(A, 'twice-patient', 'patient')
  const doc = await user(A, 'twice-doc', 'clinician')
  assert.equal(await (await doc.request('POST', '/api/dicom/links', { mrn: 'MRN-TWICE', patientId: patient.user?.patientId })).json(), { attached: 2 }, 'both held copies leave custody')
  assert.is((await A.peer.ledger.queries.imagesOf(fromHex(patient.user?.patientId as string))).length, 1, 'one image.add for the instance')
  assert.equal(await (await doc.request('POST', '/api/dicom/links', { mrn: 'MRN-TWICE', patientId: patient.user?.patientId })).json(), { attached: 0 }, 'custody is empty')
})

test('a small instance is received in memory, a large one through a temp file: both stored as sent', async () => {
  A = await adminOf(await startHospital(1, hospitalGenesis(1), { dicom: { acknowledge: 'custody' } }))
  const patient = await user(A, 'sizes-patient', 'patient')
  const doc = await user(A, 'sizes-doc', 'clinician')
  await doc.request('POST', '/api/dicom/links', { mrn: 'MRN-SIZES', patientId: patient.user?.patientId })
  const dir = await tempDir('medichain-intake-sizes-')
  const sent: Uint8Array[] = []
  const paths: string[] = []
  for (const [i, side] of [[1, 64], [2, 1024]] as const) {
    const bytes = encodeDicom({
      rows: side, columns: side, bitsAllocated: 16, bitsStored: 12, pixels: new Uint16Array(side * side).map((_, k) => (k * 7 + i) & 0xfff), modality: 'CT', sopClassUid: SOP_CLASS.ct,
      sopInstanceUid: `2.25.6100${i}`, studyInstanceUid: '2.25.6101', seriesInstanceUid: '2.25.6102', patient: { name: 'SIZES^TEST', id: 'MRN-SIZES', birthDate: '19800101' }
    })
    sent.push(bytes)
    paths.push(join(dir, `s${i}.dcm`))
    await writeFile(paths[paths.length - 1], bytes)
  }
  assert.ok(sent[0].length < IN_MEMORY_MAX_BYTES && sent[1].length > IN_MEMORY_MAX_BYTES)
  const port = A.peer.dicom?.address()?.port as number
  const store = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), ...paths], 120_000)
  assert.is(store.code, 0, store.stderr)
  await withTimeout(A.peer.dicom?.settled() ?? Promise.resolve(), 60_000, 'the intake to settle')
  const images = await patient.myImages()
  assert.is(images.length, 2)
  // The peer writes its own file meta group; the data set (the last 64 KiB include the pixels) is as sent.
  const stored = await Promise.all(images.map(async i => await patient.openImage(i)))
  for (const bytes of sent) {
    const tail = Buffer.from(bytes.subarray(bytes.length - 65536))
    assert.ok(stored.some(s => s.length >= bytes.length - 256 && Buffer.from(s.subarray(s.length - 65536)).equals(tail)), `the ${bytes.length}-byte instance is stored as sent`)
  }
  assert.equal(await readdir(join(A.data, 'tmp')), [], 'no temp file is left')
})

test('STOW-RS with acknowledge custody: answered once held, then on the ledger; an unlinked MRN stays held', async () => {
  A = await adminOf(await startHospital(1, hospitalGenesis(1), { dicom: { acknowledge: 'custody' } }))
  const patient = await user(A, 'stow-custody-patient', 'patient')
  const doc = await user(A, 'stow-custody-doc', 'clinician')
  await doc.request('POST', '/api/dicom/links', { mrn: 'MRN-STOW-C', patientId: patient.user?.patientId })
  const { token } = await viewerToken(doc, { scope: ['write'] })
  const client = dicomwebClient(A.url, token)
  const datasets = [1, 2, 3].map(i => ctInstance('MRN-STOW-C', { study: '2.25.621', series: '2.25.622', instance: `2.25.623${i}` }, i, i))
  await client.storeInstances({ datasets: [...datasets, ctInstance('MRN-STOW-NOBODY', { study: '2.25.631', series: '2.25.632', instance: '2.25.6331' }, 9, 1)] })
  await withTimeout(A.peer.dicom?.settled() ?? Promise.resolve(), 60_000, 'the intake to settle')
  assert.is((await patient.myImages()).length, 3, 'the linked patient\'s instances are on the ledger')
  const later = await user(A, 'stow-custody-later', 'patient')
  assert.equal(await (await doc.request('POST', '/api/dicom/links', { mrn: 'MRN-STOW-NOBODY', patientId: later.user?.patientId })).json(), { attached: 1 }, 'the unlinked one was held')
})

test('acknowledge ledger: C-STORE and STOW-RS answer once the instance is on the ledger', async () => {
  A = await adminOf(await startHospital(1, hospitalGenesis(1), { dicom: { acknowledge: 'ledger' } }))
  const patient = await user(A, 'ack-ledger-patient', 'patient')
  const doc = await user(A, 'ack-ledger-doc', 'clinician')
  await doc.request('POST', '/api/dicom/links', { mrn: 'MRN-ACK-L', patientId: patient.user?.patientId })
  const pid = fromHex(patient.user?.patientId as string)
  const [path] = await files(await tempDir('medichain-ack-ledger-'), 'MRN-ACK-L', 1, 700)
  const store = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(A.peer.dicom?.address()?.port), path])
  assert.is(store.code, 0, store.stderr)
  assert.is((await A.peer.ledger.queries.imagesOf(pid)).length, 1, 'on the ledger when C-STORE answered')
  const { token } = await viewerToken(doc, { scope: ['write'] })
  await dicomwebClient(A.url, token).storeInstances({ datasets: [ctInstance('MRN-ACK-L', { study: '2.25.711', series: '2.25.712', instance: '2.25.7131' }, 3, 1)] })
  assert.is((await A.peer.ledger.queries.imagesOf(pid)).length, 2, 'on the ledger when STOW-RS answered')
})

test.run()
