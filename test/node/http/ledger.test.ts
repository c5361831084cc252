// The ledger HTTP routes over a real koa server on port 0 and a real ledger in a temp folder,
// called with fetch: every route's happy path, every query validation rule, 404s, inclusion
// proofs that verify in browser code (noble) after the JSON round trip, and tampered ones that fail.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { nobleVerify } from '../../../protocol/crypto/ed25519.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { proofFromJson } from '../../../protocol/chain/proof-json.ts'
import type { InclusionProofJson } from '../../../protocol/chain/proof-json.ts'
import { verifyInclusionProof } from '../../../protocol/chain/proof.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { createHttpServer } from '../../../node/http/server.ts'
import type { HttpServer } from '../../../node/http/server.ts'
import { SECURITY_HEADERS } from '../../../node/http/middleware/security.ts'
import { createLogger } from '../../../node/logger.ts'
import { throwsCode } from '../../helpers/assert.ts'
import { cleanup, makeBlock, makeTx, openLedger, recordBody, testConsortium } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals } = testConsortium(3)
const [A, B, C] = hospitals
const id = ledgerIdOf(genesis)
const silent = createLogger({ silent: true })

let servers: HttpServer[] = []

test.after.each(async () => {
  await Promise.all(servers.map(async s => await s.stop()))
  servers = []
  await cleanup()
})

/** Ledger A holding blocks of its own and one block of B's, served over HTTP. */
async function setup (): Promise<{ ledger: Ledger, url: string, txIds: string[] }> {
  const ledger = await openLedger(genesis, A)
  const b = await openLedger(genesis, B)
  const txIds: string[] = []
  // One transaction alone in block 0, then several submitted together, which share later blocks.
  txIds.push(toHex((await ledger.submitOwn('record.create', recordBody(20))).txId))
  const batch = await Promise.all([0, 1, 2, 3, 4, 5].map(async i => await ledger.submitOwn('record.create', recordBody(10 + i, i))))
  txIds.push(...batch.map(l => toHex(l.txId)))
  await b.submitOwn('record.create', recordBody(30))
  for (const bytes of await b.blocksAfter(ledger.heads(), 100)) await ledger.receive(bytes)
  const server = createHttpServer({ host: '127.0.0.1', port: 0 })({ ledger, logger: silent })
  servers.push(server)
  await server.start()
  return { ledger, url: server.url, txIds }
}

async function getJson (url: string): Promise<{ status: number, body: Record<string, unknown>, headers: Headers }> {
  const res = await fetch(url)
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  return { status: res.status, body: await res.json() as Record<string, unknown>, headers: res.headers }
}

async function expectError (url: string, status: number, code: string): Promise<void> {
  const { status: got, body } = await getJson(url)
  assert.is(got, status, `${url} status`)
  assert.equal(Object.keys(body).sort(), ['code', 'message'], `${url} body shape`)
  assert.is(body.code, code, `${url} code`)
  assert.type(body.message, 'string')
}

test('GET /api/health reports ledger id, self key, block count, members and uptime', async () => {
  const { ledger, url } = await setup()
  const { status, body, headers } = await getJson(`${url}/api/health`)
  assert.is(status, 200)
  assert.is(body.status, 'ok')
  assert.is(body.ledger, toHex(id))
  assert.is(body.self, toHex(A.publicKey))
  assert.is(body.blocks, ledger.size())
  assert.is(body.members, 3)
  assert.equal(body.connected, [])
  assert.ok(typeof body.uptimeMs === 'number' && body.uptimeMs >= 0)
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.is(headers.get(name), value, name)
  assert.is(headers.get('cache-control'), 'no-store')
})

test('GET /api/ledger/heads lists one head per chain in hex', async () => {
  const { ledger, url } = await setup()
  const { status, body } = await getJson(`${url}/api/ledger/heads`)
  assert.is(status, 200)
  const heads = body.heads as Array<{ author: string, height: number, hash: string }>
  assert.is(heads.length, 2)
  const expected = ledger.heads().map(h => ({ author: toHex(h.author), height: h.height, hash: toHex(h.hash) }))
  assert.equal(heads.sort((x, y) => x.author.localeCompare(y.author)), expected.sort((x, y) => x.author.localeCompare(y.author)))
})

test('GET /api/ledger/blocks pages one author chain with from and limit', async () => {
  const { ledger, url } = await setup()
  const author = toHex(A.publicKey)
  const all = await getJson(`${url}/api/ledger/blocks?author=${author}`)
  assert.is(all.status, 200)
  const blocks = all.body.blocks as Array<{ hash: string, header: { height: number, author: string }, txs: Array<{ id: string, type: string }> }>
  const stored = await ledger.blocks(A.publicKey, 0, 100)
  assert.is(blocks.length, stored.length)
  assert.ok(blocks.length >= 1)
  blocks.forEach((b, i) => {
    assert.is(b.header.height, i)
    assert.is(b.header.author, author)
    assert.is(b.hash, toHex(stored[i].hash))
    for (const t of b.txs) assert.is(t.type, 'record.create')
    assert.not.ok('body' in (b.txs[0] ?? {}), 'listings carry no transaction bodies')
  })
  const upper = await getJson(`${url}/api/ledger/blocks?author=${author.toUpperCase()}&from=0&limit=1`)
  assert.is(upper.status, 200)
  assert.is((upper.body.blocks as unknown[]).length, 1)
  const past = await getJson(`${url}/api/ledger/blocks?author=${author}&from=1000`)
  assert.equal(past.body.blocks, [])
  const none = await getJson(`${url}/api/ledger/blocks?author=${author}&limit=0`)
  assert.equal(none.body.blocks, [])
  const max = await getJson(`${url}/api/ledger/blocks?author=${author}&limit=500`)
  assert.is(max.status, 200)
})

