// The transaction rules every block must pass whoever authored it (issue 11): TX_TIME binds a
// transaction's time to its block's, REPLAYED_SEQ refuses a reused (signer, seq) in the block or
// its causal past, and the consent rules refuse what only the SDK used to. Each rule is shown on a
// block from another member (B) received by A, and on a local submission where it applies.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { sha256 as mhSha256 } from 'multiformats/hashes/sha2'
import { toHex } from '../../../protocol/bytes.ts'
import { CONSENT_BASE_BYTES, CONSENT_BYTES_PER_IMAGE, MAX_CLOCK_SKEW_MS, MAX_TX_AGE_MS } from '../../../protocol/constants.ts'
import type { Identity } from '../../../protocol/crypto/ed25519.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { BOUND_WRAPPED_KEY_BYTES } from '../../../protocol/crypto/key-wrap.ts'
import { encodeTx, patientIdOf } from '../../../protocol/chain/tx.ts'
import type { Tx, TxBodies } from '../../../protocol/chain/tx.ts'
import type { Block } from '../../../protocol/chain/block.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, makeBlock, makeTx, openLedger, recordBody, registerBody, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B, C] } = testConsortium(3)
const id = ledgerIdOf(genesis)
const NOW = 1_700_000_010_000
const clock = (): number => NOW
const patient = testIdentity(60)
const pid = patientIdOf(patient.publicKey)
const other = testIdentity(61)
const clinician = testIdentity(62)

test.after.each(cleanup)

async function cid (n: number): Promise<CID> {
  return CID.createV1(0x55, await mhSha256.digest(new Uint8Array([n, n >> 8, 7])))
}

function imageBody (owner: Uint8Array, raw: CID): TxBodies['image.add'] {
  return { patient: owner, record: null, raw, result: null, modality: 'CT', size: 1024, model: null, score: null, keys: [] }
}

/** Asserts a rejection with `code` and that nothing was written. */
async function refused (ledger: Ledger, block: Block, code: string): Promise<void> {
  const [size, root] = [ledger.size(), toHex(await ledger.stateRoot())]
  await rejects(async () => await ledger.receive(block.bytes), code)
  assert.is(ledger.size(), size, 'no block was appended')
  assert.is(toHex(await ledger.stateRoot()), root, 'state root unchanged')
}

/**
 * A at NOW holding B's block 0: the patient and a clinician registered at B, and two images of
 * the patient and one of another patient recorded by B. Returns the block and the images.
 */
async function setup (): Promise<{ ledger: Ledger, b0: Block, mine: CID[], theirs: CID }> {
  const ledger = await openLedger(genesis, A, { clock })
  const mine = [await cid(1), await cid(2)]
  const theirs = await cid(3)
  const b0 = makeBlock(id, B, {
    height: 0,
    prev: null,
    time: NOW,
    txs: [
      makeTx(id, B, 'account.register', registerBody(id, patient, B), 0, NOW),
      makeTx(id, B, 'account.register', registerBody(id, other, B), 1, NOW),
      makeTx(id, B, 'account.register', registerBody(id, clinician, B, 'clinician'), 2, NOW),
      makeTx(id, B, 'image.add', imageBody(pid, mine[0]), 3, NOW),
      makeTx(id, B, 'image.add', imageBody(pid, mine[1]), 4, NOW),
      makeTx(id, B, 'image.add', imageBody(patientIdOf(other.publicKey), theirs), 5, NOW)
    ]
  })
  assert.is(await ledger.receive(b0.bytes), 'appended')
  return { ledger, b0, mine, theirs }
}

type Grant = TxBodies['consent.grant']
const grantBody = (over: Partial<Grant> = {}): Grant =>
  ({ grantee: clinician.publicKey, kind: 'user', purpose: 'treatment', scope: { kind: 'all' }, expires: NOW + 86_400_000, keys: [], ...over })

const grantTx = (body: Grant, seq = 0, time = NOW, signer: Identity = patient): Tx => makeTx(id, signer, 'consent.grant', body, seq, time)

/** B's block 1 carrying `txs`, after b0. */
const next = (b0: Block, txs: Tx[], time = NOW): Block => makeBlock(id, B, { height: 1, prev: b0.hash, time, txs })

// ---- TX_TIME ----

test('a transaction time of 2^53−1 is refused in another member\'s block and at submission', async () => {
  const { ledger, b0 } = await setup()
  const far = Number.MAX_SAFE_INTEGER
  await refused(ledger, next(b0, [makeTx(id, B, 'record.create', recordBody(1), 6, far)]), 'TX_TIME')
  await refused(ledger, next(b0, [grantTx(grantBody(), 0, far)]), 'TX_TIME')
  await rejects(async () => await ledger.submit(grantTx(grantBody(), 0, far)), 'TX_TIME')
  assert.is(ledger.size(), 1)
})

