// A consent naming a study of any size (issue 13 item 3, docs/design.md §5 "Study keys"): a CT study
// of 400 instances arrives at hospital A over C-STORE; each instance's data keys are sealed under
// the study's key. The patient grants hospital B the study from the SDK: one study key, not 400
// image keys. B's clinician is refused before the grant, then lists and opens the study (viewer
// API and QIDO/WADO), also an instance sent after the grant, and is refused again after the
// revoke. A study key box bound to another study, or holding another study's key, opens nothing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { fromBase64 } from '../../../protocol/base64.ts'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { nobleIdentity } from '../../../protocol/crypto/ed25519.ts'
import { unwrapKey } from '../../../protocol/crypto/key-wrap.ts'
import { wrapStudyKey } from '../../../protocol/crypto/study-key.ts'
import { txToBase64 } from '../../../protocol/chain/tx-transport.ts'
import { encodeTx, parseBody, signTx } from '../../../protocol/chain/tx.ts'
import { hospitalBoxPublicKey } from '../../../protocol/crypto/user-keys.ts'
import type { ApiStudyKey, MedichainClient } from '../../../protocol/client/client.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { dcmtk, writeStudy } from '../../helpers/imaging/dicom.ts'
import { dicomwebClient, viewerToken } from '../../helpers/imaging/dicomweb.ts'
import { rejects } from '../../helpers/assert.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'
import { waitFor } from '../../helpers/timeout.ts'

/** Instances of the study: more than twice what one consent could carry as image keys (162). */
const SLICES = 400
const STUDY = '2.25.7100001'
const MRN = 'MRN-SK-1'
const PATIENT = { mrn: MRN, name: 'SYNTH^STUDYKEY^PAT', birthDate: '19800202' }

let hospitals: Hospital[] = []
let dir = ''

test.before(async () => {
  hospitals = await startHospitals(2, { dicom: {} })
  dir = await tempDir('medichain-study-key-')
})

test.after(async () => {
  await stopHospitals(hospitals)
  await cleanup()
})

async function store (A: Hospital, files: string[]): Promise<void> {
  const port = String(A.peer.dicom?.address()?.port)
  const sent = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', port, ...files], 300_000)
  assert.is(sent.code, 0, sent.stderr)
  // Acknowledged from custody (the default): the intake puts them on the ledger right after.
  await withTimeout(A.peer.dicom?.settled() ?? Promise.resolve(), 120_000, 'the intake to attach the instances')
}

let patient: MedichainClient
let pid = ''

test(`a consent naming a study of ${SLICES} instances opens it at another hospital, with later instances, until revoked`, async () => {
  const [A, B] = hospitals
  patient = await user(A, 'sk-patient', 'patient')
  pid = patient.user?.patientId as string
  await A.peer.dicom?.linkPatient(MRN, fromHex(pid))
  await store(A, await writeStudy(join(dir, 'ct'), { ...PATIENT, uid: STUDY, series: [{ uid: `${STUDY}.1`, modality: 'CT', slices: SLICES }] }))
  const mine = await patient.myImages()
  assert.is(mine.length, SLICES)
  const record = mine[0].record as string
  assert.ok(mine.every(i => i.record === record && i.study !== null), 'every instance is sealed under the study key')
  assert.is(new Set(mine.map(i => i.study?.kid)).size, 1, 'one study key for the study')
  const keys = await patient.myStudyKeys(record)
  assert.is(keys.length, 1)
  assert.is(keys[0].custodian, toHex(A.peer.ledger.self))

  const doc = await user(B, 'sk-doc-b', 'clinician')
  const b = dicomwebClient(B.url, (await viewerToken(doc)).token)
  await untilLedger(B.peer.ledger, async () => (await B.peer.ledger.queries.imagesOf(fromHex(pid))).length === SLICES, 'the study\'s records to reach B', 60_000)
  await rejects(async () => await doc.patientImages(pid), 'NO_CONSENT')
  assert.is((await b.searchForStudies()).length, 0, 'B finds nothing before the grant')

  const hospitalB = toHex(B.peer.ledger.self)
  const { id } = await patient.grant({ grantee: hospitalB, kind: 'hospital', purpose: 'treatment', expires: Date.now() + 86_400_000, scope: { kind: 'record', record: fromHex(record) }, images: mine.map(i => i.raw) })
  const granted = await A.peer.ledger.tx(fromHex(id))
  assert.ok(granted?.proof !== undefined)
  const grantBytes = granted.proof.tx.length
  assert.ok(grantBytes < 1024, `the grant is one study key, not ${SLICES} image keys: ${grantBytes} bytes`)
  await untilLedger(B.peer.ledger, async () => await B.peer.ledger.tx(fromHex(id)) !== undefined, 'the consent to reach B', 20_000)

  // The viewer API: the whole study listed, any slice opened and decrypted with the key B re-wrapped.
  const seen = await doc.patientImages(pid)
  assert.is(seen.length, SLICES)
  for (const i of [0, SLICES >> 1, SLICES - 1]) {
    const bytes = await doc.openImage(seen[i])
    assert.is(String.fromCharCode(...bytes.subarray(128, 132)), 'DICM')
  }
  // DICOMweb: QIDO finds every instance, WADO retrieves one.
  const instances = await b.searchForInstances({ studyInstanceUID: STUDY })
  assert.is(instances.length, SLICES)
  const one = await b.retrieveInstance({ studyInstanceUID: STUDY, seriesInstanceUID: `${STUDY}.1`, sopInstanceUID: `${STUDY}.1.7` })
  assert.is(String.fromCharCode(...new Uint8Array(one).subarray(128, 132)), 'DICM')

  // An instance the study gains after the grant is covered by the study's scope and key.
  const later = await writeStudy(join(dir, 'later'), { ...PATIENT, uid: STUDY, series: [{ uid: `${STUDY}.2`, modality: 'CT', slices: 1 }] })
  await store(A, later)
  await untilLedger(B.peer.ledger, async () => (await B.peer.ledger.queries.imagesOf(fromHex(pid))).length === SLICES + 1, 'the later instance to reach B', 20_000)
  const now = await doc.patientImages(pid)
  assert.is(now.length, SLICES + 1)
  const added = now.find(i => !seen.some(s => s.raw === i.raw))
  assert.ok(added !== undefined)
  assert.is(String.fromCharCode(...(await doc.openImage(added)).subarray(128, 132)), 'DICM')

  // Revoked: refused again, over the viewer API and DICOMweb.
  const revoked = await patient.revoke(id, hospitalB, 'treatment')
  await untilLedger(B.peer.ledger, async () => await B.peer.ledger.tx(fromHex(revoked.id)) !== undefined, 'the revoke to reach B', 20_000)
  await rejects(async () => await doc.patientImages(pid), 'NO_CONSENT')
  await rejects(async () => await doc.openImage(seen[0]), 'NO_CONSENT')
  assert.is((await b.searchForStudies()).length, 0, 'B finds nothing after the revoke')
})

