// A rebuilt member (ledger/ moved aside, restart, resync) against real peers: it answers every
// write 503 SYNCING until it has learnt its own chain from the members, writes fired the moment
// it connects never fork its chain, its sequence numbers and heights continue from the synced
// head, and the roots agree. Starting a chain afresh is refused while a member still holds it,
// in process and from the command line.
import { cp, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { equals, toHex } from '../../protocol/bytes.ts'
import { ApiError } from '../../protocol/client/client.ts'
import { MedichainError } from '../../protocol/errors.ts'
import { nodeVerify } from '../../ledger/verify/node-crypto.ts'
import { verifyLedger } from '../../ledger/verify/verify.ts'
import { createLogger } from '../../node/logger.ts'
import type { Peer } from '../../node/peer.ts'
import { cleanup, tempDir, testIdentity } from '../helpers/ledger/fixture.ts'
import { client, hospitalGenesis, startHospital, startHospitals, stopHospitals, WRITES_OPEN_MS } from '../helpers/peers/peers.ts'
import type { Hospital } from '../helpers/peers/peers.ts'
import { waitFor, withTimeout } from '../helpers/timeout.ts'
import { launch, prepareFolder, PROCESS_MS, startCliPeer, stopCliPeer } from './cli-peer.ts'
import type { CliPeer } from './cli-peer.ts'

const running: Array<{ peer: Peer }> = []
const children: CliPeer[] = []

test.after.each(async () => {
  for (const c of children.splice(0)) await stopCliPeer(c).catch(() => {})
  await stopHospitals(running.splice(0))
  await cleanup()
})

/** Signs a patient up at `url`: 'ok', or the error code the peer answered with. */
async function signUp (url: string, username: string): Promise<string> {
  try {
    await client(url).signUp({ username, password: `${username} has a long password`, role: 'patient' })
    return 'ok'
  } catch (err) {
    if (err instanceof ApiError) return err.code
    throw err
  }
}

/** Waits until every peer holds the same blocks and the same state root. */
async function agreement (peers: Peer[]): Promise<void> {
  await waitFor(async () => {
    const sizes = peers.map(p => p.ledger.size())
    if (sizes.some(s => s !== sizes[0])) return false
    const roots = await Promise.all(peers.map(async p => toHex(await p.ledger.stateRoot())))
    return roots.every(r => r === roots[0])
  }, { timeout: 30_000, what: 'one state root on every peer' })
}

/** The sequence numbers `author` signed, in its chain's order, as `holder` holds that chain. */
async function ownSeqs (holder: Peer, author: Uint8Array): Promise<number[]> {
  const out: number[] = []
  for (const block of await holder.ledger.blocks(author, 0, 500)) {
    for (const { tx } of block.txs) if (equals(tx.signer, author)) out.push(tx.seq)
  }
  return out
}

async function moveLedgerAside (h: { data: string }): Promise<void> {
  await rename(join(h.data, 'ledger'), join(h.data, 'ledger.aside'))
}

test('a rebuilt member answers 503 SYNCING until synced, never forks under writes at once, and continues its seq', async () => {
  const hs: Hospital[] = await startHospitals(3)
  running.push(...hs)
  const [a, b, c] = hs
  for (let i = 0; i < 3; i++) assert.is(await signUp(a.url, `before-${i}`), 'ok')
  assert.is(await signUp(b.url, 'at-b'), 'ok')
  await agreement(hs.map(h => h.peer))
  const seqsBefore = await ownSeqs(b.peer, a.peer.ledger.self)
  const heightBefore = b.peer.ledger.heads().find(h => equals(h.author, a.peer.ledger.self))?.height ?? -1
  assert.ok(heightBefore >= 3, 'A wrote its admin and three patients')

  // The documented rebuild: stop, move ledger/ aside, start again (alone at first).
  await a.peer.stop()
  running.splice(running.indexOf(a), 1)
  await moveLedgerAside(a)
  const genesis = hospitalGenesis(3)
  const rebuilt = await startHospital(1, genesis, { data: a.data })
  running.push(rebuilt)

  const health = await (await fetch(`${rebuilt.url}/api/health`)).json() as { writes: string }
  assert.is(health.writes, 'syncing')
  const probe = client(rebuilt.url)
  try {
    await probe.signUp({ username: 'probe', password: 'probe has a long password', role: 'patient' })
    assert.unreachable('a write during the rebuild must be held')
  } catch (err) {
    assert.instance(err, ApiError)
    assert.is((err as ApiError).code, 'SYNCING')
    assert.is((err as ApiError).status, 503)
    assert.ok(((err as ApiError).retryAfter ?? 0) > 0, 'Retry-After is set')
  }

  // Writes fired the moment the rebuilt peer reconnects: each is held or lands; none forks.
  const names = Array.from({ length: 6 }, (_, i) => `at-once-${i}`)
  const dials = [b, c].map(async h => await rebuilt.peer.p2p.libp2p.dial(multiaddr(h.peer.p2p.addresses()[0])))
  const answers = await Promise.all([...names.map(async n => await signUp(rebuilt.url, n)), ...dials.map(async d => { await d; return 'dialled' })])
  for (const answer of answers.slice(0, names.length)) assert.ok(answer === 'ok' || answer === 'SYNCING', `unexpected answer ${answer}`)

  await withTimeout(rebuilt.peer.writes.whenOpen(), WRITES_OPEN_MS, 'writes to open at the rebuilt peer')
  const after = await (await fetch(`${rebuilt.url}/api/health`)).json() as { writes: string }
  assert.is(after.writes, 'open')
  for (const [i, n] of names.entries()) if (answers[i] !== 'ok') assert.is(await signUp(rebuilt.url, n), 'ok', `${n} after the sync`)

  const peers = [rebuilt.peer, b.peer, c.peer]
  await agreement(peers)
  for (const p of peers) assert.equal(await p.ledger.evidence(), [], 'no equivocation evidence anywhere')
  for (const p of peers) assert.not.ok(p.ledger.members().some(m => m.flagged), 'no member flagged')
  const seqs = await ownSeqs(b.peer, a.peer.ledger.self)
  assert.equal(seqs.slice(0, seqsBefore.length), seqsBefore, 'the original chain is kept')
  assert.is(seqs.length, seqsBefore.length + names.length, 'every held write landed once')
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], 'sequence numbers continue from the synced head')
  const heightAfter = b.peer.ledger.heads().find(h => equals(h.author, a.peer.ledger.self))?.height ?? -1
  assert.ok(heightAfter > heightBefore, 'heights continue from the synced head')

  await rebuilt.peer.stop()
  running.splice(running.indexOf(rebuilt), 1)
  const report = await verifyLedger({ path: join(a.data, 'ledger'), genesis }, { verify: nodeVerify, logger: createLogger({ silent: true }) })
  assert.ok(report.ok, JSON.stringify(report.problems))
})

