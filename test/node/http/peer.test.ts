// Two whole peers composed by createPeer (ledger + libp2p + HTTP) on 127.0.0.1: the HTTP API
// reports the live member connection, a block written on one reaches the other, both report the
// same state root over HTTP, and stop() closes HTTP and releases the ledger folder.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { createGenesis } from '../../../protocol/chain/genesis.ts'
import { nodeIdentity } from '../../../ledger/verify/node-crypto.ts'
import { createLogger } from '../../../node/logger.ts'
import { createPeer } from '../../../node/peer.ts'
import type { Peer } from '../../../node/peer.ts'
import { waitFor, withTimeout } from '../../helpers/timeout.ts'
import { recordBody } from '../../helpers/ledger/fixture.ts'
import { TEST_SCRYPT_N, TEST_VAULT_ITERATIONS } from '../../helpers/peers/peers.ts'
import { deriveAuthSecret } from '../../../protocol/crypto/auth-secret.ts'
import { MedichainClient } from '../../../protocol/client/client.ts'
import { AUTH_DEFAULTS } from '../../../node/auth/constants.ts'

const seeds = [1, 2].map(n => new Uint8Array(32).fill(n))
const keys = seeds.map(s => nodeIdentity(s).publicKey)
const genesis = createGenesis({
  name: 'http peer test',
  created: 1_700_000_000_000,
  members: keys.map((key, i) => ({ name: `H${i}`, key, addrs: [] }))
})
const logger = createLogger({ silent: true })

let dir = ''
let peers: Peer[] = []

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medichain-peer-'))
})

test.after.each(async () => {
  for (const p of peers.splice(0)) await p.stop()
  await rm(dir, { recursive: true, force: true })
})

function makePeer (i: number, bootstrap: string[], opts: { freshChain?: boolean } = {}): Peer {
  const peer = createPeer({
    data: join(dir, `h${i}`),
    http: { host: '127.0.0.1', port: 0 },
    p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    peers: bootstrap,
    syncIntervalMs: 1_000,
    seed: seeds[i],
    genesis,
    auth: { ...AUTH_DEFAULTS, scryptN: TEST_SCRYPT_N },
    freshChain: opts.freshChain
  })({ logger, clock: Date.now })
  peers.push(peer)
  return peer
}

/** Session cookie per peer URL: the ledger routes need a signed-in admin. */
const cookies = new Map<string, string>()

async function signedIn (base: string): Promise<string> {
  let cookie = cookies.get(base)
  if (cookie === undefined) {
    const c = new MedichainClient({ baseUrl: base, vaultIterations: TEST_VAULT_ITERATIONS })
    // The explorer routes are for admins (issue 11.4): sign up the peer's admin through its setup link.
    const link = peers.find(p => p.http.url === base)?.auth.setupLink(base)
    if (link === undefined) throw new Error('no setup link')
    await c.signUp({ username: 'reader', password: 'a patient with a password', role: 'admin', setupToken: new URL(link).hash.replace(/^#token=/, '') })
    const res = await fetch(`${base}/api/auth/sign-in`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'reader', password: await deriveAuthSecret('reader', 'a patient with a password') })
    })
    cookie = res.headers.getSetCookie()[0].split(';')[0]
    cookies.set(base, cookie)
  }
  return cookie
}

async function json (url: string): Promise<Record<string, unknown>> {
  const u = new URL(url)
  const res = await fetch(url, { headers: u.pathname === '/api/health' ? {} : { cookie: await signedIn(u.origin) } })
  assert.is(res.status, 200, url)
  return await res.json() as Record<string, unknown>
}

test('two peers connect, replicate a block and agree on the state root over HTTP', async () => {
  const a = makePeer(0, [])
  await a.start()
  const b = makePeer(1, a.p2p.addresses())
  await b.start()
  await waitFor(() => a.p2p.connectedMembers().length === 1 && b.p2p.connectedMembers().length === 1, { timeout: 20_000, what: 'the two members to connect' })
  // New folders write once the other member has said how much of their chains it holds.
  await withTimeout(Promise.all([a.writes.whenOpen(), b.writes.whenOpen()]), 20_000, 'writes to open')

  const health = await json(`${a.http.url}/api/health`)
  assert.equal(health.connected, [toHex(keys[1])])
  const members = (await json(`${b.http.url}/api/members`)).members as Array<{ key: string, connected: boolean, self: boolean }>
  assert.equal(members.map(m => [m.key, m.self, m.connected]).sort(), [[toHex(keys[0]), false, true], [toHex(keys[1]), true, false]].sort())

  const loc = await a.ledger.submitOwn('record.create', recordBody(5))
  assert.is((await fetch(`${b.http.url}/api/ledger/heads`)).status, 401, 'the ledger routes need a session')
  const cookie = await signedIn(b.http.url)
  await waitFor(async () => (await fetch(`${b.http.url}/api/ledger/tx/${toHex(loc.txId)}`, { headers: { cookie } })).status === 200, { timeout: 20_000, what: 'the block to reach B' })
  await signedIn(a.http.url)
  await waitFor(() => a.ledger.size() === b.ledger.size(), { timeout: 20_000, what: 'both peers to hold the same blocks' })
  const [rootA, rootB] = await Promise.all([a, b].map(async p => await json(`${p.http.url}/api/ledger/state-root`)))
  assert.equal(rootA, rootB)
})

test('stop() closes HTTP and releases the ledger so the folder can be reopened', async () => {
  // Alone, a new folder of a two-member consortium writes only when its admin says the chain is new.
  const a = makePeer(0, [], { freshChain: true })
  await a.start()
  const url = a.http.url
  await a.ledger.submitOwn('record.create', recordBody(6))
  await a.stop()
  peers = []
  let refused = false
  try {
    await fetch(`${url}/api/health`)
  } catch {
    refused = true
  }
  assert.ok(refused, 'HTTP is closed after stop')
  const again = makePeer(0, [])
  await again.start()
  assert.is(again.ledger.size(), 1, 'the appended block survived the restart')
})

test.run()