test('a study key box bound to another study, or holding another study\'s key, opens nothing', async () => {
  const [A, B] = hospitals
  const other = '2.25.7100002'
  await store(A, await writeStudy(join(dir, 'mr'), { ...PATIENT, uid: other, series: [{ uid: `${other}.1`, modality: 'MR', slices: 2 }] }))
  const all = await patient.myStudyKeys()
  assert.is(all.length, 2)
  const ct = (await patient.myImages()).find(i => i.dicom !== null && i.modality === 'CT')?.record
  const ctKey = all.find(k => k.record === ct) as ApiStudyKey
  const mrKey = all.find(k => k.record !== ct) as ApiStudyKey
  const doc = await user(B, 'sk-doc-b2', 'clinician')
  await untilLedger(B.peer.ledger, async () => (await B.peer.ledger.queries.studyKeysOf(fromHex(pid))).length === 2, 'the second study key to reach B', 20_000)
  const keys = patient.keys
  if (keys === null) throw new Error('the patient\'s vault is locked')
  const boxB = hospitalBoxPublicKey(B.peer.ledger.self)
  const binding = (k: ApiStudyKey) => ({ patient: fromHex(k.patientId), record: fromHex(k.record), custodian: fromHex(k.custodian), kid: fromHex(k.kid) })
  const ctStudyKey = unwrapKey(fromBase64(ctKey.key), keys.boxSecret)
  const mrStudyKey = unwrapKey(fromBase64(mrKey.key), keys.boxSecret)
  const forge = async (box: Uint8Array): Promise<string> => {
    // Signed by the patient, as a tampered client would: the ledger sees a bound key of the MR study's entry.
    const identity = nobleIdentity(keys.signSeed)
    const body = parseBody('consent.grant', {
      grantee: B.peer.ledger.self, kind: 'hospital', purpose: 'treatment', scope: { kind: 'record', record: fromHex(mrKey.record) }, expires: Date.now() + 86_400_000, keys: [],
      studies: [{ record: fromHex(mrKey.record), custodian: fromHex(mrKey.custodian), kid: fromHex(mrKey.kid), key: box }]
    })
    const { nextSeq } = await patient.myConsents()
    const tx = signTx((await patient.peerInfo()).ledger, { type: 'consent.grant', body, signer: identity.publicKey, seq: nextSeq, time: Date.now() }, identity)
    encodeTx(tx)
    const res = await patient.request('POST', '/api/consents', { tx: txToBase64(tx) })
    const { id } = await res.json() as { id: string }
    await untilLedger(B.peer.ledger, async () => await B.peer.ledger.tx(fromHex(id)) !== undefined, 'the forged consent to reach B', 20_000)
    return id
  }
  // The MR study's own key, in a box bound to the CT study, filed under the MR study's entry: the
  // key would open the MR slices, but the peer refuses a box not bound to the study it is filed under.
  await forge(wrapStudyKey(mrStudyKey, binding(ctKey), boxB))
  await rejects(async () => await doc.patientImages(pid), 'BAD_WRAPPED_KEY')
  // The CT study's key in a box bound to the MR study: the binding holds, the MR slices' seals do not open.
  await forge(wrapStudyKey(ctStudyKey, binding(mrKey), boxB))
  await rejects(async () => await doc.patientImages(pid), 'BAD_WRAPPED_KEY')
  ctStudyKey.fill(0)
  mrStudyKey.fill(0)
  // The honest grant of the MR study opens it, and only it.
  await patient.grant({ grantee: toHex(B.peer.ledger.self), kind: 'hospital', purpose: 'treatment', expires: Date.now() + 86_400_000, scope: { kind: 'record', record: fromHex(mrKey.record) }, images: [] })
  await waitFor(async () => (await doc.patientImages(pid).catch(() => [])).length === 2, { timeout: 20_000, what: 'the honest grant to open the MR study at B' })
  const mr = await doc.patientImages(pid)
  assert.ok(mr.every(i => i.record === mrKey.record))
  assert.is(String.fromCharCode(...(await doc.openImage(mr[0])).subarray(128, 132)), 'DICM')
})

test.run()
