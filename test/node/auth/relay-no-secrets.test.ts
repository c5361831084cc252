// Issue 18: a patient of A signs in at C, uses the portal there and signs out; afterwards C's disk
// (every file, and every key and value of every level store in its data folder), C's log lines
// (at trace level) and everything gossiped in the consortium hold neither the patient's password
// hash, nor their authentication secret, nor any part of their sealed vault, nor the password.
// The same scan of A's folder finds the hash and the vault, so the scan can fail.
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { Level } from 'level'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { deriveAuthSecret } from '../../../protocol/crypto/auth-secret.ts'
import { fromBase64 } from '../../../protocol/base64.ts'
import { fromHex } from '../../../protocol/bytes.ts'
import { createLogger } from '../../../node/logger.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'
import { client, startHospitals, stopHospitals } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

const PASSWORD = 'pat has a long password'

/** A secret as text and as the bytes it encodes; found if either occurs. */
interface Needle { what: string, forms: Buffer[] }

function needles (hash: string, vault: Record<string, unknown>, secretHex: string): Needle[] {
  const kdf = vault.kdf as { salt: string }
  const hashPart = hash.split('$').at(-1) as string
  const b64 = (what: string, text: string): Needle => ({ what, forms: [Buffer.from(text), Buffer.from(fromBase64(text.padEnd(Math.ceil(text.length / 4) * 4, '=')))] })
  return [
    { what: 'password hash', forms: [Buffer.from(hash)] },
    b64('hash bytes', hashPart),
    b64('vault ciphertext', vault.ct as string),
    b64('vault check value', vault.check as string),
    b64('vault salt', kdf.salt),
    { what: 'authentication secret', forms: [Buffer.from(secretHex), Buffer.from(fromHex(secretHex))] },
    { what: 'password', forms: [Buffer.from(PASSWORD)] }
  ]
}

function found (haystack: Buffer, list: Needle[]): string[] {
  return list.filter(n => n.forms.some(f => haystack.includes(f))).map(n => n.what)
}

/** Every file under `dir`, and every entry of every level store under it. */
async function scanFolder (dir: string, list: Needle[]): Promise<Set<string>> {
  const hits = new Set<string>()
  const levels: string[] = []
  // Raw files first: opening a level store rewrites its log into tables.
  const walk = async (d: string): Promise<void> => {
    const names = await readdir(d)
    if (names.includes('CURRENT')) levels.push(d)
    for (const name of names) {
      const p = join(d, name)
      if ((await stat(p)).isDirectory()) await walk(p)
      else for (const w of found(await readFile(p), list)) hits.add(`${w} in file ${p}`)
    }
  }
  await walk(dir)
  for (const d of levels) {
    const db = new Level<Uint8Array, Uint8Array>(d, { keyEncoding: 'view', valueEncoding: 'view' })
    for await (const [k, v] of db.iterator()) for (const w of found(Buffer.concat([k, v]), list)) hits.add(`${w} in level ${d}`)
    await db.close()
  }
  return hits
}

test('C\'s disk, logs and gossip hold no hash or vault of a patient who signed in there', async () => {
  const lines: string[] = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done() } })
  hospitals = await startHospitals(3, {
    relay: { checkMs: 0 },
    logger: (n) => n === 3 ? createLogger({ level: 'trace', destination: sink }) : createLogger({ silent: true })
  })
  const [A, B, C] = hospitals
  const gossip: Buffer[] = []
  for (const h of [A, B]) {
    h.peer.p2p.libp2p.services.pubsub.addEventListener('message', (e) => { gossip.push(Buffer.from(e.detail.data)) })
  }
  const { patientId } = await client(A.url).signUp({ username: 'pat', password: PASSWORD, role: 'patient' })
  await untilLedger(C.peer.ledger, async () => await C.peer.ledger.queries.patientAccount(fromHex(patientId as string)) !== undefined, 'registration at C')

  const atC = client(C.url)
  await atC.signInAnywhere('pat@a', PASSWORD)
  await atC.myImages()
  await atC.mySignIns()
  const grant = await atC.grant({ grantee: Buffer.from(B.peer.ledger.self).toString('hex'), kind: 'hospital', purpose: 'treatment', expires: Date.now() + 3_600_000 })
  await untilLedger(A.peer.ledger, async () => await A.peer.ledger.tx(fromHex(grant.id)) !== undefined, 'the consent gossiped to A')
  await atC.signOut()

  const record = await A.peer.auth.relay.record('pat')
  assert.ok(record !== undefined)
  const list = needles(record.passwordHash, record.vault, await deriveAuthSecret('pat', PASSWORD))
  assert.ok(lines.length > 10, 'C logged at trace level')
  assert.ok(gossip.length > 0, 'blocks were gossiped')
  assert.equal(found(Buffer.from(lines.join('')), list), [], 'C\'s logs')
  assert.equal(gossip.flatMap(g => found(g, list)), [], 'gossip')

  await C.peer.stop()
  await A.peer.stop()
  assert.equal([...await scanFolder(C.data, list)], [], 'C\'s data folder')
  // The control: A, the home hospital, does hold the hash and the vault, and the scan finds them.
  const atA = [...await scanFolder(A.data, list)].join('\n')
  assert.ok(atA.includes('password hash'), 'the scan finds the hash at A')
  assert.ok(atA.includes('vault ciphertext'), 'the scan finds the vault at A')
})

test.run()
