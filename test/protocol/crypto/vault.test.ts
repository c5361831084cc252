// The password vault: round trips (also through JSON), the default work factor, the two failure
// codes (wrong password vs damaged vault), the username binding, and every shape rule.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromBase64, toBase64 } from '../../../protocol/base64.ts'
import { generateUserKeys } from '../../../protocol/crypto/user-keys.ts'
import { openVault, parseSealedVault, sealVault, VAULT_ITERATIONS } from '../../../protocol/crypto/vault.ts'
import type { SealedVault } from '../../../protocol/crypto/vault.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'

const FAST = 1_000
const username = 'alice@hospital-a'
const password = 'correct horse battery staple'
const keys = generateUserKeys()

/** A deterministic random source: 1, 2, 3, … */
function counter (): (n: number) => Uint8Array {
  let next = 0
  return (n) => Uint8Array.from({ length: n }, () => ++next & 255)
}

let sealed: SealedVault

test.before(async () => {
  sealed = await sealVault(keys, password, { username, iterations: FAST })
})

/** A copy of the sealed vault with one field replaced. */
function withField (patch: Record<string, unknown>, kdfPatch: Record<string, unknown> = {}): unknown {
  return { ...sealed, ...patch, kdf: { ...sealed.kdf, ...kdfPatch } }
}

/** The base64 field with one bit flipped. */
function flipped (b64: string, byte = 0): string {
  const bytes = fromBase64(b64)
  bytes[byte] ^= 1
  return toBase64(bytes)
}

test('a sealed vault opens to the same keys, also after a JSON round trip', async () => {
  assert.equal(await openVault(sealed, password, { username }), keys)
  const viaJson: unknown = JSON.parse(JSON.stringify(sealed))
  assert.equal(await openVault(viaJson, password, { username }), keys)
  assert.equal(parseSealedVault(viaJson), sealed)
})

test('the vault holds only what it must: version, kdf parameters, iv, check and ciphertext', () => {
  assert.equal(Object.keys(sealed).sort(), ['check', 'ct', 'iv', 'kdf', 'v'])
  assert.equal(sealed.kdf, { name: 'PBKDF2', hash: 'SHA-256', iterations: FAST, salt: sealed.kdf.salt })
  assert.is(fromBase64(sealed.kdf.salt).length, 16)
  assert.is(fromBase64(sealed.iv).length, 12)
  // 2 × 32-byte secrets in dag-cbor plus the GCM tag; no public key or username in clear.
  assert.ok(fromBase64(sealed.ct).length < 120)
  assert.not.ok(JSON.stringify(sealed).includes(username))
})

test('sealing is deterministic under a fixed random source, and fresh otherwise', async () => {
  const a = await sealVault(keys, password, { username, iterations: FAST, random: counter() })
  const b = await sealVault(keys, password, { username, iterations: FAST, random: counter() })
  assert.equal(a, b)
  assert.not.equal(a.kdf.salt, sealed.kdf.salt)
  assert.not.equal(a.iv, sealed.iv)
})

test('new vaults use 600,000 PBKDF2 iterations by default', async () => {
  const slow = await sealVault(keys, password, { username })
  assert.is(slow.kdf.iterations, VAULT_ITERATIONS)
  assert.is(VAULT_ITERATIONS, 600_000)
  assert.equal(await openVault(slow, password, { username }), keys)
})

test('a wrong password is BAD_PASSWORD', async () => {
  await rejects(() => openVault(sealed, `${password}!`, { username }), 'BAD_PASSWORD')
  await rejects(() => openVault(sealed, '', { username }), 'BAD_PASSWORD')
})

test('the password is compared after NFC normalisation', async () => {
  const composed = 'caf\u00e9 au lait, s\u2019il vous pla\u00eet'
  const v = await sealVault(keys, composed, { username, iterations: FAST })
  assert.equal(await openVault(v, composed.normalize('NFD'), { username }), keys)
})

test('another username is BAD_VAULT: the AAD binds the account', async () => {
  await rejects(() => openVault(sealed, password, { username: 'mallory@hospital-a' }), 'BAD_VAULT')
})

