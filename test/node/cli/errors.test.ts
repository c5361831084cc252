// What a first-day user meets when something is in the way, as the `medichain` command says it:
// a data folder held by a running peer, a read-only folder, a port already taken (and a failed
// first start that leaves nothing behind), a malformed flag, a peer that moved off its genesis
// port, a lost admin setup link (a new one from the CLI), and `ledger show` saying there is more.
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { AddressInfo, Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MedichainClient } from '../../../protocol/client/client.ts'
import { CliRunner, waitForLine } from '../../helpers/peers/cli.ts'
import type { Spawned } from '../../helpers/peers/cli.ts'

const HTTP_LINE = /^ {2}http: {7}(http:\/\/\S+)$/m

let dir = ''
const cli = new CliRunner()
const servers: Server[] = []
const mounts: string[] = []

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medichain-cli-errors-'))
  cli.cwd = dir
})

test.after.each(async () => {
  cli.killAll()
  for (const s of servers.splice(0)) s.close()
  for (const m of mounts.splice(0)) execFileSync('umount', [m])
  await rm(dir, { recursive: true, force: true })
})

/** Starts a peer on free ports in `data` and waits for its banner. */
async function startPeer (data: string, extra: string[] = []): Promise<{ p: Spawned, url: string }> {
  const p = cli.launch(['start', '--data', data, '--http-port', '0', '--p2p-port', '0', ...extra])
  const m = await waitForLine(p, HTTP_LINE, 'the peer banner', 60_000)
  return { p, url: m[1] }
}

