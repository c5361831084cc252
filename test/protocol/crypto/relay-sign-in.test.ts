// The sealed proof and reply of relayed sign-in (protocol/crypto/relay-sign-in.ts), the short names and
// qualified usernames of the shared portal, and the relay protocol's frames (node/relay/messages.ts):
// round trips, and each wrong input refused with its code.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { encode } from '../../../protocol/codec.ts'
import {
  hospitalShortName, matchHome, openRelayProof, openRelayReply, parseTypedUsername, proofFromBase64, sealRelayProof, sealRelayReply
} from '../../../protocol/crypto/relay-sign-in.ts'
import { hospitalBoxSecretKey } from '../../../protocol/crypto/user-keys.ts'
import { decodeAnswer, decodeRequest, encodeAnswer, encodeRequest } from '../../../node/relay/messages.ts'
import type { RelayAnswer } from '../../../node/relay/messages.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'
import { testIdentity, testSeed } from '../../helpers/ledger/fixture.ts'

const home = testIdentity(1).publicKey
const via = testIdentity(3).publicKey
const homeSecret = hospitalBoxSecretKey(testSeed(1))
const secretHex = 'ab'.repeat(32)

test('a proof opens only with the home hospital\'s key and carries what was sealed', () => {
  const { proof, replyKey } = sealRelayProof({ username: 'Pat', secretHex, home, via, time: 1_700_000_000_000 })
  const opened = openRelayProof(proof, homeSecret)
  assert.is(opened.username, 'pat')
  assert.equal(opened.home, home)
  assert.equal(opened.via, via)
  assert.is(opened.time, 1_700_000_000_000)
  assert.is(toHex(opened.secret), secretHex)
  assert.equal(opened.reply, replyKey)
  assert.ok(!Buffer.from(proof).includes(Buffer.from(secretHex, 'hex')), 'the secret is not in the clear')
  throwsCode(() => openRelayProof(proof, hospitalBoxSecretKey(testSeed(3))), 'BAD_RELAY_PROOF')
  const flipped = proof.slice()
  flipped[40] ^= 1
  throwsCode(() => openRelayProof(flipped, homeSecret), 'BAD_RELAY_PROOF')
  throwsCode(() => openRelayProof(proof.subarray(0, proof.length - 1), homeSecret), 'BAD_RELAY_PROOF')
  throwsCode(() => openRelayProof(new Uint8Array(0), homeSecret), 'BAD_RELAY_PROOF')
  throwsCode(() => sealRelayProof({ username: 'pat', secretHex: 'ab', home, via, time: 0 }), 'INVALID')
})

test('the reply opens with the proof\'s reply key only', async () => {
  const { replyKey } = sealRelayProof({ username: 'pat', secretHex, home, via, time: 0 })
  const vault = { v: 1, ct: 'abc' }
  const reply = await sealRelayReply(vault, replyKey)
  assert.equal(await openRelayReply(reply, replyKey), vault)
  await rejects(async () => await openRelayReply(reply, new Uint8Array(32)), 'BAD_RELAY_PROOF')
  const flipped = reply.slice()
  flipped[reply.length - 1] ^= 1
  await rejects(async () => await openRelayReply(flipped, replyKey), 'BAD_RELAY_PROOF')
})

test('short names, qualified usernames and matching a home', () => {
  assert.is(hospitalShortName('North Hospital'), 'north')
  assert.is(hospitalShortName('St Anne'), 'st-anne')
  assert.is(hospitalShortName('The Hospital'), 'the-hospital')
  assert.is(hospitalShortName('Hôpital Saint-Éloi'), 'hopital-saint-eloi')
  assert.equal(parseTypedUsername(' Alice@North '), { username: 'alice', qualifier: 'north' })
  assert.equal(parseTypedUsername('alice'), { username: 'alice', qualifier: null })
  const homes = [{ key: 'aa'.repeat(32), name: 'North Hospital', short: 'north' }, { key: 'bb'.repeat(32), name: 'North', short: 'north' }, { key: 'cc'.repeat(32), name: 'South', short: 'south' }]
  assert.is(matchHome('south', homes).length, 1)
  assert.is(matchHome('north', homes).length, 2, 'an ambiguous short name names both')
  assert.is(matchHome('cccccccc', homes)[0].name, 'South', 'a key prefix of 8+ hex digits')
  assert.is(matchHome('ccc', homes).length, 0)
  assert.is(matchHome('west', homes).length, 0)
  throwsCode(() => proofFromBase64(42), 'BAD_RELAY_PROOF')
  throwsCode(() => proofFromBase64('not base64!'), 'BAD_RELAY_PROOF')
})

test('relay frames: round trips, and malformed frames refused', () => {
  const grant = new Uint8Array(32).fill(7)
  const reqs = [{ t: 'sign-in', proof: new Uint8Array(100), client: '127.0.0.1' }, { t: 'check', grant }, { t: 'sign-ins', grant }, { t: 'end', grant }, { t: 'revoke', grantHash: grant }] as const
  for (const r of reqs) assert.equal(decodeRequest(encodeRequest(r)), r)
  const account = { username: 'pat', role: 'patient' as const, signPub: new Uint8Array(32), boxPub: new Uint8Array(32) }
  const answers: RelayAnswer[] = [
    { t: 'signed-in', grant, account, reply: new Uint8Array(60) },
    { t: 'live', live: false },
    { t: 'sign-ins', entries: [{ via: new Uint8Array(32), time: 5 }] },
    { t: 'ended' },
    { t: 'refused', code: 'RATE_LIMITED', retryAfter: 30 }
  ]
  for (const a of answers) assert.equal(decodeAnswer(encodeAnswer(a)), a)
  throwsCode(() => decodeRequest(encode({ t: 'check', grant: new Uint8Array(31) })), 'BAD_SCHEMA')
  throwsCode(() => decodeRequest(encode({ t: 'steal', grant })), 'BAD_SCHEMA')
  throwsCode(() => decodeRequest(encode({ t: 'check', grant, extra: 1 })), 'BAD_SCHEMA')
  throwsCode(() => decodeAnswer(encode({ t: 'refused', code: 'ANYTHING', retryAfter: 0 })), 'BAD_SCHEMA')
  throwsCode(() => decodeAnswer(encode({ t: 'signed-in', grant, account: { ...account, role: 'king' }, reply: new Uint8Array(1) })), 'BAD_SCHEMA')
  throwsCode(() => decodeAnswer(encode({ t: 'live', live: 1 })), 'BAD_SCHEMA')
})

test.run()