test('GET /api/ledger/blocks rejects bad author, from and limit with 400 INVALID', async () => {
  const { url } = await setup()
  const author = toHex(A.publicKey)
  const base = `${url}/api/ledger/blocks`
  await expectError(base, 400, 'INVALID')
  await expectError(`${base}?author=zz`, 400, 'INVALID')
  await expectError(`${base}?author=${author.slice(1)}`, 400, 'INVALID')
  await expectError(`${base}?author=${author}00`, 400, 'INVALID')
  await expectError(`${base}?author=${'g'.repeat(64)}`, 400, 'INVALID')
  await expectError(`${base}?author=${author}&from=-1`, 400, 'INVALID')
  await expectError(`${base}?author=${author}&from=abc`, 400, 'INVALID')
  await expectError(`${base}?author=${author}&from=1.5`, 400, 'INVALID')
  await expectError(`${base}?author=${author}&from=99999999999999999`, 400, 'INVALID')
  await expectError(`${base}?author=${author}&limit=501`, 400, 'INVALID')
  await expectError(`${base}?author=${author}&limit=`, 400, 'INVALID')
  await expectError(`${base}?author=${author}&limit=1&limit=2`, 400, 'INVALID')
  await expectError(`${base}?author=${author}&limt=2`, 400, 'INVALID')
  await expectError(`${base}?author=${toHex(new Uint8Array(32).fill(9))}`, 404, 'NOT_FOUND')
})

test('GET /api/ledger/tx/:id serves the tx, its location and a proof that noble verifies', async () => {
  const { ledger, url, txIds } = await setup()
  for (const txId of txIds) {
    const { status, body } = await getJson(`${url}/api/ledger/tx/${txId}`)
    assert.is(status, 200)
    assert.is(body.id, txId)
    const tx = body.tx as { type: string, signer: string, body: { patient: string, record: string } }
    assert.is(tx.type, 'record.create')
    assert.is(tx.signer, toHex(A.publicKey))
    assert.match(tx.body.patient, /^[0-9a-f]{64}$/)
    const location = body.location as { txId: string, author: string, height: number, index: number, blockHash: string }
    assert.is(location.txId, txId)
    assert.is(location.author, toHex(A.publicKey))
    const proof = proofFromJson(body.proof)
    const proven = verifyInclusionProof(proof, { verify: nobleVerify, ledgerId: id, authors: genesis.members.map(m => m.key) })
    assert.is(toHex(proven.tx.id), txId)
    assert.is(toHex(proven.blockHash), location.blockHash)
    assert.is(proven.height, location.height)
    const stored = await ledger.tx(fromHex(txId))
    assert.is(stored?.location.index, location.index)
  }
})

test('a tampered proof from the API fails verification with BAD_PROOF', async () => {
  const { url, txIds } = await setup()
  const proofs = await Promise.all(txIds.map(async t => (await getJson(`${url}/api/ledger/tx/${t}`)).body.proof as InclusionProofJson))
  const good = proofs.find(p => p.header.txCount > 2)
  if (good === undefined) return assert.unreachable('expected a block holding several transactions')
  const flip = (hex: string, at = 10): string => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1)
  const opts = { verify: nobleVerify, ledgerId: id }
  verifyInclusionProof(proofFromJson(good), opts)
  assert.ok(good.path.length > 0, 'a block of several transactions gives a non-empty path')
  const tampered: InclusionProofJson[] = [
    { ...good, sig: flip(good.sig) },
    { ...good, path: [flip(good.path[0]), ...good.path.slice(1)] },
    { ...good, header: { ...good.header, time: good.header.time + 1 } },
    { ...good, header: { ...good.header, txRoot: flip(good.header.txRoot) } },
    { ...good, index: (good.index + 1) % good.header.txCount }
  ]
  for (const t of tampered) throwsCode(() => verifyInclusionProof(proofFromJson(t), opts), 'BAD_PROOF')
  // A transaction from a different block, spliced into this proof, does not lead to the root.
  const other = proofs.find(p => p.header.txRoot !== good.header.txRoot)
  if (other === undefined) return assert.unreachable('expected a second block')
  throwsCode(() => verifyInclusionProof(proofFromJson({ ...good, tx: other.tx }), opts), 'BAD_PROOF')
  // The right proof for another ledger id is refused too.
  throwsCode(() => verifyInclusionProof(proofFromJson(good), { verify: nobleVerify, ledgerId: new Uint8Array(32) }), 'BAD_PROOF')
})

