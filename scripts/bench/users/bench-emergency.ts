// `npm run bench:emergency`: what an emergency at another hospital costs (issue 16.4). Two
// hospitals on 127.0.0.1: the patient's image is at A. Break-glass by a clinician of A at A (the
// same-run reference: no exchange, no ledger write) against a declaration by a clinician of B at B
// (B asks A over libp2p; A checks its policy, appends `emergency.access` durably and re-wraps the
// keys for B), each timed from the HTTP request to the answer; then the listing of the patient's
// images by each (custodian basis at A against the released keys at B). `--runs R` (default 5)
// gives medians with min–max.
import { parseArgs } from 'node:util'
import { MedichainClient } from '../../../protocol/client/client.ts'
import { AUTH_DEFAULTS } from '../../../node/auth/constants.ts'
import { RECORDS_DEFAULTS } from '../../../node/config/records.ts'
import { startTwoMemberPeers } from '../two-member-peers.ts'
import type { Peer } from '../../../node/peer.ts'
import { makeImages } from './load-users.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } }, strict: true })
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 3) throw new Error('--runs: expected an integer of at least 3')

const { peers, stop } = await startTwoMemberPeers('emergency', {
  // Cheap password hashing: sign-in is not what is measured here.
  auth: { ...AUTH_DEFAULTS, scryptN: 2 ** 14 },
  records: { ...RECORDS_DEFAULTS, emergenciesPerClinician: 1000, emergenciesPerHospital: 1000 }
})
const [A, B] = peers

/** Signs up (the setup admin with the peer's link) and signs in. */
async function account (peer: Peer, username: string, role: 'admin' | 'patient' | 'clinician', admin?: MedichainClient): Promise<MedichainClient> {
  const c = new MedichainClient({ baseUrl: peer.http.url, vaultIterations: 1000 })
  const password = `${username} has a long password`
  const link = role === 'admin' ? peer.auth.setupLink(peer.http.url) : undefined
  await c.signUp({ username, password, role, ...(link === undefined ? {} : { setupToken: new URL(link).hash.replace(/^#token=/, '') }) })
  if (role === 'clinician') await admin?.approve(username)
  await c.signIn(username, password)
  return c
}
const until = async (peer: Peer, check: () => Promise<boolean>): Promise<void> => {
  while (!await check()) await new Promise(resolve => peer.ledger.addEventListener('block:appended', resolve, { once: true }))
}

const adminA = await account(A, 'admin-a', 'admin')
const adminB = await account(B, 'admin-b', 'admin')
const pat = await account(A, 'pat', 'patient')
const pid = pat.user?.patientId as string
const docA = await account(A, 'doc-a', 'clinician', adminA)
const docB = await account(B, 'doc-b', 'clinician', adminB)
await docA.upload(pid, makeImages(1)[0], 'scan.png')
await adminB.request('PUT', `/api/emergency-roles/${docB.user?.signPub as string}`, { role: 'allow' })
await until(A, async () => (await A.ledger.queries.emergencies.role(Buffer.from(docB.user?.signPub as string, 'hex')))?.role === 'allow')
await until(B, async () => (await B.ledger.queries.imagesOf(Buffer.from(pid, 'hex'))).length === 1)

const timed = async (fn: () => Promise<unknown>): Promise<number> => {
  const t = performance.now()
  await fn()
  return performance.now() - t
}
const reason = 'bench: unconscious patient, history needed'
const sample = { here: [] as number[], elsewhere: [] as number[], listHere: [] as number[], listElsewhere: [] as number[] }
for (let r = 0; r < runs; r++) {
  sample.here.push(await timed(async () => await docA.emergency(pid, reason)))
  sample.elsewhere.push(await timed(async () => await docB.emergency(pid, reason)))
  sample.listHere.push(await timed(async () => await docA.patientImages(pid)))
  sample.listElsewhere.push(await timed(async () => await docB.patientImages(pid)))
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }
const show = (xs: number[]): string => `${median(xs).toFixed(1)} ms (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`
console.log(`emergency, ${runs} runs, medians (min–max)`)
console.log(`  declared at the custodian A (reference)          ${show(sample.here)}`)
console.log(`  declared at B, keys released by A               ${show(sample.elsewhere)}`)
console.log(`  listing at A, custodian basis (reference)       ${show(sample.listHere)}`)
console.log(`  listing at B, emergency keys re-wrapped by B    ${show(sample.listElsewhere)}`)
await stop()
