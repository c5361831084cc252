// Bad input to the upload and consent routes: each gets a 4xx with its code, nothing is stored
// (no ledger block, no IPFS block, no temp file), and the peer keeps serving.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { toBase64 } from '../../../protocol/base64.ts'
import { fromHex } from '../../../protocol/bytes.ts'
import { buildConsentGrant } from '../../../protocol/chain/consent.ts'
import { ApiError } from '../../../protocol/client/client.ts'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { txToBase64 } from '../../../protocol/chain/tx-transport.ts'
import { encodePng, toUint16, toUint8 } from '../../../node/imaging/raster/encode.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { syntheticDicom } from '../../helpers/imaging/images.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

interface Snapshot { blocks: number, stored: number, tmp: string[] }

async function snapshot (h: Hospital): Promise<Snapshot> {
  return { blocks: h.peer.ledger.size(), stored: h.peer.storage.stats().blocks, tmp: await readdir(join(h.data, 'tmp')) }
}

/** Asserts `fn` answers `status` with `code`, stores nothing, and the peer still answers /api/health. */
async function refused (h: Hospital, fn: () => Promise<unknown>, status: number, code: string): Promise<void> {
  const before = await snapshot(h)
  try {
    await fn()
    assert.unreachable(`expected ${status} ${code}`)
  } catch (err) {
    assert.instance(err, ApiError, String(err))
    assert.is((err as ApiError).code, code)
    assert.is((err as ApiError).status, status)
  }
  assert.equal(await snapshot(h), before, 'nothing was stored')
  assert.is((await fetch(h.url + '/api/health')).status, 200, 'the peer keeps serving')
}

async function setup (records = {}): Promise<{ h: Hospital, doc: MedichainClient, patient: MedichainClient, patientId: string }> {
  hospitals = await startHospitals(1, { records })
  const [h] = hospitals
  const patient = await user(h, 'pat', 'patient')
  const doc = await user(h, 'doc', 'clinician')
  return { h, doc, patient, patientId: patient.user?.patientId as string }
}

test('uploads that are not images, truncated, oversized or mis-typed are refused and leave nothing', async () => {
  const { h, doc, patientId } = await setup({ maxUploadBytes: 64 * 1024 })
  const p = generatePhantom(3, { size: 64, lesionCount: 0 })
  const dicom = syntheticDicom(toUint16(p.pixels, 12))
  await refused(h, async () => await doc.upload(patientId, new TextEncoder().encode('just some text, not an image at all')), 415, 'UNSUPPORTED_FORMAT')
  await refused(h, async () => await doc.upload(patientId, dicom.subarray(0, dicom.length - 700)), 400, 'CORRUPT_IMAGE')
  await refused(h, async () => await doc.upload(patientId, new Uint8Array(100 * 1024).fill(7)), 413, 'TOO_LARGE')
  await refused(h, async () => await doc.upload(patientId, new Uint8Array(0)), 400, 'INVALID')
  await refused(h, async () => await doc.request('POST', `/api/patients/${patientId}/images`, { file: 'not multipart' }), 415, 'UNSUPPORTED_MEDIA_TYPE')
  await refused(h, async () => await doc.upload('00'.repeat(32), encodePng(toUint8(p.pixels), 64, 64)), 404, 'UNKNOWN_PATIENT')
  await refused(h, async () => await doc.upload('zz', encodePng(toUint8(p.pixels), 64, 64)), 400, 'INVALID')
})

test('a path-traversal file name is ignored: the file lands under tmp with our own name, then goes', async () => {
  const { h, doc, patientId } = await setup()
  const p = generatePhantom(4, { size: 64, lesionCount: 0 })
  await doc.upload(patientId, encodePng(toUint8(p.pixels), 64, 64), '../../../../etc/passwd')
  await refused(h, async () => await doc.upload(patientId, new TextEncoder().encode('x'.repeat(200)), '../../escape.txt'), 415, 'UNSUPPORTED_FORMAT')
  assert.equal(await readdir(join(h.data, 'tmp')), [])
  assert.is((await doc.patientImages(patientId)).length, 1)
})

test('garbage JSON, forged and foreign consents are refused and change nothing', async () => {
  const { h, patient, doc } = await setup()
  const other = await user(h, 'pat2', 'patient')
  await refused(h, async () => await patient.request('POST', '/api/consents', '{"tx": '), 400, 'INVALID_JSON')
  await refused(h, async () => await patient.request('POST', '/api/consents', { tx: 'not base64 !!' }), 400, 'BAD_ENCODING')
  const peer = await patient.peerInfo()
  const base = {
    ledgerId: peer.ledger, grantee: fromHex(doc.user?.signPub as string), kind: 'user' as const, granteeHospital: peer.self,
    purpose: 'treatment' as const, scope: { kind: 'all' as const }, expires: Date.now() + 60_000, images: [], seq: 0, time: Date.now()
  }
  const mine = buildConsentGrant({ ...base, patient: patient.keys as NonNullable<typeof patient.keys> })
  const forged = { ...mine, sig: mine.sig.slice() }
  forged.sig[3] ^= 1
  await refused(h, async () => await patient.request('POST', '/api/consents', { tx: txToBase64(forged) }), 400, 'BAD_SIGNATURE')
  const theirs = buildConsentGrant({ ...base, patient: other.keys as NonNullable<typeof other.keys> })
  await refused(h, async () => await patient.request('POST', '/api/consents', { tx: txToBase64(theirs) }), 403, 'FORBIDDEN')
  await refused(h, async () => await patient.request('POST', '/api/consents', { tx: toBase64(new Uint8Array([0xa0])) }), 400, 'BAD_SCHEMA')
  void CID
})

test.run()