test('altered ciphertext or iv is BAD_VAULT; altered kdf parameters or check read as BAD_PASSWORD', async () => {
  const ct = fromBase64(sealed.ct)
  for (const i of [0, ct.length - 17, ct.length - 1]) {
    await rejects(() => openVault(withField({ ct: flipped(sealed.ct, i) }), password, { username }), 'BAD_VAULT')
  }
  await rejects(() => openVault(withField({ iv: flipped(sealed.iv) }), password, { username }), 'BAD_VAULT')
  // Without the password nothing authenticates the KDF inputs, so a change there looks like a wrong password.
  await rejects(() => openVault(withField({}, { salt: flipped(sealed.kdf.salt) }), password, { username }), 'BAD_PASSWORD')
  await rejects(() => openVault(withField({}, { iterations: FAST + 1 }), password, { username }), 'BAD_PASSWORD')
  await rejects(() => openVault(withField({ check: flipped(sealed.check) }), password, { username }), 'BAD_PASSWORD')
})

test('parseSealedVault rejects every malformed shape with BAD_VAULT', () => {
  const bad: unknown[] = [
    null, 'vault', 42, [], new Uint8Array(10),
    withField({ v: 2 }), withField({ v: '1' }),
    withField({ extra: 1 }), withField({}, { extra: 1 }),
    (() => { const { ct: _, ...rest } = sealed; return rest })(),
    { ...sealed, kdf: null }, { ...sealed, kdf: [] },
    withField({}, { name: 'scrypt' }), withField({}, { hash: 'SHA-1' }),
    withField({}, { iterations: 999 }), withField({}, { iterations: 10_000_001 }), withField({}, { iterations: 1000.5 }),
    withField({}, { iterations: '1000' }), withField({}, { iterations: Number.NaN }),
    withField({}, { salt: toBase64(new Uint8Array(15)) }), withField({}, { salt: 42 }),
    withField({ iv: toBase64(new Uint8Array(16)) }), withField({ check: toBase64(new Uint8Array(8)) }),
    withField({ ct: toBase64(new Uint8Array(16)) }), withField({ ct: toBase64(new Uint8Array(4097)) }),
    withField({ ct: 'A'.repeat(1 << 20) }),
    withField({ iv: sealed.iv.slice(0, -1) }), withField({ iv: `${sealed.iv.slice(0, -1)}!` }),
    withField({ check: sealed.check.replace(/==$/, '') }), withField({ check: sealed.check.replace(/.==$/, 'B==') })
  ]
  for (const v of bad) throwsCode(() => parseSealedVault(v), 'BAD_VAULT')
})

test('openVault checks the shape before any key derivation', async () => {
  await rejects(() => openVault(withField({}, { iterations: 1e12 }), password, { username }), 'BAD_VAULT')
  await rejects(() => openVault({ v: 1 }, password, { username }), 'BAD_VAULT')
})

test('sealVault refuses a weak work factor, an empty password and bad secrets', async () => {
  await rejects(() => sealVault(keys, password, { username, iterations: 10 }), 'INVALID')
  await rejects(() => sealVault(keys, '', { username, iterations: FAST }), 'INVALID')
  await rejects(() => sealVault({ signSeed: new Uint8Array(31), boxSecret: keys.boxSecret }, password, { username, iterations: FAST }), 'BAD_KEY')
})

test('the vault\'s base64 is RFC 4648 §4: §10 test vectors, Buffer parity, strict decoding', () => {
  // RFC 4648 §10 test vectors.
  const rfc: Array<[string, string]> = [['', ''], ['f', 'Zg=='], ['fo', 'Zm8='], ['foo', 'Zm9v'], ['foob', 'Zm9vYg=='], ['fooba', 'Zm9vYmE='], ['foobar', 'Zm9vYmFy']]
  for (const [text, b64] of rfc) {
    assert.is(toBase64(new TextEncoder().encode(text)), b64)
    assert.is(new TextDecoder().decode(fromBase64(b64)), text)
  }
  for (let n = 0; n < 70; n++) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 151 + n) & 255)
    assert.is(toBase64(bytes), Buffer.from(bytes).toString('base64'))
    assert.equal(fromBase64(toBase64(bytes)), bytes)
  }
  for (const bad of ['Zg', 'Zg=', 'Zh==', 'Zm9=', 'Z===', '====', 'Zm9v-_==', 'Zm 9', 'Zg==Zg==', 'Zm\u00e9v']) {
    throwsCode(() => fromBase64(bad), 'BAD_ENCODING')
  }
})

test.run()
