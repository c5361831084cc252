// The `medichain` command as a user runs it: spawned with this Node on node/main.ts in temp data
// folders. Help exits 0, wrong usage exits 2, init never overwrites, genesis output parses, and
// start runs on first-run defaults, serves HTTP, and shuts down cleanly on SIGTERM and SIGINT.
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { genesisFromJson, ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { CliRunner, COMMAND_MS, waitForLine } from '../../helpers/peers/cli.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { dcmtk } from '../../helpers/imaging/dicom.ts'

let dir = ''
const cli = new CliRunner()

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medichain-cli-'))
  cli.cwd = dir
})

test.after.each(async () => {
  cli.killAll()
  await rm(dir, { recursive: true, force: true })
})

function field (stdout: string, name: string): string {
  const m = new RegExp(`^${name}: (\\S+)$`, 'm').exec(stdout)
  if (m === null) throw new Error(`no "${name}:" line in ${stdout}`)
  return m[1]
}

test('--help exits 0 with usage for every command', async () => {
  const cases = [['--help'], ['-h'], ['init', '--help'], ['genesis', '--help'], ['start', '--help'], ['ledger', '--help'],
    ['ledger', 'verify', '--help'], ['ledger', 'show', '-h'], ['help', 'start']]
  const results = await Promise.all(cases.map(async args => await cli.run(args)))
  for (const [i, r] of results.entries()) {
    const args = cases[i]
    assert.is(r.code, 0, args.join(' '))
    assert.match(r.stdout, /^Usage: medichain/, args.join(' '))
  }
})

