// Enrolment at the desk by the QR code on the patient's phone (issue 13 item 4), in Chromium: two
// instances arrive over C-STORE for an MRN nobody is linked to; the patient signs up; the clinician
// finds the MRN in this hospital's index and scans the QR code of the patient's portal (Chromium's
// fake camera films it); the held images are attached and the patient sees them.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { patientQrPayload } from '../../../web/src/lib/patient/patient-id.ts'
import { dcmtk, writeStudy } from '../../helpers/imaging/dicom.ts'
import { adminOf, clinicianOf, patientOf, qrVideo } from '../flows.ts'
import { PASSWORD, offHostRequests, screenshot, signInInPage, networkSuite } from '../harness.ts'

const { it, setup, launch } = networkSuite(test, { hospitals: 1, network: { dicom: {} } })

it('the desk scans the patient\'s QR code and the images held for their MRN are theirs', async () => {
  const { net } = setup()
  const [A] = net.hospitals
  const port = A.peer.dicom?.address()?.port
  if (port === undefined) throw new Error('no DICOM listener')
  const files = await writeStudy(join(net.dir, 'study'), {
    mrn: 'MRN-QR-9', name: 'SYNTH^QRPATIENT^FAY', birthDate: '19800808', uid: '2.25.5100009', series: [{ uid: '2.25.5100009.1', modality: 'CT', slices: 2 }]
  })
  assert.is((await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), ...files])).code, 0)

  const plain = await launch()
  const admin = await adminOf(plain, A, 'admin')
  await clinicianOf(plain, A, admin, 'dr.desk')
  const { page: patient, patientId } = await patientOf(plain, A, 'fay.patient')

  // The desk's browser films the QR code the patient's portal shows.
  const video = join(net.dir, 'qr.y4m')
  await writeFile(video, qrVideo(patientQrPayload(patientId)))
  const filming = await launch(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`])
  const desk = await filming.page(`${A.url}/app/sign-in`)
  await signInInPage(desk, 'dr.desk', PASSWORD)
  await desk.waitForURL('**/app/clinician')
  await desk.getByLabel('MRN or name').fill('MRN-QR-9')
  await desk.getByRole('button', { name: 'Search this hospital' }).click()
  const row = desk.locator('tr[data-mrn="MRN-QR-9"]')
  await row.getByText('Not enrolled · 2 images held').waitFor()
  await row.getByRole('button', { name: 'Enrol…' }).click()
  await desk.getByRole('button', { name: 'Scan QR code' }).last().click()
  await desk.getByText('Enrolled. 2 images held for QRPATIENT FAY SYNTH are now in their records.').waitFor({ timeout: 60_000 })
  await row.getByRole('link', { name: 'Open records' }).waitFor()
  await screenshot(desk, 'dicom-desk-enrolled-by-qr')

  await patient.getByRole('link', { name: 'My images', exact: true }).click()
  await patient.locator('li[data-slices="2"]').waitFor({ timeout: 30_000 })
  assert.equal(offHostRequests([...plain.requests, ...filming.requests]), [])
})

test.run()
