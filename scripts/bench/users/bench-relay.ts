// `npm run bench:relay`: what a sign-in at another hospital costs (issue 18). Two hospitals on
// 127.0.0.1 with production auth settings (scrypt N = 2^17): a patient of A signs in at A (the
// same-run reference) and at C through A, measured from the HTTP request to the answer (the
// page's PBKDF2 is the same for both and left out); then a request of a relayed session that
// asks A on every request (`checkMs` 0) against one whose check is cached (the default 30 s).
// `--runs R` (default 5) gives medians with min–max.
import { parseArgs } from 'node:util'
import { deriveAuthSecret } from '../../../protocol/crypto/auth-secret.ts'
import { toHex } from '../../../protocol/bytes.ts'
import { MedichainClient } from '../../../protocol/client/client.ts'
import { proofToBase64, sealRelayProof } from '../../../protocol/crypto/relay-sign-in.ts'
import { AUTH_DEFAULTS } from '../../../node/auth/constants.ts'
import { startTwoMemberPeers } from '../two-member-peers.ts'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } }, strict: true })
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 3) throw new Error('--runs: expected an integer of at least 3')

const PASSWORD = 'bench patient long password'
const { peers, stop } = await startTwoMemberPeers('relay', { auth: { ...AUTH_DEFAULTS, relay: { checkMs: 0 } } })
const [A, C] = peers

const signUp = new MedichainClient({ baseUrl: A.http.url, vaultIterations: 1000 })
const { patientId } = await signUp.signUp({ username: 'pat', password: PASSWORD, role: 'patient' })
while (await C.ledger.queries.patientAccount(Buffer.from(patientId as string, 'hex')) === undefined) {
  await new Promise(resolve => C.ledger.addEventListener('block:appended', resolve, { once: true }))
}
const secretHex = await deriveAuthSecret('pat', PASSWORD)

const post = async (url: string, body: unknown): Promise<{ ms: number, cookie: string }> => {
  const t = performance.now()
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  await res.arrayBuffer()
  const ms = performance.now() - t
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`)
  return { ms, cookie: res.headers.getSetCookie()[0].split(';')[0] }
}
const get = async (url: string, cookie: string): Promise<number> => {
  const t = performance.now()
  const res = await fetch(url, { headers: { cookie } })
  await res.arrayBuffer()
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`)
  return performance.now() - t
}

const local: number[] = []
const relayed: number[] = []
const checked: number[] = []
const reference: number[] = []
for (let r = 0; r < runs; r++) {
  const home = await post(`${A.http.url}/api/auth/sign-in`, { username: 'pat', password: secretHex })
  local.push(home.ms)
  const { proof } = sealRelayProof({ username: 'pat', secretHex, home: A.ledger.self, via: C.ledger.self, time: Date.now() })
  const away = await post(`${C.http.url}/api/auth/remote-sign-in`, { home: toHex(A.ledger.self), proof: proofToBase64(proof) })
  relayed.push(away.ms)
  // The same route in both: a relayed session asking A each time, a local session at A.
  checked.push(await get(`${C.http.url}/api/auth/me`, away.cookie))
  reference.push(await get(`${A.http.url}/api/auth/me`, home.cookie))
}

const med = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }
const fmt = (xs: number[]): string => `${med(xs).toFixed(1)} ms (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`
console.log(`medians of ${runs} runs (min–max), scrypt N = 2^17:`)
console.log(`  sign-in at home (reference)            ${fmt(local)}`)
console.log(`  sign-in at another hospital (relayed)  ${fmt(relayed)}`)
console.log(`  GET /api/auth/me, local session at home (reference)   ${fmt(reference)}`)
console.log(`  GET /api/auth/me, relayed session checked with home   ${fmt(checked)}`)
await stop()
