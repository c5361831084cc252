// Image cards (issue 12, protocol/image-meta.ts): an upload seals the file name, the date, a
// description and a thumbnail beside the image, and a DICOM's own header fills date, description
// and modality; the reader opens the card with the raw key; a clinician elsewhere needs a consent
// for it as for the image, and fetching it logs no read of its own; images from before cards still
// list, with no card; the ledger refuses a card that is one of the image's parts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PNG } from 'pngjs'
import { CID } from 'multiformats/cid'
import { fromHex } from '../../../protocol/bytes.ts'
import { wrapKey } from '../../../protocol/crypto/key-wrap.ts'
import { THUMBNAIL_SIDE } from '../../../protocol/image-meta.ts'
import { encodePng, toUint8 } from '../../../node/imaging/raster/encode.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import { rejects } from '../../helpers/assert.ts'
import { SERIES_DESCRIPTION, STUDY_DESCRIPTION, testImages } from '../../helpers/imaging/images.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { waitFor } from '../../helpers/timeout.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

test('an upload seals name, date, description and a thumbnail; a DICOM header fills its own', async () => {
  hospitals = await startHospitals(1)
  const [A] = hospitals
  const patient = await user(A, 'card-patient', 'patient')
  const pid = patient.user?.patientId as string
  const doc = await user(A, 'card-doc', 'clinician')
  const phantom = generatePhantom(3, { size: 400, lesionCount: 1 })
  const png = encodePng(toUint8(phantom.pixels), 400, 400)
  const up = await doc.upload(pid, png, 'Knee – left.png', { description: 'after the fall', date: '2026-11-30T08:05:00.000Z' })
  assert.equal(up.card, { name: 'Knee – left.png', date: '2026-11-30T08:05', description: 'after the fall', thumbnail: true })
  await doc.upload(pid, testImages().dicom)

  const images = await patient.myImages()
  assert.is(images.length, 2)
  const byRaw = new Map(images.map(i => [i.raw, i]))
  const pngImage = byRaw.get(up.raw as string)
  assert.ok(pngImage !== undefined && pngImage.meta === up.meta)
  const card = await patient.imageCard(pngImage)
  assert.is(card?.name, 'Knee – left.png')
  assert.is(card?.date, '2026-11-30T08:05')
  assert.is(card?.description, 'after the fall')
  assert.is(card?.modality, undefined, 'a PNG has no modality of its own')
  const thumb = card?.thumbnail
  assert.ok(thumb !== undefined && thumb.type === 'image/png')
  assert.is(Math.max(thumb.width, thumb.height), THUMBNAIL_SIDE)
  assert.ok(thumb.bytes.length < 27 * 1024, `a small thumbnail (${thumb.bytes.length} bytes)`)
  const decoded = PNG.sync.read(Buffer.from(thumb.bytes))
  assert.is(decoded.width, thumb.width)
  // Not a blank square: the phantom's anatomy shows as a spread of grey levels (RGBA as read).
  const levels = new Set<number>()
  for (let i = 0; i < decoded.data.length; i += 4) levels.add(decoded.data[i] >> 4)
  assert.ok(levels.size >= 6, `the thumbnail shows the image (${levels.size} grey bands)`)

  const dicomImage = images.find(i => i.raw !== up.raw)
  assert.ok(dicomImage !== undefined)
  const dicomCard = await doc.imageCard((await doc.patientImages(pid)).find(i => i.raw === dicomImage.raw) ?? dicomImage)
  assert.is(dicomCard?.name, undefined, 'no file name was given')
  assert.is(dicomCard?.date, '2026-12-06T14:15', 'Study Date and Time from the header')
  assert.is(dicomCard?.description, `${STUDY_DESCRIPTION} — ${SERIES_DESCRIPTION}`)
  assert.is(dicomCard?.modality, 'CT')
  assert.is(dicomCard?.thumbnail?.width, 64, 'a small image is not scaled up')
})

test('a clinician elsewhere needs a consent for the card as for the image; the card logs no read', async () => {
  hospitals = await startHospitals(2)
  const [A, B] = hospitals
  const patient = await user(A, 'card-patient', 'patient')
  const pid = patient.user?.patientId as string
  const docA = await user(A, 'card-doc-a', 'clinician')
  const docB = await user(B, 'card-doc-b', 'clinician')
  const up = await docA.upload(pid, testImages().png, 'chest.png')
  await untilLedger(B.peer.ledger, async () => (await B.peer.ledger.queries.imagesOf(fromHex(pid))).length === 1, 'the image at B')
  await rejects(async () => await docB.request('GET', `/api/images/${up.raw as string}/meta`), 'NO_CONSENT')

  const grant = await patient.grant({ grantee: docB.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: Date.now() + 600_000 })
  await untilLedger(B.peer.ledger, async () => await B.peer.ledger.tx(fromHex(grant.id)) !== undefined, 'the consent at B')
  const [atB] = await docB.patientImages(pid)
  await waitFor(async () => (await patient.myAudit()).length === 1, { timeout: 15_000, what: 'the listing\'s access log' })
  const card = await docB.imageCard(atB)
  assert.is(card?.name, 'chest.png', 'B fetched the card over bitswap and its clinician opened it')
  // Another hospital-wide listing or an image open would add an entry; the card adds none.
  await docB.openImage(atB)
  await waitFor(async () => (await patient.myAudit()).length === 2, { timeout: 15_000, what: 'the open\'s access log' })
  await docB.imageCard(atB)
  const audit = await patient.myAudit()
  assert.is(audit.length, 2, 'the two card fetches logged nothing')
  await rejects(async () => await docB.request('GET', '/api/images/not-a-cid/meta'), 'INVALID')
})

test('an image from before cards lists with no card; the ledger refuses a card that is a part', async () => {
  hospitals = await startHospitals(1)
  const [A] = hospitals
  const patient = await user(A, 'old-patient', 'patient')
  const pid = fromHex(patient.user?.patientId as string)
  const account = await A.peer.ledger.queries.patientAccount(pid)
  assert.ok(account !== undefined)
  const raw = CID.parse('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
  const body = {
    patient: pid, record: null, raw, result: null, modality: 'CR', size: 10, model: null, score: null,
    keys: [{ to: account.box, raw: wrapKey(new Uint8Array(32).fill(1), account.box), result: null }]
  }
  await rejects(async () => await A.peer.ledger.submitOwn('image.add', { ...body, meta: raw }), 'BAD_IMAGE_META')
  await A.peer.ledger.submitOwn('image.add', body)
  const [old] = await patient.myImages()
  assert.is(old.meta, null)
  assert.is(old.modality, 'CR')
  assert.is(await patient.imageCard(old), null)
  await rejects(async () => await patient.request('GET', `/api/images/${old.raw}/meta`), 'NOT_FOUND')
})

test.run()