/** A TCP port held by this test until teardown. */
async function takenPort (): Promise<number> {
  const server = createServer()
  servers.push(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

function errorCode (stderr: string): string | undefined {
  return /^error ([A-Z_]+):/m.exec(stderr)?.[1]
}

test('a data folder in use by a running peer is named as such by start, ledger show and ledger verify', async () => {
  const data = join(dir, 'data')
  await startPeer(data)
  for (const args of [['start', '--data', data, '--http-port', '0', '--p2p-port', '0'], ['ledger', 'show', '--data', data], ['ledger', 'verify', '--data', data]]) {
    const r = await cli.run(args)
    assert.is(r.code, 1, args.join(' '))
    assert.is(errorCode(r.stderr), 'DATA_FOLDER_IN_USE', r.stderr)
    assert.match(r.stderr, data)
  }
})

test('a read-only data folder is named as read-only before anything is written', async () => {
  if (process.getuid?.() !== 0) {
    console.log('  skipped: mounting a read-only tmpfs needs root (CI runs as root)')
    return
  }
  const ro = join(dir, 'ro')
  await mkdir(ro)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', ro])
  mounts.push(ro)
  for (const args of [['start', '--data', ro, '--http-port', '0', '--p2p-port', '0'], ['start', '--data', join(ro, 'sub'), '--http-port', '0', '--p2p-port', '0'], ['init', '--data', ro]]) {
    const r = await cli.run(args)
    assert.is(r.code, 1, args.join(' '))
    assert.is(errorCode(r.stderr), 'DATA_FOLDER_READ_ONLY', r.stderr)
  }
})

test('a p2p or HTTP port in use is named, and the failed first start leaves no key or genesis behind', async () => {
  const port = String(await takenPort())
  for (const [flag, other] of [['--p2p-port', '--http-port'], ['--http-port', '--p2p-port']]) {
    const data = join(dir, `data${flag}`)
    const r = await cli.run(['start', '--data', data, flag, port, other, '0'])
    assert.is(r.code, 1, flag)
    assert.is(errorCode(r.stderr), 'PORT_IN_USE', r.stderr)
    assert.match(r.stderr, port)
    assert.not.match(r.stderr, 'faultTolerance')
    await readdir(data).then(names => assert.unreachable(`left behind: ${names.join(', ')}`), (err: NodeJS.ErrnoException) => assert.is(err.code, 'ENOENT'))
  }
  // A second attempt on free ports then starts cleanly, as a first run.
  const { p } = await startPeer(join(dir, 'data--p2p-port'))
  assert.match(p.stdout(), 'first run: created hospital key')
})

test('a malformed flag value is wrong usage: exit 2', async () => {
  const r = await cli.run(['start', '--data', join(dir, 'data'), '--http-port', 'abc'])
  assert.is(r.code, 2)
  assert.is(errorCode(r.stderr), 'INVALID_CONFIG')
})

test('a peer listening on another p2p port than its genesis announces is warned in the banner', async () => {
  const data = join(dir, 'data')
  const first = await startPeer(data)
  first.p.child.kill('SIGTERM')
  await first.p.exited
  const genesis = JSON.parse(await readFile(join(data, 'genesis.json'), 'utf8')) as { members: Array<{ addrs: string[] }> }
  assert.ok(genesis.members[0].addrs.length === 0, 'a port-0 first run announces no address')
  // Announce a fixed port in a genesis of our own, then start elsewhere.
  const announced = await takenPort()
  genesis.members[0].addrs = [`/ip4/127.0.0.1/tcp/${announced}`]
  const other = join(dir, 'other.json')
  await writeFile(other, JSON.stringify(genesis))
  const moved = join(dir, 'moved')
  await mkdir(moved)
  await writeFile(join(moved, 'hospital.key'), await readFile(join(data, 'hospital.key')), { mode: 0o600 })
  const { p } = await startPeer(moved, ['--genesis', other])
  assert.match(p.stdout(), new RegExp(`warning: +the genesis announces this hospital at /ip4/127.0.0.1/tcp/${announced}`))
})

test('admin setup-link issues a new one-time link from the running peer; a forged request is refused; a silent address times out', async () => {
  const data = join(dir, 'data')
  const { p, url } = await startPeer(data)
  assert.match(p.stdout(), 'admin setup (one-time link')
  // `medichain start` deploys the shipped default model from the first start.
  const card = JSON.parse(await readFile(new URL('../../../node/ai/detect/default-model/model-card.json', import.meta.url), 'utf8')) as { weights: string }
  assert.is(((await (await fetch(`${url}/api/health`)).json()) as { model: string | null }).model, card.weights)
  const r = await cli.run(['admin', 'setup-link', '--data', data, '--url', url], {}, 90_000)
  assert.is(r.code, 0, r.stderr)
  const link = /admin setup \(one-time link, keep it private\): (\S+)/.exec(r.stdout)?.[1]
  assert.ok(link !== undefined, r.stdout)
  const token = new URL(link).hash.replace(/^#token=/, '')
  const client = new MedichainClient({ baseUrl: url, vaultIterations: 1000 })
  const made = await client.signUp({ username: 'it-admin', password: 'correct horse battery staple', role: 'admin', setupToken: token })
  assert.is(made.status, 'active')
  // The link is one-time, and a request not signed with the hospital key gets nothing.
  const again = new MedichainClient({ baseUrl: url, vaultIterations: 1000 })
  try {
    await again.signUp({ username: 'it-admin-2', password: 'correct horse battery staple', role: 'admin', setupToken: token })
    assert.unreachable('a used setup token made a second admin')
  } catch (err) {
    assert.is((err as { code?: string }).code, 'BAD_SETUP_TOKEN')
  }
  const forged = await fetch(`${url}/api/setup/link`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ time: Date.now(), sig: '00'.repeat(64) }) })
  assert.is(forged.status, 403)
  assert.is(((await forged.json()) as { code: string }).code, 'BAD_SETUP_REQUEST')
  // At an address that accepts connections but never answers, the CLI gives up and says so.
  const down = await cli.run(['admin', 'setup-link', '--data', data, '--url', `http://127.0.0.1:${await takenPort()}`], {}, 90_000)
  assert.is(down.code, 1)
  assert.is(errorCode(down.stderr), 'PEER_UNREACHABLE', down.stderr)
})

test('ledger show says when a chain has more blocks than it printed', async () => {
  const data = join(dir, 'data')
  const { p, url } = await startPeer(data)
  const token = new URL(/admin setup \(one-time link, keep it private\): (\S+)/.exec(p.stdout())?.[1] ?? '').hash.replace(/^#token=/, '')
  await new MedichainClient({ baseUrl: url, vaultIterations: 1000 }).signUp({ username: 'admin', password: 'correct horse battery staple', role: 'admin', setupToken: token })
  await new MedichainClient({ baseUrl: url, vaultIterations: 1000 }).signUp({ username: 'pat', password: 'correct horse battery staple', role: 'patient' })
  p.child.kill('SIGTERM')
  await p.exited
  const r = await cli.run(['ledger', 'show', '--data', data, '--limit', '1'])
  assert.is(r.code, 0, r.stderr)
  assert.match(r.stdout, /… 1 more \(heights 1\.\.1\): --from 1 shows the next 1/)
  const all = await cli.run(['ledger', 'show', '--data', data])
  assert.not.match(all.stdout, 'more (heights')
})

test.run()
