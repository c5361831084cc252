// Configuration: built-in defaults, then the config file, then MEDICHAIN_* variables, then flags,
// each later layer winning; and every malformed value rejected with INVALID_CONFIG.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { loadConfig } from '../../../node/config/index.ts'
import { rejects } from '../../helpers/assert.ts'

let cwd = ''

test.before.each(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'medichain-config-'))
})

test.after.each(async () => {
  await rm(cwd, { recursive: true, force: true })
})

async function writeConfig (path: string, value: unknown): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true })
  await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value))
}

test('defaults: ./data, HTTP 127.0.0.1:8080, p2p 4001, genesis in the data folder', async () => {
  const c = await loadConfig({ cwd, env: {} })
  assert.is(c.data, join(cwd, 'data'))
  assert.equal(c.http, { host: '127.0.0.1', port: 8080, trustProxy: [] })
  assert.equal(c.p2p.listen, ['/ip4/127.0.0.1/tcp/4001'])
  assert.equal(c.p2p.announce, c.p2p.listen)
  assert.is(c.genesis, join(cwd, 'data', 'genesis.json'))
  assert.equal(c.peers, [])
  assert.is(c.logLevel, 'info')
  assert.is(c.syncIntervalMs, 10_000)
  assert.is(c.configFile, null)
  assert.is(c.name, 'data')
})

test('precedence: defaults < config file < env < flags, field by field', async () => {
  const data = join(cwd, 'data')
  await writeConfig(join(data, 'config.json'), {
    name: 'St Anne',
    http: { host: '0.0.0.0', port: 9001 },
    p2p: { port: 4501 },
    genesis: 'consortium.json',
    peers: ['/ip4/10.0.0.1/tcp/4001'],
    logLevel: 'debug',
    syncIntervalMs: 5000
  })
  const file = await loadConfig({ cwd, env: {} })
  assert.is(file.configFile, join(data, 'config.json'))
  assert.is(file.name, 'St Anne')
  assert.equal(file.http, { host: '0.0.0.0', port: 9001, trustProxy: [] })
  assert.equal(file.p2p.listen, ['/ip4/127.0.0.1/tcp/4501'])
  assert.is(file.genesis, join(data, 'consortium.json'), 'relative to the config file')
  assert.equal(file.peers, ['/ip4/10.0.0.1/tcp/4001'])
  assert.is(file.logLevel, 'debug')
  assert.is(file.syncIntervalMs, 5000)

  const env = {
    MEDICHAIN_HTTP_PORT: '9002',
    MEDICHAIN_P2P_PORT: '4502',
    MEDICHAIN_PEERS: '/ip4/10.0.0.2/tcp/4001, /ip4/10.0.0.3/tcp/4001',
    MEDICHAIN_LOG_LEVEL: 'warn',
    MEDICHAIN_GENESIS: 'env-genesis.json'
  }
  const withEnv = await loadConfig({ cwd, env })
  assert.is(withEnv.http.port, 9002)
  assert.is(withEnv.http.host, '0.0.0.0', 'fields the env does not set stay from the file')
  assert.equal(withEnv.p2p.listen, ['/ip4/127.0.0.1/tcp/4502'])
  assert.equal(withEnv.peers, ['/ip4/10.0.0.2/tcp/4001', '/ip4/10.0.0.3/tcp/4001'])
  assert.is(withEnv.logLevel, 'warn')
  assert.is(withEnv.genesis, join(cwd, 'env-genesis.json'), 'env paths are relative to the working folder')

  const flags = { 'http-port': '9003', 'p2p-port': '4503', peer: ['/ip4/10.0.0.4/tcp/4001'], 'log-level': 'error', genesis: 'flag-genesis.json' }
  const withFlags = await loadConfig({ cwd, env, flags })
  assert.is(withFlags.http.port, 9003)
  assert.equal(withFlags.p2p.listen, ['/ip4/127.0.0.1/tcp/4503'])
  assert.equal(withFlags.peers, ['/ip4/10.0.0.4/tcp/4001'])
  assert.is(withFlags.logLevel, 'error')
  assert.is(withFlags.genesis, join(cwd, 'flag-genesis.json'))
  assert.is(withFlags.syncIntervalMs, 5000)
})