test('a transaction may be a little before or after its block, not further', async () => {
  const { ledger, b0 } = await setup()
  await refused(ledger, next(b0, [makeTx(id, B, 'record.create', recordBody(1), 6, NOW + MAX_CLOCK_SKEW_MS + 1)]), 'TX_TIME')
  await refused(ledger, next(b0, [makeTx(id, B, 'record.create', recordBody(1), 6, NOW - MAX_TX_AGE_MS - 1)]), 'TX_TIME')
  // A client whose clock runs ahead by the skew, and one queued for a while: both honest.
  const ok = next(b0, [makeTx(id, B, 'record.create', recordBody(1), 6, NOW + MAX_CLOCK_SKEW_MS), grantTx(grantBody(), 0, NOW - 10 * 60_000)])
  assert.is(await ledger.receive(ok.bytes), 'appended')
})

// ---- REPLAYED_SEQ ----

test('a seq reused in one block, or after its first use in the author\'s chain, is REPLAYED_SEQ', async () => {
  const { ledger, b0 } = await setup()
  await refused(ledger, next(b0, [makeTx(id, B, 'record.create', recordBody(1), 6), makeTx(id, B, 'record.create', recordBody(2), 6)]), 'REPLAYED_SEQ')
  await refused(ledger, next(b0, [makeTx(id, B, 'record.create', recordBody(1), 0)]), 'REPLAYED_SEQ')
  const twoGrants = [grantTx(grantBody({ purpose: 'research' }), 0), grantTx(grantBody({ purpose: 'training' }), 0)]
  await refused(ledger, next(b0, twoGrants), 'REPLAYED_SEQ')
  const b1 = next(b0, [grantTx(grantBody(), 0)])
  assert.is(await ledger.receive(b1.bytes), 'appended')
  await refused(ledger, makeBlock(id, B, { height: 2, prev: b1.hash, time: NOW, txs: [grantTx(grantBody({ purpose: 'research' }), 0)] }), 'REPLAYED_SEQ')
})

test('a patient seq reused in another member\'s block that links the first use is REPLAYED_SEQ', async () => {
  const { ledger, b0 } = await setup()
  const first = grantTx(grantBody(), 0)
  const c0 = makeBlock(id, C, { height: 0, prev: null, time: NOW, links: [{ author: B.publicKey, height: 0, hash: b0.hash }], txs: [first] })
  assert.is(await ledger.receive(c0.bytes), 'appended')
  const links = [{ author: C.publicKey, height: 0, hash: c0.hash }]
  const reuse = makeBlock(id, B, { height: 1, prev: b0.hash, time: NOW, links, txs: [grantTx(grantBody({ purpose: 'research' }), 0)] })
  await refused(ledger, reuse, 'REPLAYED_SEQ')
  // The same transaction carried by a second chain is no replay: it counts once.
  assert.is(await ledger.receive(makeBlock(id, B, { height: 1, prev: b0.hash, time: NOW, links, txs: [first] }).bytes), 'appended')
})

test('a seq reused concurrently (neither block in the other\'s past) is judged alike on every peer', async () => {
  const { ledger: x, b0 } = await setup()
  const y = await openLedger(genesis, C, { clock })
  await y.receive(b0.bytes)
  const links = [{ author: B.publicKey, height: 0, hash: b0.hash }]
  const one = makeBlock(id, C, { height: 0, prev: null, time: NOW, links, txs: [grantTx(grantBody(), 0)] })
  const two = makeBlock(id, B, { height: 1, prev: b0.hash, time: NOW, txs: [grantTx(grantBody({ purpose: 'research' }), 0)] })
  for (const b of [one, two]) await x.receive(b.bytes)
  for (const b of [two, one]) await y.receive(b.bytes)
  assert.is(x.size(), 3)
  assert.is(toHex(await x.stateRoot()), toHex(await y.stateRoot()), 'both orders give one state')
})

// ---- consents ----

test('a grant to oneself is CONSENT_SELF, in a block and at submission', async () => {
  const { ledger, b0 } = await setup()
  const self = grantTx(grantBody({ grantee: patient.publicKey }))
  await refused(ledger, next(b0, [self]), 'CONSENT_SELF')
  await rejects(async () => await ledger.submit(self), 'CONSENT_SELF')
  await refused(ledger, next(b0, [makeTx(id, patient, 'consent.revoke', { grantee: patient.publicKey }, 0, NOW)]), 'CONSENT_SELF')
})

test('a grant already expired when made is CONSENT_EXPIRED', async () => {
  const { ledger, b0 } = await setup()
  await refused(ledger, next(b0, [grantTx(grantBody({ expires: NOW }))]), 'CONSENT_EXPIRED')
  await refused(ledger, next(b0, [grantTx(grantBody({ expires: 0 }))]), 'CONSENT_EXPIRED')
})

