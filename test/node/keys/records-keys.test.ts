// A patient controls what their consent carries; the peer must not be turned into a key oracle.
// Here a patient puts another patient's data key (wrapped for the hospital, as on the ledger in
// that patient's image.add) into a consent to the hospital: the ledger refuses a key not bound to
// its image (the binding itself is tested in test/protocol/chain/consent.test.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import { equals, fromHex } from '../../../protocol/bytes.ts'
import { nobleIdentity } from '../../../protocol/crypto/ed25519.ts'
import { hospitalBoxPublicKey } from '../../../protocol/crypto/user-keys.ts'
import { signTx } from '../../../protocol/chain/tx.ts'
import type { Tx } from '../../../protocol/chain/tx.ts'
import { txToBase64 } from '../../../protocol/chain/tx-transport.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

test('a consent to a hospital cannot smuggle in another image\'s key', async () => {
  hospitals = await startHospitals(1)
  const [H] = hospitals
  const victim = await user(H, 'victim', 'patient')
  const attacker = await user(H, 'mallory', 'patient')
  const doc = await user(H, 'doc', 'clinician')
  const researcher = await user(H, 'res', 'researcher')
  await doc.upload(victim.user?.patientId as string, testImages(1).png, 'v.png')
  await doc.upload(attacker.user?.patientId as string, testImages(2).png, 'm.png')
  const victimImage = (await H.peer.ledger.queries.imagesOf(fromHex(victim.user?.patientId as string)))[0]
  const hospitalBox = hospitalBoxPublicKey(H.peer.ledger.self)
  const stolen = victimImage.keys.find(k => equals(k.to, hospitalBox))
  assert.ok(stolen, 'the victim\'s key wrapped for the hospital is public on the ledger')
  const [mine] = await attacker.myImages()

  const keys = attacker.keys as NonNullable<typeof attacker.keys>
  const identity = nobleIdentity(keys.signSeed)
  const tx = signTx(H.peer.ledger.id, {
    type: 'consent.grant',
    body: {
      grantee: H.peer.ledger.self, kind: 'hospital', purpose: 'research', scope: { kind: 'all' }, expires: Date.now() + 60_000,
      keys: [{ image: CID.parse(mine.raw), raw: stolen.raw, result: null }]
    },
    signer: identity.publicKey,
    seq: 0,
    time: Date.now()
  }, identity) as Tx
  // The ledger refuses a consent key that is not bound to its image (issue 11.3), so the peer
  // never gets to re-wrap it: the researcher has no consent, and no key.
  await rejects(async () => await attacker.request('POST', '/api/consents', { tx: txToBase64(tx) }), 'CONSENT_KEYS_UNBOUND')
  await rejects(async () => await researcher.patientImages(attacker.user?.patientId as string), 'NO_CONSENT')
  assert.is((await fetch(H.url + '/api/health')).status, 200)
})

test.run()
