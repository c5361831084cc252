// A peer whose clock runs ahead, under libfaketime against real peers: it measures the skew
// against its members (health reports it) and answers writes 503 CLOCK_SKEW instead of signing
// blocks the others refuse; once the clock is corrected (a restart without faketime) its writes
// succeed at once, and the members accept them. A lone member, with nobody to compare with,
// recovers at once too: a block that keeps its prev's time is not "from the future".
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { equals, toHex } from '../../protocol/bytes.ts'
import { ApiError } from '../../protocol/client/client.ts'
import { MAX_CLOCK_SKEW_MS } from '../../protocol/constants.ts'
import { nodeVerify } from '../../ledger/verify/node-crypto.ts'
import { verifyLedger } from '../../ledger/verify/verify.ts'
import { createLogger } from '../../node/logger.ts'
import type { Peer } from '../../node/peer.ts'
import { cleanup, tempDir, testIdentity } from '../helpers/ledger/fixture.ts'
import { client, hospitalGenesis, startHospital, stopHospitals, WRITES_OPEN_MS } from '../helpers/peers/peers.ts'
import { waitFor, withTimeout } from '../helpers/timeout.ts'
import { HAVE_FAKETIME, launch, prepareFolder, PROCESS_MS, skewedClock, startCliPeer, stopCliPeer } from './cli-peer.ts'
import type { CliPeer } from './cli-peer.ts'

/** The skew libfaketime applies, and the same in ms. */
const AHEAD = '+10m'
const AHEAD_MS = 10 * 60_000

const running: Array<{ peer: Peer }> = []
const children: CliPeer[] = []

test.after.each(async () => {
  for (const c of children.splice(0)) await stopCliPeer(c).catch(() => {})
  await stopHospitals(running.splice(0))
  await cleanup()
})

interface Health { writes: string, clockSkewMs: number | null, clockSamples: number, blocks: number }

async function health (url: string): Promise<Health> {
  return await (await fetch(`${url}/api/health`)).json() as Health
}

/** Signs a patient up at `url`: 'ok', or the API error. */
async function signUp (url: string, username: string): Promise<'ok' | ApiError> {
  try {
    await client(url).signUp({ username, password: `${username} has a long password`, role: 'patient' })
    return 'ok'
  } catch (err) {
    if (err instanceof ApiError) return err
    throw err
  }
}

async function ledgerVerify (data: string): Promise<number | null> {
  const p = launch(['ledger', 'verify', '--data', data])
  return await withTimeout(p.exited, PROCESS_MS, 'ledger verify')
}

if (!HAVE_FAKETIME) {
  console.log('test/faults/clock: skipped, libfaketime is not installed (apt-get install faketime)')
} else {
  test('a peer 10 minutes fast answers 503 CLOCK_SKEW, health shows the skew, and writes at once after the correction', async () => {
    const genesis = hospitalGenesis(2)
    const a = await startHospital(1, genesis)
    running.push(a)
    const dataB = await tempDir('medichain-skewed-')
    await prepareFolder(dataB, 2, genesis)

    const fast = await startCliPeer(dataB, { peers: a.peer.p2p.addresses(), env: skewedClock(AHEAD) })
    children.push(fast)
    await waitFor(async () => (await health(fast.url)).writes === 'clock-skew', { timeout: 30_000, what: 'the fast peer to hold writes for its clock' })
    const h = await health(fast.url)
    assert.ok(h.clockSamples >= 1)
    assert.ok(h.clockSkewMs !== null && Math.abs(h.clockSkewMs - AHEAD_MS) < 30_000, `measured skew ${String(h.clockSkewMs)}`)
    const refused = await signUp(fast.url, 'while-fast')
    assert.instance(refused, ApiError)
    assert.is((refused as ApiError).code, 'CLOCK_SKEW')
    assert.is((refused as ApiError).status, 503)
    assert.ok(((refused as ApiError).retryAfter ?? 0) > 0, 'Retry-After is set')
    // The member with the right clock sees the other side: it is behind, and it writes.
    await withTimeout(a.peer.writes.whenOpen(), WRITES_OPEN_MS, 'writes to open at A')
    assert.ok((a.peer.p2p.clockSkew()?.aheadMs ?? 0) < -AHEAD_MS + 30_000)
    assert.is(await signUp(a.url, 'at-a'), 'ok')
    const selfB = testIdentity(2).publicKey
    assert.is(a.peer.ledger.heads().find(x => equals(x.author, selfB)), undefined, 'the fast peer signed no block')

    // The correction: the same folder, started again without faketime, writes at once.
    assert.is(await stopCliPeer(fast), 0)
    children.splice(children.indexOf(fast), 1)
    const corrected = await startCliPeer(dataB, { peers: a.peer.p2p.addresses() })
    children.push(corrected)
    assert.is(await signUp(corrected.url, 'after-correction'), 'ok')
    await waitFor(async () => await a.peer.ledger.block(selfB, 0) !== undefined, { timeout: 30_000, what: 'A to accept the corrected peer\'s block' })
    const block = await a.peer.ledger.block(selfB, 0)
    assert.ok(block !== undefined && block.header.time <= Date.now() + MAX_CLOCK_SKEW_MS)
    await waitFor(async () => { const x = await health(corrected.url); return x.clockSamples >= 1 && x.writes === 'open' }, { timeout: 30_000, what: 'the corrected peer to measure its clock' })
    assert.ok(Math.abs((await health(corrected.url)).clockSkewMs ?? Infinity) < 30_000)

    await waitFor(async () => (await health(corrected.url)).blocks === a.peer.ledger.size(), { timeout: 30_000, what: 'both peers to hold the same blocks' })

    assert.is(await stopCliPeer(corrected), 0)
    children.splice(children.indexOf(corrected), 1)
    assert.is(await ledgerVerify(dataB), 0, 'ledger verify ok')
    const report = await verifyLedger({ path: join(dataB, 'ledger'), genesis }, { verify: nodeVerify, logger: createLogger({ silent: true }) })
    assert.is(report.stateRoot, toHex(await a.peer.ledger.stateRoot()), 'the roots agree')
  })

  test('a lone member that wrote with a fast clock writes at once after the correction', async () => {
    const data = await tempDir('medichain-lone-')
    // First run: the key and a one-member genesis; nobody to compare the clock with.
    const fast = await startCliPeer(data, { env: skewedClock(AHEAD) })
    children.push(fast)
    assert.is(await signUp(fast.url, 'while-fast'), 'ok')
    assert.is(await stopCliPeer(fast), 0)
    children.splice(children.indexOf(fast), 1)

    const corrected = await startCliPeer(data)
    children.push(corrected)
    const answer = await signUp(corrected.url, 'after-correction')
    assert.is(answer === 'ok' ? 'ok' : answer.code, 'ok')
    assert.is(await stopCliPeer(corrected), 0)
    children.splice(children.indexOf(corrected), 1)
    assert.is(await ledgerVerify(data), 0, 'ledger verify ok')
  })
}

test.run()
