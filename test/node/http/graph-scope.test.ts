// Issue 11.4 on a real peer: a self-registered patient is refused on every explorer route, sees
// their own transactions with inclusion proofs that check in the browser's code, and nobody
// else's; a key lookup hides pending staff from non-admins; and a clinician's listing answers
// "no images" exactly like "not allowed".
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { ApiError } from '../../../protocol/client/client.ts'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { checkTxProof } from '../../../web/src/lib/proof-check.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { client, startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { waitFor } from '../../helpers/timeout.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

/** Status and body of a GET as `who`, errors included. */
async function get (who: MedichainClient, path: string): Promise<{ status: number, body: Record<string, unknown> }> {
  try {
    const res = await who.request('GET', path)
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  } catch (err) {
    if (!(err instanceof ApiError)) throw err
    return { status: err.status, body: { code: err.code, message: err.message } }
  }
}

test('a self-registered patient cannot page through the graph, but checks their own transactions', async () => {
  hospitals = await startHospitals(1)
  const [A] = hospitals
  const self = toHex(A.peer.ledger.self)
  const pat = await user(A, 'pat', 'patient')
  const other = await user(A, 'other', 'patient')
  const doc = await user(A, 'doc', 'clinician')
  const pid = pat.user?.patientId as string
  await doc.upload(pid, testImages().png, 'scan.png')
  await doc.patientImages(pid)
  const [read] = await pat.myAudit()
  const ownTx = read.id as string
  const othersTx = (await other.grant({ grantee: self, kind: 'hospital', purpose: 'training', expires: Date.now() + 60_000 })).id

  const explorer = ['/api/ledger/heads', `/api/ledger/blocks?author=${self}`, `/api/ledger/tx/${ownTx}`, `/api/ledger/tx/${othersTx}`, '/api/ledger/state-root', '/api/ledger/evidence']
  for (const path of explorer) {
    for (const who of [pat, doc]) {
      const { status, body } = await get(who, path)
      assert.is(status, 403, `${who.user?.role} on ${path}`)
      assert.is(body.code, 'FORBIDDEN')
    }
    assert.is((await get(A.admin, path)).status, 200, `the admin reads ${path}`)
  }

  // The patient's own transaction, with a proof the browser's code accepts; another's is "not found".
  const mine = await get(pat, `/api/me/tx/${ownTx}`)
  assert.is(mine.status, 200)
  const health = (await get(pat, '/api/health')).body
  const members = ((await get(pat, '/api/members')).body.members as Array<{ key: string }>).map(m => m.key)
  const outcome = checkTxProof(ownTx, mine.body.proof, { ledgerId: health.ledger as string, members })
  assert.ok(outcome.ok, 'the inclusion proof checks')
  for (const [who, id] of [[pat, othersTx], [doc, othersTx], [other, ownTx]] as const) {
    const { status, body } = await get(who, `/api/me/tx/${id}`)
    assert.is(status, 404, `${who.user?.username} on someone else's tx`)
    assert.is(body.code, 'NOT_FOUND')
  }
  assert.is((await get(doc, `/api/me/tx/${ownTx}`)).status, 200, 'a clinician sees the read they made')
})

test('a key lookup shows pending staff to the admin only', async () => {
  hospitals = await startHospitals(1)
  const [A] = hospitals
  const pat = await user(A, 'pat', 'patient')
  await client(A.url).signUp({ username: 'new-doc', password: 'new-doc has a long password', role: 'clinician' })
  const pending = (await get(A.admin, '/api/accounts?status=pending')).body.accounts as Array<{ username: string, signPub: string }>
  const key = pending.find(a => a.username === 'new-doc')?.signPub as string
  const asPatient = await get(pat, `/api/accounts/by-key/${key}`)
  assert.is(asPatient.status, 404)
  assert.is(asPatient.body.code, 'NOT_FOUND')
  const asAdmin = await get(A.admin, `/api/accounts/by-key/${key}`)
  assert.is(asAdmin.status, 200)
  assert.is(asAdmin.body.status, 'pending')
  await A.admin.approve('new-doc')
  assert.is((await get(pat, `/api/accounts/by-key/${key}`)).body.status, 'active', 'once approved, patients may find the clinician')
})

test('a clinician\'s listing answers "no images" exactly like "not allowed"', async () => {
  hospitals = await startHospitals(2)
  const [A, B] = hospitals
  const withImages = await user(A, 'pat-1', 'patient')
  const without = await user(A, 'pat-2', 'patient')
  const docA = await user(A, 'doc-a', 'clinician')
  const docB = await user(B, 'doc-b', 'clinician')
  const pid = withImages.user?.patientId as string
  await docA.upload(pid, testImages().png, 'scan.png')
  await waitFor(async () => (await B.peer.ledger.queries.imagesOf(fromHex(pid))).length === 1, { timeout: 10_000, what: 'the image record to reach B' })
  const answers = []
  for (const p of [withImages, without]) answers.push(await get(docB, `/api/patients/${p.user?.patientId as string}/images`))
  assert.is(answers[0].status, 403)
  assert.is(answers[0].body.code, 'NO_CONSENT')
  assert.equal(answers[1], answers[0], 'the same status, code and message')
})

test.run()
