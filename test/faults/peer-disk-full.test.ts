// A real peer (`medichain start`) whose data folder is on a small tmpfs that fills: consent grants
// and sign-ups answer 507 STORAGE_FULL and are never acknowledged, /api/health says `degraded`
// with the reason and counts only stored blocks; once space is freed the peer takes writes again
// without a restart; once it is stopped, its stores opened again from disk hold every acknowledged
// write and `ledger verify` passes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import { fromHex } from '../../protocol/bytes.ts'
import { ApiError, MedichainClient } from '../../protocol/client/client.ts'
import { genesisFromJson } from '../../protocol/chain/genesis.ts'
import type { Purpose } from '../../protocol/chain/tx.ts'
import { nodeVerify } from '../../ledger/verify/node-crypto.ts'
import { AccountStore } from '../../node/auth/accounts/store.ts'
import type { Ledger } from '../../ledger/types.ts'
import { verifyLedger } from '../../ledger/verify/verify.ts'
import { killCliChildren, startCliPeer } from '../helpers/peers/cli-peer.ts'
import type { CliPeer } from '../helpers/peers/cli-peer.ts'
import { cleanup, openLedger, tempDir, testIdentity } from '../helpers/ledger/fixture.ts'
import { waitFor } from '../helpers/timeout.ts'
import { mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs.ts'
import type { Tmpfs } from '../helpers/tmpfs.ts'

/** Room for a fresh peer's stores and a recovery (ledger/constants.ts asks for 10 MiB free). */
const TMPFS_BYTES = 40 * 1024 * 1024
/** Bound of the grants that may still fit in the last partly used pages once the disk is full. */
const MAX_WRITES_AFTER_FILL = 64
const PURPOSES: Purpose[] = ['treatment', 'research', 'training']

interface Health { status: string, reasons: Array<{ code: string }>, blocks: number, self: string }

let fs: Tmpfs | null = null
const peers: CliPeer[] = []
const ledgers: Ledger[] = []
test.after.each(async () => {
  for (const p of peers.splice(0)) await p.stop().catch(() => {})
  killCliChildren()
  for (const l of ledgers.splice(0)) await l.stop().catch(() => {})
  fs?.unmount()
  fs = null
  await cleanup()
})

async function health (url: string): Promise<Health> {
  return await (await fetch(`${url}/api/health`)).json() as Health
}

/** Signs a patient up and in (test-cost vault sealing). */
async function patient (url: string, username: string): Promise<MedichainClient> {
  const c = new MedichainClient({ baseUrl: url, vaultIterations: 1000 })
  const password = `${username} has a long password`
  await c.signUp({ username, password, role: 'patient' })
  await c.signIn(username, password)
  return c
}

let grants = 0
/** A consent grant to the hospital itself; resolves with its tx id. */
async function grant (c: MedichainClient, self: string): Promise<string> {
  const { id } = await c.grant({ grantee: self, kind: 'hospital', purpose: PURPOSES[grants++ % PURPOSES.length], expires: Date.now() + 30 * 86_400_000 })
  return id
}

/** The error of a call that must fail, as an ApiError. */
async function refusal (fn: () => Promise<unknown>): Promise<ApiError> {
  try {
    await fn()
  } catch (err) {
    if (err instanceof ApiError) return err
    throw err
  }
  throw new Error('expected the call to be refused')
}

test('disk full at a real peer: 507 STORAGE_FULL, health degraded, recovery, nothing acknowledged lost', async () => {
  const why = tmpfsUnavailable()
  if (why !== null) { console.log(why); return }
  fs = await mountTmpfs(TMPFS_BYTES)
  const cwd = await tempDir('medichain-faults-')
  const data = join(fs.path, 'd')
  await mkdir(data, { recursive: true })
  // Test-cost password hashing (the floor of the accepted range).
  await writeFile(join(data, 'config.json'), JSON.stringify({ auth: { scryptN: 2 ** 14 } }))
  const peer = await startCliPeer(data, cwd)
  peers.push(peer)
  const { self } = await health(peer.url)
  const acked: string[] = []
  const p1 = await patient(peer.url, 'pat-one')
  const p2 = await patient(peer.url, 'pat-two')
  acked.push(await grant(p1, self), await grant(p2, self))
  const blocksBefore = (await health(peer.url)).blocks

  await fs.fill()
  let refused: ApiError | null = null
  let fitted = 0
  for (let i = 0; i < MAX_WRITES_AFTER_FILL && refused === null; i++) {
    try {
      acked.push(await grant(p1, self))
      fitted++
    } catch (err) {
      if (!(err instanceof ApiError)) throw err
      refused = err
    }
  }
  assert.equal([refused?.status, refused?.code], [507, 'STORAGE_FULL'], 'the grant that does not fit is refused')
  const full = await refusal(async () => await grant(p2, self))
  assert.equal([full.status, full.code], [507, 'STORAGE_FULL'], 'later grants are refused too')
  const signUp = await refusal(async () => await patient(peer.url, 'pat-three'))
  assert.equal([signUp.status, signUp.code], [507, 'STORAGE_FULL'], 'a sign-up is refused')
  const degraded = await health(peer.url)
  assert.is(degraded.status, 'degraded')
  assert.equal(degraded.reasons.map(r => r.code), ['STORAGE_FULL'])
  assert.is(degraded.blocks, blocksBefore + fitted, 'health counts only the blocks written')

  await fs.free()
  await waitFor(async () => (await health(peer.url)).status === 'ok', { timeout: 20_000, what: 'the peer to recover once space is free' })
  acked.push(await grant(p2, self))
  const p3 = await patient(peer.url, 'pat-three')
  acked.push(await grant(p3, self))
  const blocksAtStop = (await health(peer.url)).blocks
  assert.is(await peer.stop(), 0)
  peers.splice(0)

  // The stores opened again from disk, as a restart opens them, and what `medichain ledger verify`
  // runs, in this process (each CLI start costs seconds of module loading on a busy runner).
  const genesis = genesisFromJson(JSON.parse(await readFile(join(data, 'genesis.json'), 'utf8')))
  const report = await verifyLedger({ path: join(data, 'ledger'), genesis }, { verify: nodeVerify, logger: pino({ level: 'silent' }) })
  assert.equal(report.problems, [], 'ledger verify passes')
  const ledger = await openLedger(genesis, testIdentity(99), { path: join(data, 'ledger') })
  ledgers.push(ledger)
  assert.is(ledger.size(), blocksAtStop, 'the reopened ledger holds every block the peer had')
  const accounts = new AccountStore(join(data, 'accounts'))
  await accounts.open()
  const three = await accounts.get('pat-three')
  await accounts.close()
  assert.ok(three, 'the account created after the recovery is stored')
  const chain = await ledger.blocks(fromHex(self), 0, 10_000)
  assert.equal(chain.map(b => b.header.height), chain.map((_, i) => i), 'the own chain has no gap')
  for (const id of acked) assert.ok(await ledger.tx(fromHex(id)), `acknowledged grant ${id.slice(0, 12)} is on the ledger after the restart`)
})

test.run()