test('--fresh-chain is refused while this folder or a member holds blocks of the chain', async () => {
  const hs = await startHospitals(2)
  running.push(...hs)
  const [a, b] = hs
  assert.is(await signUp(a.url, 'patient-a'), 'ok')
  await agreement(hs.map(h => h.peer))
  await a.peer.stop()
  running.splice(running.indexOf(a), 1)
  const genesis = hospitalGenesis(2)
  const codeOf = async (p: Promise<unknown>): Promise<string> => {
    try {
      const h = await p
      running.push(h as { peer: Peer })
      return 'started'
    } catch (err) {
      return err instanceof MedichainError ? err.code : String(err)
    }
  }

  // (Refused starts use copies: a peer whose start fails keeps its account store's lock.)
  // A folder that still holds A's chain.
  const copy = await tempDir('medichain-copy-')
  await cp(a.data, copy, { recursive: true })
  assert.is(await codeOf(startHospital(1, genesis, { data: copy, freshChain: true })), 'CHAIN_EXISTS')
  // An empty folder, while member B holds A's blocks.
  assert.is(await codeOf(startHospital(1, genesis, { freshChain: true, peers: b.peer.p2p.addresses() })), 'CHAIN_EXISTS')
  await moveLedgerAside(a)
  // Without the flag the same folder resyncs and writes.
  const again = await startHospital(1, genesis, { data: a.data, peers: b.peer.p2p.addresses() })
  running.push(again)
  await withTimeout(again.peer.writes.whenOpen(), WRITES_OPEN_MS, 'writes to open after the resync')
  assert.is(await signUp(again.url, 'patient-a2'), 'ok')
  await agreement([again.peer, b.peer])
  assert.equal(await b.peer.ledger.evidence(), [])
})

test('a rebuilt folder of a one-member genesis waits for members admitted since, then writes alone', async () => {
  const [h] = await startHospitals(1)
  running.push(h)
  assert.is(await signUp(h.url, 'patient-1'), 'ok', 'a new one-member consortium writes at once')
  await h.peer.stop()
  running.splice(running.indexOf(h), 1)
  await moveLedgerAside(h)
  const rebuilt = await startHospital(1, hospitalGenesis(1), { data: h.data })
  running.push(rebuilt)
  assert.is(await signUp(rebuilt.url, 'patient-2'), 'SYNCING', 'members admitted since the genesis may hold its chain')
  await withTimeout(rebuilt.peer.writes.whenOpen(), WRITES_OPEN_MS, 'writes to open with nobody to ask')
  assert.is(await signUp(rebuilt.url, 'patient-2'), 'ok')
})

test('medichain start --fresh-chain exits 1 with CHAIN_EXISTS while a member holds the chain', async () => {
  const genesis = hospitalGenesis(2)
  const a = await startHospital(1, genesis)
  running.push(a)
  const dataB = await tempDir('medichain-cli-b-')
  await prepareFolder(dataB, 2, genesis)
  const b = await startCliPeer(dataB, { peers: a.peer.p2p.addresses() })
  children.push(b)
  await waitFor(async () => (await (await fetch(`${b.url}/api/health`)).json() as { writes: string }).writes === 'open', { timeout: WRITES_OPEN_MS, what: 'writes to open at B' })
  assert.is(await signUp(b.url, 'patient-b'), 'ok')
  const selfB = testIdentity(2).publicKey
  await waitFor(async () => await a.peer.ledger.block(selfB, 0) !== undefined, { timeout: 30_000, what: 'A to hold B\'s chain' })
  assert.is(await stopCliPeer(b), 0)
  children.splice(children.indexOf(b), 1)
  await moveLedgerAside({ data: dataB })

  const fresh = launch(['start', '--data', dataB, '--http-port', '0', '--p2p-port', '0', '--peer', a.peer.p2p.addresses()[0], '--fresh-chain'])
  children.push({ ...fresh, url: '', p2p: [] })
  assert.is(await withTimeout(fresh.exited, PROCESS_MS, 'start --fresh-chain to exit'), 1)
  assert.match(fresh.stderr(), /^error CHAIN_EXISTS: /m)
})

test.run()