test('unknown commands, flags and missing values exit 2 with usage on stderr', async () => {
  const cases = [[], ['frobnicate'], ['start', '--bogus'], ['init', '--nope'], ['genesis', '--name'], ['ledger'], ['ledger', 'bogus'],
    ['ledger', 'verify', '--x'], ['ledger', 'show', '--limit', '9999'], ['start', 'extra-positional'], ['genesis', '--name', 'X']]
  const results = await Promise.all(cases.map(async args => await cli.run(args)))
  for (const [i, r] of results.entries()) {
    const args = cases[i]
    assert.is(r.code, 2, `medichain ${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, /Usage: medichain/, args.join(' '))
    assert.is(r.stdout, '', args.join(' '))
  }
})

test('init creates a 0600 key, prints its public key and PeerId, and never overwrites it', async () => {
  const first = await cli.run(['init', '--data', 'h1'])
  assert.is(first.code, 0, first.stderr)
  const pub = field(first.stdout, 'public key')
  assert.match(pub, /^[0-9a-f]{64}$/)
  assert.match(field(first.stdout, 'peer id'), /^12D3Koo/)
  const keyFile = join(dir, 'h1', 'hospital.key')
  assert.is((await stat(keyFile)).mode & 0o777, 0o600)
  const before = await readFile(keyFile, 'utf8')
  const second = await cli.run(['init', '--data', 'h1'])
  assert.is(second.code, 1)
  assert.match(second.stderr, 'KEY_EXISTS')
  assert.is(await readFile(keyFile, 'utf8'), before)
  const viaEnv = await cli.run(['init'], { MEDICHAIN_DATA: 'h2' })
  assert.is(viaEnv.code, 0)
  assert.ok((await stat(join(dir, 'h2', 'hospital.key'))).isFile())
})

test('genesis builds a document that genesisFromJson accepts, from --member specs or data folders', async () => {
  const keys: string[] = []
  for (const h of ['h1', 'h2']) keys.push(field((await cli.run(['init', '--data', h])).stdout, 'public key'))
  await writeFile(join(dir, 'h2', 'config.json'), JSON.stringify({ name: 'General', p2p: { listen: ['/ip4/127.0.0.1/tcp/4202'] } }))
  const r = await cli.run(['genesis', '--name', 'North', '--quorum', 'all', '--created', '1700000000000', '--out', 'g.json',
    '--member', `name=St Anne,key=${keys[0]},addr=/ip4/10.0.0.1/tcp/4001,addr=/ip4/10.0.0.1/tcp/4002`,
    '--member', `name=General,key=${keys[1]},addr=/ip4/10.0.0.2/tcp/4001`])
  assert.is(r.code, 0, r.stderr)
  const genesis = genesisFromJson(JSON.parse(await readFile(join(dir, 'g.json'), 'utf8')))
  assert.is(genesis.name, 'North')
  assert.is(genesis.quorum, 'all')
  assert.is(genesis.created, 1700000000000)
  assert.equal(genesis.members.map(m => toHex(m.key)).sort(), [...keys].sort())
  const anne = genesis.members.find(m => m.name === 'St Anne')
  assert.equal(anne?.addrs, ['/ip4/10.0.0.1/tcp/4001', '/ip4/10.0.0.1/tcp/4002'])
  assert.is(field(r.stdout, 'ledger id'), toHex(ledgerIdOf(genesis)))

  const again = await cli.run(['genesis', '--name', 'North', '--member', `name=A,key=${keys[0]}`, '--out', 'g.json'])
  assert.is(again.code, 1)
  assert.match(again.stderr, 'GENESIS_EXISTS')

  const fromData = await cli.run(['genesis', '--name', 'South', '--from-data', 'h1,h2', '--created', '1'])
  assert.is(fromData.code, 0, fromData.stderr)
  const g2 = genesisFromJson(JSON.parse(fromData.stdout))
  const general = g2.members.find(m => toHex(m.key) === keys[1])
  assert.is(general?.name, 'General')
  assert.equal(general?.addrs, ['/ip4/127.0.0.1/tcp/4202'])
  assert.equal(g2.members.find(m => toHex(m.key) === keys[0])?.addrs, ['/ip4/127.0.0.1/tcp/4001'])
})

test('genesis rejects malformed members with exit 2', async () => {
  const key = 'ab'.repeat(32)
  const bad = [
    `name=A,key=${key.slice(2)}`,
    `name=A,key=${key},addr=/ip4/1.2.3.4/tcp/notaport`,
    `key=${key}`,
    `name=A,key=${key},colour=blue`,
    'just-text'
  ]
  for (const spec of bad) {
    const r = await cli.run(['genesis', '--name', 'X', '--member', spec])
    assert.is(r.code, 2, `${spec}: ${r.stderr}`)
  }
  const dup = await cli.run(['genesis', '--name', 'X', '--member', `name=A,key=${key}`, '--member', `name=B,key=${key}`])
  assert.is(dup.code, 2)
  const quorum = await cli.run(['genesis', '--name', 'X', '--member', `name=A,key=${key}`, '--quorum', 'most'])
  assert.is(quorum.code, 2)
})

test('start on first run creates key and genesis, serves HTTP, and stops cleanly on SIGTERM', async () => {
  const p = cli.launch(['start', '--data', 'd', '--http-port', '0', '--p2p-port', '0', '--dicom-port', '0'])
  // The p2p addresses are the last lines printed once the peer runs.
  await waitForLine(p, /^ {2}p2p: +\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3Koo\S+$/m, 'the p2p address')
  const [, url] = await waitForLine(p, /^ {2}http: +(http:\/\/\S+)$/m, 'the HTTP URL')
  assert.match(p.stdout(), /first run: created hospital key/)
  // The DICOM listener: AE title and bound port in the banner, answering C-ECHO there.
  const [, dicomPort] = await waitForLine(p, /^ {2}dicom: +MEDICHAIN@127\.0\.0\.1:(\d+)$/m, 'the DICOM address')
  const echo = await dcmtk('echoscu', ['-aec', 'MEDICHAIN', '127.0.0.1', dicomPort])
  assert.is(echo.code, 0, echo.stderr)
  const health = await fetch(`${url}/api/health`)
  assert.is(health.status, 200)
  const body = await health.json() as { status: string, self: string, ledger: string }
  assert.is(body.status, 'ok')
  assert.is((await stat(join(dir, 'd', 'hospital.key'))).mode & 0o777, 0o600)
  const genesis = genesisFromJson(JSON.parse(await readFile(join(dir, 'd', 'genesis.json'), 'utf8')))
  assert.equal(genesis.members.map(m => toHex(m.key)), [body.self])
  assert.is(body.ledger, toHex(ledgerIdOf(genesis)))
  p.child.kill('SIGTERM')
  assert.is(await withTimeout(p.exited, COMMAND_MS, 'exit after SIGTERM'), 0)
  assert.match(p.stdout(), /medichain peer stopped/)

  const verify = await cli.run(['ledger', 'verify', '--data', 'd'])
  assert.is(verify.code, 0, verify.stdout + verify.stderr)
  assert.match(verify.stdout, /ledger verify: ok/)
  const show = await cli.run(['ledger', 'show', '--data', 'd'])
  assert.is(show.code, 0, show.stderr)
  assert.match(show.stdout, body.self)
})

test('a second start reuses key and genesis and stops on SIGINT', async () => {
  const first = await cli.run(['init', '--data', 'd'])
  assert.is(first.code, 0)
  const noGenesis = await cli.run(['start', '--data', 'd', '--http-port', '0', '--p2p-port', '0', '--dicom-port', '0'])
  assert.is(noGenesis.code, 1)
  assert.match(noGenesis.stderr, 'GENESIS_NOT_FOUND')
  const pub = field(first.stdout, 'public key')
  const g = await cli.run(['genesis', '--name', 'Solo', '--member', `name=Solo,key=${pub}`, '--out', 'd/genesis.json'])
  assert.is(g.code, 0, g.stderr)
  const p = cli.launch(['start', '--http-port', '0', '--p2p-port', '0', '--dicom-port', '0'], { MEDICHAIN_DATA: 'd' })
  const [, url] = await waitForLine(p, /^ {2}http: +(http:\/\/\S+)$/m, 'the HTTP URL')
  assert.not.match(p.stdout(), 'first run')
  const health = await (await fetch(`${url}/api/health`)).json() as { self: string, members: number }
  assert.equal([health.self, health.members], [pub, 1])
  p.child.kill('SIGINT')
  assert.is(await withTimeout(p.exited, COMMAND_MS, 'exit after SIGINT'), 0)
})

test('start refuses a key file readable by others (exit 1), a bad port flag (usage, exit 2) and a bad port in config.json (exit 1)', async () => {
  assert.is((await cli.run(['init', '--data', 'd'])).code, 0)
  await chmod(join(dir, 'd', 'hospital.key'), 0o644)
  const r = await cli.run(['start', '--data', 'd', '--http-port', '0', '--p2p-port', '0', '--dicom-port', '0'])
  assert.is(r.code, 1)
  assert.match(r.stderr, 'KEY_PERMISSIONS')
  const port = await cli.run(['start', '--data', 'd', '--http-port', '70000'])
  assert.is(port.code, 2)
  assert.match(port.stderr, 'INVALID_CONFIG')
  await writeFile(join(dir, 'd', 'config.json'), JSON.stringify({ http: { port: 70000 } }))
  const file = await cli.run(['start', '--data', 'd'])
  assert.is(file.code, 1)
  assert.match(file.stderr, 'INVALID_CONFIG')
})

test('ledger verify exits 1 and lists problems when the folder does not match the genesis', async () => {
  const p = cli.launch(['start', '--data', 'd', '--http-port', '0', '--p2p-port', '0', '--dicom-port', '0'])
  await waitForLine(p, /^ {2}http: +\S+$/m, 'the HTTP URL')
  p.child.kill('SIGTERM')
  assert.is(await withTimeout(p.exited, COMMAND_MS, 'exit after SIGTERM'), 0)
  const other = await cli.run(['genesis', '--name', 'Other', '--member', `name=X,key=${'cd'.repeat(32)}`, '--out', 'other.json'])
  assert.is(other.code, 0)
  const r = await cli.run(['ledger', 'verify', '--data', 'd', '--genesis', 'other.json'])
  assert.is(r.code, 1)
  assert.match(r.stdout, /^problem WRONG_LEDGER: /m)
  assert.match(r.stdout, /ledger verify: FAILED/)
})

test.run()