test('proofFromJson rejects malformed JSON proofs with BAD_SCHEMA', async () => {
  const { url, txIds } = await setup()
  const good = (await getJson(`${url}/api/ledger/tx/${txIds[0]}`)).body.proof as InclusionProofJson
  const bad: unknown[] = [
    null,
    { ...good, sig: good.sig.toUpperCase() },
    { ...good, sig: good.sig.slice(2) },
    { ...good, tx: `${good.tx}0` },
    { ...good, path: ['00'] },
    { ...good, index: -1 },
    { ...good, extra: 1 },
    { ...good, header: { ...good.header, ledger: 'zz' } },
    { header: good.header, sig: good.sig, index: good.index, path: good.path }
  ]
  for (const b of bad) throwsCode(() => proofFromJson(b), 'BAD_SCHEMA')
})

test('GET /api/ledger/tx/:id answers 404 for an unknown id and 400 for a malformed one', async () => {
  const { url } = await setup()
  await expectError(`${url}/api/ledger/tx/${'ab'.repeat(32)}`, 404, 'NOT_FOUND')
  await expectError(`${url}/api/ledger/tx/xyz`, 400, 'INVALID')
  await expectError(`${url}/api/ledger/tx/${'ab'.repeat(31)}`, 400, 'INVALID')
  await expectError(`${url}/api/ledger/tx/${'ab'.repeat(33)}`, 400, 'INVALID')
  await expectError(`${url}/api/ledger/tx/${'ab'.repeat(32)}?verbose=1`, 400, 'INVALID')
})

test('GET /api/ledger/state-root matches the ledger', async () => {
  const { ledger, url } = await setup()
  const { status, body } = await getJson(`${url}/api/ledger/state-root`)
  assert.is(status, 200)
  assert.is(body.root, toHex(await ledger.stateRoot()))
  assert.is(body.blocks, ledger.size())
})

test('GET /api/members lists the genesis members with self marked', async () => {
  const { url } = await setup()
  const { status, body } = await getJson(`${url}/api/members`)
  assert.is(status, 200)
  const members = body.members as Array<{ key: string, name: string, status: string, self: boolean, flagged: boolean, connected: boolean, admittedBy: string | null }>
  assert.equal(members.map(m => m.key).sort(), genesis.members.map(m => toHex(m.key)).sort())
  assert.equal(members.filter(m => m.self).map(m => m.key), [toHex(A.publicKey)])
  for (const m of members) {
    assert.is(m.status, 'active')
    assert.is(m.flagged, false)
    assert.is(m.connected, false)
    assert.is(m.admittedBy, null)
  }
})

test('GET /api/ledger/evidence serves equivocation evidence as hex', async () => {
  const { ledger, url } = await setup()
  assert.equal((await getJson(`${url}/api/ledger/evidence`)).body.evidence, [])
  const one = makeBlock(id, C, { height: 0, prev: null, txs: [makeTx(id, C, 'record.create', recordBody(1), 0)] })
  const two = makeBlock(id, C, { height: 0, prev: null, txs: [makeTx(id, C, 'record.create', recordBody(2), 0)] })
  assert.is(await ledger.receive(one.bytes), 'appended')
  assert.is(await ledger.receive(two.bytes), 'evidence')
  const { status, body } = await getJson(`${url}/api/ledger/evidence`)
  assert.is(status, 200)
  const evidence = body.evidence as Array<{ author: string, height: number, blocks: string[] }>
  assert.is(evidence.length, 1)
  assert.is(evidence[0].author, toHex(C.publicKey))
  assert.is(evidence[0].height, 0)
  assert.equal([...evidence[0].blocks].sort(), [toHex(one.bytes), toHex(two.bytes)].sort())
  const members = (await getJson(`${url}/api/members`)).body.members as Array<{ key: string, flagged: boolean }>
  assert.ok(members.find(m => m.key === toHex(C.publicKey))?.flagged)
})

test('unknown routes and methods answer {code, message}; the server keeps serving after bad input', async () => {
  const { url } = await setup()
  await expectError(`${url}/api/nope`, 404, 'NOT_FOUND')
  await expectError(`${url}/`, 404, 'NOT_FOUND')
  await expectError(`${url}/api/ledger/tx/%zz`, 400, 'INVALID')
  const post = await fetch(`${url}/api/health`, { method: 'POST', body: 'x' })
  assert.is(post.status, 405)
  assert.is((await post.json() as { code: string }).code, 'METHOD_NOT_ALLOWED')
  const bursts = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await fetch(`${url}/api/ledger/blocks?author=${'x'.repeat(i)}`)).status))
  assert.ok(bursts.every(s => s === 400))
  const health = await getJson(`${url}/api/health`)
  assert.is(health.status, 200)
  assert.is(health.body.status, 'ok')
})

test('stop() closes the server: later requests fail to connect', async () => {
  const { url } = await setup()
  const server = servers[0]
  assert.is((await fetch(`${url}/api/health`)).status, 200)
  await server.stop()
  let failed = false
  try {
    await fetch(`${url}/api/health`)
  } catch {
    failed = true
  }
  assert.ok(failed)
})

test.run()