test('a grantee the ledger does not know is UNKNOWN_GRANTEE', async () => {
  const { ledger, b0 } = await setup()
  const stranger = testIdentity(90).publicKey
  await refused(ledger, next(b0, [grantTx(grantBody({ grantee: stranger }))]), 'UNKNOWN_GRANTEE')
  await refused(ledger, next(b0, [grantTx(grantBody({ grantee: stranger, kind: 'hospital' }))]), 'UNKNOWN_GRANTEE')
  await refused(ledger, next(b0, [grantTx(grantBody({ grantee: other.publicKey }))]), 'UNKNOWN_GRANTEE')
  await refused(ledger, next(b0, [grantTx(grantBody({ grantee: C.publicKey, kind: 'user' }))]), 'UNKNOWN_GRANTEE')
  await refused(ledger, next(b0, [makeTx(id, patient, 'consent.revoke', { grantee: stranger }, 0, NOW)]), 'UNKNOWN_GRANTEE')
  await rejects(async () => await ledger.submit(grantTx(grantBody({ grantee: stranger }))), 'UNKNOWN_GRANTEE')
  assert.is(await ledger.receive(next(b0, [grantTx(grantBody({ grantee: C.publicKey, kind: 'hospital' }))]).bytes), 'appended')
})

test('a grantee registered only in a block the grant\'s block does not link is UNKNOWN_GRANTEE everywhere', async () => {
  const { ledger, b0 } = await setup()
  const late = testIdentity(63)
  const c0 = makeBlock(id, C, { height: 0, prev: null, time: NOW, txs: [makeTx(id, C, 'account.register', registerBody(id, late, C, 'clinician'), 0, NOW)] })
  assert.is(await ledger.receive(c0.bytes), 'appended', 'this peer holds the registration')
  await refused(ledger, next(b0, [grantTx(grantBody({ grantee: late.publicKey }))]), 'UNKNOWN_GRANTEE')
  const linking = makeBlock(id, B, { height: 1, prev: b0.hash, time: NOW, links: [{ author: C.publicKey, height: 0, hash: c0.hash }], txs: [grantTx(grantBody({ grantee: late.publicKey }))] })
  assert.is(await ledger.receive(linking.bytes), 'appended')
})

test('keys or a scope naming another patient\'s image, or no recorded image, is FOREIGN_IMAGE', async () => {
  const { ledger, b0, mine, theirs } = await setup()
  const key = new Uint8Array(BOUND_WRAPPED_KEY_BYTES).fill(1)
  await refused(ledger, next(b0, [grantTx(grantBody({ keys: [{ image: theirs, raw: key, result: null }] }))]), 'FOREIGN_IMAGE')
  await refused(ledger, next(b0, [grantTx(grantBody({ scope: { kind: 'images', images: [mine[0], theirs] } }))]), 'FOREIGN_IMAGE')
  await refused(ledger, next(b0, [grantTx(grantBody({ scope: { kind: 'images', images: [await cid(99)] } }))]), 'FOREIGN_IMAGE')
  await rejects(async () => await ledger.submit(grantTx(grantBody({ keys: [{ image: theirs, raw: key, result: null }] }))), 'FOREIGN_IMAGE')
  const own = grantTx(grantBody({ scope: { kind: 'images', images: mine }, keys: mine.map(image => ({ image, raw: key, result: key })) }))
  assert.is(await ledger.receive(next(b0, [own]).bytes), 'appended')
})

test('keys listed twice or outside the scope are BAD_CONSENT', async () => {
  const { ledger, b0, mine } = await setup()
  const key = new Uint8Array(BOUND_WRAPPED_KEY_BYTES).fill(1)
  await refused(ledger, next(b0, [grantTx(grantBody({ keys: [{ image: mine[0], raw: key, result: null }, { image: mine[0], raw: key, result: null }] }))]), 'BAD_CONSENT')
  await refused(ledger, next(b0, [grantTx(grantBody({ scope: { kind: 'images', images: [mine[0]] }, keys: [{ image: mine[1], raw: key, result: null }] }))]), 'BAD_CONSENT')
})

test('a grant larger than its images need is CONSENT_TOO_LARGE; the measured flood shape is refused', async () => {
  const { ledger, b0 } = await setup()
  // A CID can carry any digest (an identity multihash is the digest itself): padding in the scope.
  const padded = CID.createV1(0x55, identity.digest(new Uint8Array(2000).fill(7)))
  const fat = grantTx(grantBody({ scope: { kind: 'images', images: [padded] } }))
  assert.ok(encodeTx(fat).bytes.length > CONSENT_BASE_BYTES + CONSENT_BYTES_PER_IMAGE)
  await refused(ledger, next(b0, [fat]), 'CONSENT_TOO_LARGE')
  // The review's flood: ~60 KB of keys for images that are not the patient's.
  const key = new Uint8Array(BOUND_WRAPPED_KEY_BYTES)
  const junk = await Promise.all(Array.from({ length: 200 }, async (_, i) => ({ image: await cid(1000 + i), raw: key, result: key })))
  const flood = grantTx(grantBody({ kind: 'hospital', grantee: C.publicKey, keys: junk }))
  assert.ok(encodeTx(flood).bytes.length > 50_000)
  await refused(ledger, next(b0, [flood]), 'FOREIGN_IMAGE')
})

test.run()
