// Finding a patient without typing (issue 5): the clinician's QR scanner films the code the
// patient's portal shows (Chromium's fake camera plays a video of that very code) and opens the
// patient; with no camera, the page says so and the pasted QR text works instead.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { patientQrPayload } from '../../../web/src/lib/patient/patient-id.ts'
import { adminOf, clinicianOf, patientOf, qrVideo } from '../flows.ts'
import { PASSWORD, offHostRequests, signInInPage, networkSuite } from '../harness.ts'

const { it, setup, launch } = networkSuite(test, { hospitals: 1 })

it('a clinician scans the patient\'s QR code with the camera, or pastes it when there is none', async () => {
  const { net } = setup()
  const [A] = net.hospitals
  const plain = await launch()
  const admin = await adminOf(plain, A, 'admin')
  const { patientId } = await patientOf(plain, A, 'pat.qr')
  const clin = await clinicianOf(plain, A, admin, 'dr.qr')

  // No camera in plain headless Chromium: a clear message, and the paste fallback.
  await clin.getByRole('button', { name: 'Scan QR code' }).click()
  await clin.locator('[data-code=NO_CAMERA]').waitFor()
  await clin.getByLabel('Patient id').fill(`  ${patientQrPayload(patientId).toUpperCase()}  `)
  await clin.getByRole('button', { name: 'Find patient' }).click()
  await clin.waitForURL(`**/app/clinician/patients/${patientId}`)
  await clin.getByLabel('Patient id').fill('not-an-id')
  await clin.getByRole('button', { name: 'Find patient' }).click()
  await clin.getByText('That is not a patient id').waitFor()

  // A browser whose camera films the patient's QR code.
  const video = join(net.dir, 'qr.y4m')
  await writeFile(video, qrVideo(patientQrPayload(patientId)))
  const filming = await launch(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`])
  const page = await filming.page(`${A.url}/app/sign-in`)
  await signInInPage(page, 'dr.qr', PASSWORD)
  await page.waitForURL('**/app/clinician')
  await page.getByRole('button', { name: 'Scan QR code' }).click()
  await page.waitForURL(`**/app/clinician/patients/${patientId}`, { timeout: 20_000 })
  assert.is(await page.getByLabel('Patient id').inputValue(), patientId)
  assert.equal(offHostRequests([...plain.requests, ...filming.requests]), [])
})

test.run()