test('the data folder from env or flags decides which config file is read; --config names one', async () => {
  await writeConfig(join(cwd, 'a', 'config.json'), { http: { port: 7001 } })
  await writeConfig(join(cwd, 'b', 'config.json'), { http: { port: 7002 } })
  await writeConfig(join(cwd, 'elsewhere.json'), { http: { port: 7003 }, data: 'c' })
  assert.is((await loadConfig({ cwd, env: { MEDICHAIN_DATA: 'a' } })).http.port, 7001)
  const b = await loadConfig({ cwd, env: { MEDICHAIN_DATA: 'a' }, flags: { data: 'b' } })
  assert.is(b.http.port, 7002)
  assert.is(b.data, join(cwd, 'b'))
  assert.is(b.genesis, join(cwd, 'b', 'genesis.json'))
  const explicit = await loadConfig({ cwd, env: {}, flags: { config: 'elsewhere.json' } })
  assert.is(explicit.http.port, 7003)
  assert.is(explicit.data, join(cwd, 'c'))
  assert.is((await loadConfig({ cwd, env: { MEDICHAIN_CONFIG: 'elsewhere.json' } })).http.port, 7003)
  await rejects(async () => await loadConfig({ cwd, env: {}, flags: { config: 'missing.json' } }), 'INVALID_CONFIG')
})

test('explicit listen addresses in the file get the port from a later layer; announce is kept apart', async () => {
  await writeConfig(join(cwd, 'data', 'config.json'), {
    p2p: { listen: ['/ip4/0.0.0.0/tcp/4001', '/ip6/::/tcp/4001'], announce: ['/dns4/north.example/tcp/4001'] }
  })
  const c = await loadConfig({ cwd, env: {}, flags: { 'p2p-port': '4999' } })
  assert.equal(c.p2p.listen, ['/ip4/0.0.0.0/tcp/4999', '/ip6/::/tcp/4999'])
  assert.equal(c.p2p.announce, ['/dns4/north.example/tcp/4999'])
})

test('out-of-range ports are rejected with INVALID_CONFIG from every layer', async () => {
  for (const port of ['65536', '-1', 'abc', '80.5', ' ']) {
    await rejects(async () => await loadConfig({ cwd, env: {}, flags: { 'http-port': port } }), 'INVALID_CONFIG')
  }
  await rejects(async () => await loadConfig({ cwd, env: {}, flags: { 'p2p-port': '70000' } }), 'INVALID_CONFIG')
  await rejects(async () => await loadConfig({ cwd, env: { MEDICHAIN_HTTP_PORT: 'eighty' } }), 'INVALID_CONFIG')
  await rejects(async () => await loadConfig({ cwd, env: { MEDICHAIN_P2P_PORT: '99999' } }), 'INVALID_CONFIG')
  await writeConfig(join(cwd, 'data', 'config.json'), { http: { port: 65536 } })
  await rejects(async () => await loadConfig({ cwd, env: {} }), 'INVALID_CONFIG')
  await writeConfig(join(cwd, 'data', 'config.json'), { http: { port: '8080' } })
  await rejects(async () => await loadConfig({ cwd, env: {} }), 'INVALID_CONFIG')
})

test('bad multiaddrs, levels, intervals, hosts, unknown keys and bad JSON are INVALID_CONFIG', async () => {
  await rejects(async () => await loadConfig({ cwd, env: {}, flags: { peer: ['not-a-multiaddr'] } }), 'INVALID_CONFIG')
  await rejects(async () => await loadConfig({ cwd, env: { MEDICHAIN_PEERS: '/ip4/10.0.0.1/tcp/4001,/ip4/999.1.1.1/tcp/1' } }), 'INVALID_CONFIG')
  await rejects(async () => await loadConfig({ cwd, env: { MEDICHAIN_LOG_LEVEL: 'loud' } }), 'INVALID_CONFIG')
  await rejects(async () => await loadConfig({ cwd, env: {}, flags: { 'http-host': 'a host' } }), 'INVALID_CONFIG')
  const file = join(cwd, 'data', 'config.json')
  const cases: unknown[] = [
    { p2p: { listen: ['/ip4/127.0.0.1/tcp/x'] } },
    { p2p: { listen: '/ip4/127.0.0.1/tcp/4001' } },
    { peers: ['/nope'] },
    { logLevel: 'verbose' },
    { syncIntervalMs: 5 },
    { syncIntervalMs: 1.5 },
    { htpp: { port: 8080 } },
    { http: { port: 8080, tls: true } },
    [],
    '{"http": ',
    { name: '' }
  ]
  for (const c of cases) {
    await writeConfig(file, c)
    await rejects(async () => await loadConfig({ cwd, env: {} }), 'INVALID_CONFIG')
  }
})

test.run()
