// Uploads sealed as they arrive (issue 14): the raw file is encrypted into storage while the body is
// still coming in. A multi-chunk image reads back byte for byte whichever way the SDK sent it; a
// body cut off half way, and a large file the decoder refuses, leave no block and no temp file.
import { randomBytes } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { equals } from '../../../protocol/bytes.ts'
import { ApiError, MedichainClient } from '../../../protocol/client/client.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, TEST_VAULT_ITERATIONS, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { waitFor, withTimeout } from '../../helpers/timeout.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

/** A multi-frame 16-bit DICOM of `frames` 256×256 frames (128 KiB each), random pixels, no PHI. */
function dicomOf (frames: number): Uint8Array {
  const pixels = new Uint16Array(new Uint8Array(randomBytes(256 * 256 * 2 * frames)).buffer)
  for (let i = 0; i < pixels.length; i++) pixels[i] &= 0x0fff
  return encodeDicom({
    rows: 256, columns: 256, bitsAllocated: 16, bitsStored: 12, pixels, frames, modality: 'CT',
    sopInstanceUid: '2.25.9001', studyInstanceUid: '2.25.9002', seriesInstanceUid: '2.25.9003'
  })
}

test('a multi-chunk image reads back byte for byte, sent as bytes or as a Blob', async () => {
  hospitals = await startHospitals(1)
  const [h] = hospitals
  const patient = await user(h, 'pat', 'patient')
  const doc = await user(h, 'doc', 'clinician')
  const patientId = patient.user?.patientId as string
  // 40 frames: about 5 MiB, so the seal follows the file across several 1 MiB chunks.
  const bytes = dicomOf(40)
  const blob = dicomOf(24)
  const a = await doc.upload(patientId, bytes, 'scan.dcm')
  const b = await doc.upload(patientId, new Blob([blob as Uint8Array<ArrayBuffer>]), 'other.dcm')
  // Each reader opens the listing made for it: the clinician's and the patient's own.
  for (const [reader, list] of [[doc, await doc.patientImages(patientId)], [patient, await patient.myImages()]] as const) {
    const byRaw = new Map(list.map(i => [i.raw, i]))
    const first = byRaw.get(String(a.raw))
    const second = byRaw.get(String(b.raw))
    assert.ok(first !== undefined && second !== undefined, 'both uploads are listed')
    assert.ok(equals(await reader.openImage(first), bytes), 'the bytes sent as one body read back')
    assert.ok(equals(await reader.openImage(second), blob), 'the bytes sent as a Blob read back')
  }
  assert.equal(await readdir(join(h.data, 'tmp')), [])
})

/** A clinician whose session cookie the test can read, for a request sent over a raw socket. */
async function clinicianWithCookie (h: Hospital): Promise<{ doc: MedichainClient, cookie: () => string }> {
  let cookie = ''
  const doc = new MedichainClient({
    baseUrl: h.url,
    vaultIterations: TEST_VAULT_ITERATIONS,
    fetch: async (input, init) => {
      const res = await fetch(input, init)
      for (const c of res.headers.getSetCookie()) if (c.startsWith('mc_session=')) cookie = c.split(';')[0]
      return res
    }
  })
  const password = 'raw socket clinician password'
  await doc.signUp({ username: 'rawdoc', password, role: 'clinician' })
  await h.admin.approve('rawdoc')
  await doc.signIn('rawdoc', password)
  return { doc, cookie: () => cookie }
}

test('a body cut off half way, and a large file the decoder refuses, leave no block and no temp file', async () => {
  hospitals = await startHospitals(1)
  const [h] = hospitals
  const patient = await user(h, 'pat', 'patient')
  const patientId = patient.user?.patientId as string
  const { doc, cookie } = await clinicianWithCookie(h)
  const before = h.peer.storage.stats()
  const tmp = join(h.data, 'tmp')
  const tempBytes = async (): Promise<number> => {
    let n = 0
    for (const name of await readdir(tmp)) n += (await stat(join(tmp, name)).catch(() => ({ size: 0 }))).size
    return n
  }

  // 3 MiB of a 6 MiB file over a raw socket; once the peer has 2 MiB of it on disk (and sealed
  // what it could), the client goes.
  const { hostname, port } = new URL(h.url)
  const boundary = `----medichain${randomBytes(8).toString('hex')}`
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="scan.dcm"\r\nContent-Type: application/dicom\r\n\r\n`
  const file = dicomOf(48)
  const socket = connect(Number(port), hostname)
  socket.on('error', () => {})
  await withTimeout(new Promise<void>(resolve => socket.once('connect', resolve)), 10_000, 'the connection')
  socket.write([
    `POST /api/patients/${patientId}/images HTTP/1.1`, `Host: ${hostname}:${port}`,
    `Cookie: ${cookie()}`, `X-CSRF-Token: ${doc.csrfToken ?? ''}`,
    `Content-Type: multipart/form-data; boundary=${boundary}`, `Content-Length: ${file.length + head.length + boundary.length + 8}`, '', ''
  ].join('\r\n'))
  socket.write(head)
  socket.write(file.subarray(0, 3 * 1024 * 1024))
  await waitFor(async () => await tempBytes() >= 2 * 1024 * 1024, { timeout: 20_000, what: 'the partial upload in the temp folder' })
  socket.resetAndDestroy()
  await waitFor(async () => (await readdir(tmp)).length === 0, { timeout: 20_000, what: 'an empty temp folder' })
  await waitFor(() => h.peer.storage.stats().blocks === before.blocks, { timeout: 20_000, what: 'the partial seal\'s blocks to go' })
  assert.equal(h.peer.storage.stats(), before)

  // A 5 MiB DICOM cut short: sealed as it came, then refused by the decoder; nothing stays.
  const whole = dicomOf(40)
  try {
    await doc.upload(patientId, whole.subarray(0, whole.length - 100_000), 'cut.dcm')
    assert.unreachable('a truncated DICOM is refused')
  } catch (err) {
    assert.instance(err, ApiError, String(err))
    assert.is((err as ApiError).code, 'CORRUPT_IMAGE')
  }
  assert.equal(h.peer.storage.stats(), before, 'the refused upload left no block')
  assert.equal(await readdir(tmp), [])
  assert.is((await fetch(h.url + '/api/health')).status, 200, 'the peer keeps serving')
})

test.run()
