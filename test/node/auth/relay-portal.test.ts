// Issue 18 on three real hospitals: a patient who signed up at A signs in at C with `pat@a`,
// sees and decrypts images held at A and at B, grants a consent, sees the sign-in at C in the
// portal (asked of A, where it is recorded), and signs out, which ends A's grant. A's lock of the
// account ends C's session at C's next check; with A offline the sign-in is refused with
// HOME_UNREACHABLE, and a retry once A is back succeeds.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { multiaddr } from '@multiformats/multiaddr'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import type { ApiError, ApiImage } from '../../../protocol/client/client.ts'
import { deriveAuthSecret } from '../../../protocol/crypto/auth-secret.ts'
import { proofToBase64, sealRelayProof } from '../../../protocol/crypto/relay-sign-in.ts'
import { AUTH_DEFAULTS } from '../../../node/auth/constants.ts'
import { rejects } from '../../helpers/assert.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'
import { lpStream } from '@libp2p/utils'
import { peerIdFromMemberKey } from '../../../node/p2p/identity.ts'
import { RELAY_PROTOCOL } from '../../../node/relay/index.ts'
import { decodeAnswer, encodeRequest } from '../../../node/relay/messages.ts'
import { client, hospitalGenesis, startHospital, startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { waitFor, withTimeout } from '../../helpers/timeout.ts'

let hospitals: Array<{ peer: Hospital['peer'] }> = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

const PASSWORD = 'pat has a long password'

/** Signs the patient up at `home` and waits until `others` hold the registration. */
async function patientOf (home: Hospital, others: Hospital[]): Promise<string> {
  const c = client(home.url)
  const { patientId } = await c.signUp({ username: 'pat', password: PASSWORD, role: 'patient' })
  for (const h of others) {
    await untilLedger(h.peer.ledger, async () => await h.peer.ledger.queries.patientAccount(fromHex(patientId as string)) !== undefined, `registration at ${h.name}`)
  }
  return patientId as string
}

test('a patient of A signs in at C, sees A\'s and B\'s images, grants, and signs out', async () => {
  const started = await startHospitals(3, { relay: { checkMs: 0 } })
  hospitals = started
  const [A, B, C] = started
  const patientId = await patientOf(A, [B, C])
  const files = testImages()
  const docA = await user(A, 'doc-a', 'clinician')
  const docB = await user(B, 'doc-b', 'clinician')
  await docA.upload(patientId, files.png, 'a.png')
  await docB.upload(patientId, files.jpeg, 'b.jpg')
  await untilLedger(C.peer.ledger, async () => (await C.peer.ledger.queries.imagesOf(fromHex(patientId))).length === 2, 'both images at C')

  const atC = client(C.url)
  const me = await atC.signInAnywhere('pat@a', PASSWORD)
  assert.is(me.username, 'pat')
  assert.is(me.patientId, patientId)
  assert.equal(me.remote, { hospitalName: 'Hospital A', short: 'a' })
  assert.ok(atC.keys !== null, 'the vault opened in the client')
  assert.is(A.peer.relay.grants(), 1)

  const images = await atC.myImages()
  assert.is(images.length, 2)
  const custodians = new Set(images.map(i => i.custodianName))
  assert.equal(custodians, new Set(['Hospital A', 'Hospital B']))
  const bySize = new Map([[files.png.length, files.png], [files.jpeg.length, files.jpeg]])
  for (const image of images) assert.equal(await atC.openImage(image as ApiImage), bySize.get(image.size), `${image.custodianName}'s image decrypts at C`)

  const grant = await atC.grant({ grantee: docB.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: Date.now() + 3_600_000 })
  await untilLedger(B.peer.ledger, async () => await B.peer.ledger.tx(fromHex(grant.id)) !== undefined, 'the consent at B')
  const consents = await atC.myConsents()
  assert.ok(consents.consents.some(c => c.id === grant.id), 'the consent is listed at C')
  // B's clinician reads under the consent: C shows the patient who viewed, and the credit.
  assert.is((await docB.patientImages(patientId)).length, 2)
  await waitFor(async () => (await atC.myAudit()).some(e => e.accessor === docB.user?.signPub), { timeout: 15_000, what: 'B\'s read in the audit at C' })
  assert.type((await atC.myCredit()).score, 'number')

  const signIns = await atC.mySignIns()
  assert.is(signIns.length, 1)
  assert.is(signIns[0].hospitalName, 'Hospital C')
  const atHome = client(A.url)
  await atHome.signIn('pat', PASSWORD)
  assert.equal((await atHome.mySignIns()).map(s => s.hospitalName), ['Hospital C'], 'the home portal shows the sign-in at C')

  await atC.signOut()
  await rejects(async () => await atC.myImages(), 'UNAUTHENTICATED')
  await waitFor(() => A.peer.relay.grants() === 0, { timeout: 10_000, what: 'A to drop the grant after sign-out at C' })
})

test('the session at C is C\'s own: its CSRF token, its idle timeout', async () => {
  // C's clock can be moved past its idle timeout; A's and B's run true.
  let ahead = 0
  const started = await startHospitals(3, { relay: { checkMs: 0 }, clocks: (n) => n === 3 ? () => Date.now() + ahead : undefined })
  hospitals = started
  const [A, B, C] = started
  await patientOf(A, [B, C])
  const { proof } = sealRelayProof({ username: 'pat', secretHex: await deriveAuthSecret('pat', PASSWORD), home: A.peer.ledger.self, via: C.peer.ledger.self, time: Date.now() })
  const res = await fetch(`${C.url}/api/auth/remote-sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ home: toHex(A.peer.ledger.self), proof: proofToBase64(proof) }) })
  assert.is(res.status, 200)
  const cookie = res.headers.getSetCookie()[0].split(';')[0]
  const { csrfToken } = await res.json() as { csrfToken: string }
  const at = async (method: string, path: string, headers: Record<string, string> = {}): Promise<Response> =>
    await fetch(`${C.url}${path}`, { method, headers: { cookie, 'content-type': 'application/json', ...headers }, ...(method === 'GET' ? {} : { body: '{}' }) })
  // A write without C's CSRF token is refused; with it, the request reaches the route (and its body check).
  const noToken = await at('POST', '/api/consents')
  assert.is(noToken.status, 403)
  assert.is((await noToken.json() as { code: string }).code, 'CSRF')
  const withToken = await at('POST', '/api/consents', { 'x-csrf-token': csrfToken })
  assert.is(withToken.status, 400)
  assert.is((await at('GET', '/api/me/images')).status, 200)
  // Past C's idle timeout the session ends at C, whatever A says.
  ahead = AUTH_DEFAULTS.sessionIdleMs + 1000
  assert.is((await at('GET', '/api/me/images')).status, 401)
})

test('refusals: a staff account, an unknown hospital, a proof carried by another member, a replay', async () => {
  const started = await startHospitals(3, { relay: { checkMs: 0 } })
  hospitals = started
  const [A, B, C] = started
  await patientOf(A, [B, C])
  await user(A, 'doc-a', 'clinician')
  await rejects(async () => await client(C.url).signInAnywhere('doc-a@a', 'doc-a has a long password'), 'PATIENTS_ONLY')
  await rejects(async () => await client(C.url).signInAnywhere('pat@nowhere', PASSWORD), 'UNKNOWN_HOSPITAL')
  await rejects(async () => await client(C.url).signInAnywhere('pat@a', 'not the password at all'), 'BAD_CREDENTIALS')

  // A local patient of C named `pat` too is someone else: the relayed `pat` cannot touch that account.
  const localPat = client(C.url)
  const other = await localPat.signUp({ username: 'pat', password: 'the other pat at C, long', role: 'patient' })
  const relayedPat = client(C.url)
  const me = await relayedPat.signInAnywhere('pat@a', PASSWORD)
  assert.is.not(me.patientId, other.patientId)
  await rejects(async () => await relayedPat.changePassword(PASSWORD, 'a new password for pat'), 'HOME_ONLY')
  await localPat.signIn('pat', 'the other pat at C, long')
  await relayedPat.myImages()

  // A proof sealed for C but delivered through B, and the same proof delivered twice.
  const secretHex = await deriveAuthSecret('pat', PASSWORD)
  const home = A.peer.ledger.self
  const forC = sealRelayProof({ username: 'pat', secretHex, home, via: C.peer.ledger.self, time: Date.now() })
  const body = { home: toHex(home), proof: proofToBase64(forC.proof) }
  await rejects(async () => await client(B.url).request('POST', '/api/auth/remote-sign-in', body), 'BAD_RELAY_PROOF')
  const ok = client(C.url)
  await ok.request('POST', '/api/auth/remote-sign-in', body)
  await rejects(async () => await client(C.url).request('POST', '/api/auth/remote-sign-in', body), 'BAD_RELAY_PROOF')
  // A revoke of these sessions from B, which did not grant them, ends nothing at C.
  assert.is(A.peer.relay.grantHashes().length, 2)
  for (const grantHash of A.peer.relay.grantHashes()) {
    const stream = await B.peer.p2p.libp2p.dialProtocol(peerIdFromMemberKey(C.peer.ledger.self), RELAY_PROTOCOL)
    const lp = lpStream(stream)
    await lp.write(encodeRequest({ t: 'revoke', grantHash: fromHex(grantHash) }))
    assert.equal(decodeAnswer((await lp.read()).subarray()), { t: 'ended' })
    await stream.close()
  }
  await ok.myImages()
  await relayedPat.myImages()
  // A stale proof (older than the allowed clock difference).
  const stale = sealRelayProof({ username: 'pat', secretHex, home, via: C.peer.ledger.self, time: Date.now() - 3_600_000 })
  await rejects(async () => await client(C.url).request('POST', '/api/auth/remote-sign-in', { ...body, proof: proofToBase64(stale.proof) }), 'BAD_RELAY_PROOF')
  // Naming C itself as the home is refused: sign in there directly.
  await rejects(async () => await client(C.url).request('POST', '/api/auth/remote-sign-in', { ...body, home: toHex(C.peer.ledger.self) }), 'UNKNOWN_HOSPITAL')
})

test('a password change at home ends the session at C at once', async () => {
  // C keeps its default 30 s between checks: only A's revoke can end the session within the test.
  const started = await startHospitals(3)
  hospitals = started
  const [A, B, C] = started
  await patientOf(A, [B, C])
  const atC = client(C.url)
  await atC.signInAnywhere('pat@a', PASSWORD)
  await atC.myImages()
  const atHome = client(A.url)
  await atHome.signIn('pat', PASSWORD)
  assert.is(A.peer.relay.grants(), 1)
  await atHome.changePassword(PASSWORD, 'pat has a brand new password')
  assert.is(A.peer.relay.grants(), 0, 'A drops the grant at once (sessions:ended)')
  await waitFor(async () => await atC.myImages().then(() => false, (err: { code?: string }) => err.code === 'UNAUTHENTICATED'), { timeout: 10_000, what: 'C to end the session on A\'s revoke' })
  await rejects(async () => await client(C.url).signInAnywhere('pat@a', PASSWORD), 'BAD_CREDENTIALS')
  await client(C.url).signInAnywhere('pat@a', 'pat has a brand new password')
  await atHome.myImages()
})

test('a lock at home ends the session at C; home offline is HOME_UNREACHABLE, and a retry succeeds once it is back', async () => {
  const started = await startHospitals(3, { relay: { checkMs: 0, offlineGraceMs: 0 } })
  hospitals = started
  const [A, B, C] = started
  await patientOf(A, [B, C])
  const atC = client(C.url)
  await atC.signInAnywhere('pat@a', PASSWORD)
  await atC.myImages()
  await A.admin.request('POST', '/api/accounts/pat/lock')
  await rejects(async () => await atC.myImages(), 'UNAUTHENTICATED')
  assert.is(await atC.resume(), null, 'the session is gone at C')
  await A.admin.request('POST', '/api/accounts/pat/unlock')

  // A goes down: with no offline grace, a session at C ends at its next check, and a new sign-in
  // is answered at once with a typed, retryable error.
  const during = client(C.url)
  await during.signInAnywhere('pat@a', PASSWORD)
  const dataA = A.data
  await A.peer.stop()
  await rejects(async () => await during.myImages(), 'UNAUTHENTICATED')
  const err = await rejects(async () => await client(C.url).signInAnywhere('pat@a', PASSWORD), 'HOME_UNREACHABLE') as ApiError
  assert.is(err.status, 503)
  assert.ok(err.retryAfter !== null && err.retryAfter > 0, 'Retry-After tells the portal when to try again')

  // A comes back on the same folder; the patient retries and is in.
  const back = await startHospital(1, hospitalGenesis(3), { data: dataA, relay: { checkMs: 0 } })
  hospitals = [back, B, C]
  await back.peer.p2p.libp2p.dial(multiaddr(C.peer.p2p.addresses()[0]))
  await withTimeout(back.peer.writes.whenOpen(), 20_000, 'A writes open again')
  const again = await client(C.url).signInAnywhere('pat@a', PASSWORD)
  assert.is(again.remote?.short, 'a')
})

test.run()
