// The hospital key file: created 0600 as PKCS#8 PEM, loaded back to the same seed, public key and
// PeerId; a group- or world-readable file is refused; an existing key is never overwritten.
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { nodeIdentity } from '../../../ledger/verify/node-crypto.ts'
import { peerIdFromSeed } from '../../../node/p2p/identity.ts'
import { createKeyFile, KEY_FILE, loadKeyFile, loadOrCreateKey, seedFromPem, seedToPem } from '../../../node/keys.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'

let dir = ''

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medichain-keys-'))
})

test.after.each(async () => {
  await rm(dir, { recursive: true, force: true })
})

test('createKeyFile writes a 0600 PKCS#8 PEM key that loads back to the same identity', async () => {
  const data = join(dir, 'data')
  const created = await createKeyFile(data)
  const st = await stat(join(data, KEY_FILE))
  assert.is(st.mode & 0o777, 0o600)
  assert.is((await stat(data)).mode & 0o777, 0o700)
  const pem = await readFile(join(data, KEY_FILE), 'utf8')
  assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/)
  assert.not.match(pem, toHex(created.seed), 'the seed is not stored in clear hex')
  const loaded = await loadKeyFile(data)
  assert.is(toHex(loaded.seed), toHex(created.seed))
  assert.is(toHex(loaded.publicKey), toHex(nodeIdentity(created.seed).publicKey))
  assert.is(loaded.peerId, (await peerIdFromSeed(created.seed)).toString())
  assert.equal(await readdir(data), [KEY_FILE], 'no temporary file is left behind')
})

test('a given seed round-trips through PEM', () => {
  const seed = new Uint8Array(32).map((_, i) => i * 7)
  assert.is(toHex(seedFromPem(seedToPem(seed))), toHex(seed))
  throwsCode(() => seedFromPem('not a key'), 'BAD_KEY')
})

test('a key readable by group or others is refused with KEY_PERMISSIONS', async () => {
  await createKeyFile(dir)
  for (const mode of [0o644, 0o640, 0o604, 0o660]) {
    await chmod(join(dir, KEY_FILE), mode)
    await rejects(async () => await loadKeyFile(dir), 'KEY_PERMISSIONS')
    await rejects(async () => await loadOrCreateKey(dir), 'KEY_PERMISSIONS')
  }
  await chmod(join(dir, KEY_FILE), 0o400)
  await loadKeyFile(dir)
})

test('an existing key is never overwritten', async () => {
  const first = await createKeyFile(dir)
  const before = await readFile(join(dir, KEY_FILE), 'utf8')
  await rejects(async () => await createKeyFile(dir), 'KEY_EXISTS')
  await rejects(async () => await createKeyFile(dir, { seed: new Uint8Array(32) }), 'KEY_EXISTS')
  assert.is(await readFile(join(dir, KEY_FILE), 'utf8'), before)
  const again = await loadOrCreateKey(dir)
  assert.is(again.created, false)
  assert.is(toHex(again.key.publicKey), toHex(first.publicKey))
  assert.equal(await readdir(dir), [KEY_FILE])
})

test('missing and malformed key files have their own codes', async () => {
  await rejects(async () => await loadKeyFile(dir), 'KEY_NOT_FOUND')
  await writeFile(join(dir, KEY_FILE), 'garbage', { mode: 0o600 })
  await rejects(async () => await loadKeyFile(dir), 'BAD_KEY')
  const made = await loadOrCreateKey(join(dir, 'fresh'))
  assert.is(made.created, true)
})

test.run()
