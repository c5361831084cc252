// The peer's static handler for the UI (node/http/middleware/static.ts) on a real koa server, mounted ahead
// of the API: index.html for /, /setup and /app/…, hashed assets with immutable caching and gzip,
// HEAD without a body; and everything else untouched — /api/*, and the seed routes
// /doctor/upload-patient-img, /doctor/get-patient-img, /patient/get-my-img — plus traversal
// attempts, unknown assets, writes, and an unbuilt UI answered 503.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { Router } from '@koa/router'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHttpServer } from '../../node/http/server.ts'
import type { HttpServer } from '../../node/http/server.ts'
import { ASSET_CACHE_CONTROL, acceptsGzip, isUiPath, serveWeb } from '../../node/http/middleware/static.ts'
import { createLogger } from '../../node/logger.ts'
import { cleanup, openLedger, testConsortium } from '../helpers/ledger/fixture.ts'

const JS = 'console.log("medichain");'.repeat(40)
const INDEX = '<!doctype html><title>Medichain</title><mc-app></mc-app>'
let dir = ''
let servers: HttpServer[] = []

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medichain-static-'))
  await mkdir(join(dir, 'assets'))
  await writeFile(join(dir, 'index.html'), INDEX)
  await writeFile(join(dir, 'assets', 'main-ABC123.js'), JS)
  await writeFile(join(dir, 'assets', 'main-ABC123.js.gz'), gzipSync(JS))
  await writeFile(join(dir, 'assets', 'favicon-0a1b2c3d.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')
})

test.after.each(async () => {
  for (const s of servers.splice(0)) await s.stop()
  await cleanup()
  await rm(dir, { recursive: true, force: true })
})

/** A peer's HTTP server with the UI mounted before stand-ins for the seed routes. */
async function serve (root = dir): Promise<string> {
  const { genesis, hospitals } = testConsortium(1)
  const ledger = await openLedger(genesis, hospitals[0], { verifyWorkers: 0 })
  const http = createHttpServer({ host: '127.0.0.1', port: 0 })({ ledger, logger: createLogger({ silent: true }) })
  http.app.use(serveWeb({ root }))
  const seed = new Router()
  seed.post('/doctor/upload-patient-img', (ctx) => { ctx.body = { route: 'upload' } })
  seed.get('/doctor/get-patient-img', (ctx) => { ctx.body = { route: 'get-patient-img' } })
  seed.get('/patient/get-my-img', (ctx) => { ctx.body = { route: 'get-my-img' } })
  http.app.use(seed.routes())
  await http.start()
  servers.push(http)
  return http.url
}

test('index.html for the UI routes, revalidated each load, with the security headers', async () => {
  const url = await serve()
  for (const path of ['/', '/setup', '/app', '/app/sign-in', '/app/clinician/patients/ab12']) {
    const res = await fetch(url + path)
    assert.is(res.status, 200, path)
    assert.is(await res.text(), INDEX)
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/)
    assert.is(res.headers.get('cache-control'), 'no-cache')
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/)
  }
})

test('hashed assets: immutable, gzip when accepted, plain otherwise, HEAD without a body', async () => {
  const url = await serve()
  const zipped = await fetch(`${url}/assets/main-ABC123.js`, { headers: { 'accept-encoding': 'gzip' } })
  assert.is(zipped.status, 200)
  assert.is(zipped.headers.get('content-encoding'), 'gzip')
  assert.is(zipped.headers.get('cache-control'), ASSET_CACHE_CONTROL)
  assert.is(zipped.headers.get('vary'), 'Accept-Encoding')
  assert.match(zipped.headers.get('content-type') ?? '', /^text\/javascript/)
  assert.is(await zipped.text(), JS, 'fetch inflates it back')
  const plain = await fetch(`${url}/assets/main-ABC123.js`, { headers: { 'accept-encoding': 'gzip;q=0, identity' } })
  assert.is(plain.headers.get('content-encoding'), null)
  assert.is(plain.headers.get('content-length'), String(JS.length))
  assert.is(await plain.text(), JS)
  const icon = await fetch(`${url}/assets/favicon-0a1b2c3d.svg`, { headers: { 'accept-encoding': 'gzip' } })
  assert.is(icon.headers.get('content-type'), 'image/svg+xml', 'no .gz copy: served plain')
  const head = await fetch(`${url}/assets/main-ABC123.js`, { method: 'HEAD', headers: { 'accept-encoding': 'identity' } })
  assert.is(head.status, 200)
  assert.is(head.headers.get('content-length'), String(JS.length))
  assert.is(await head.text(), '')
})

test('API paths pass through: /api, and the seed routes kept as written', async () => {
  const url = await serve()
  assert.is((await (await fetch(`${url}/api/health`)).json() as { status: string }).status, 'ok')
  assert.equal(await (await fetch(`${url}/doctor/get-patient-img?patientId=1`)).json(), { route: 'get-patient-img' })
  assert.equal(await (await fetch(`${url}/patient/get-my-img`)).json(), { route: 'get-my-img' })
  assert.equal(await (await fetch(`${url}/doctor/upload-patient-img`, { method: 'POST' })).json(), { route: 'upload' })
})

test('traversal, unknown assets and types, look-alike paths and writes are not served', async () => {
  const url = await serve()
  for (const path of ['/assets/../index.html', '/assets/%2e%2e%2findex.html', '/assets/..%2Findex.html', '/assets/missing-1.js',
    '/assets/main-ABC123.js.gz', '/assets/sub/main-ABC123.js', '/appx', '/application', '/index.html', '/setup/extra']) {
    const res = await fetch(url + path)
    assert.is(res.status, 404, path)
    assert.equal(await res.json(), { code: 'NOT_FOUND', message: 'no such route' }, path)
  }
  assert.is((await fetch(`${url}/app/sign-in`, { method: 'POST' })).status, 404)
})

test('an unbuilt UI answers 503 UNAVAILABLE and the API keeps serving', async () => {
  const url = await serve(join(dir, 'nowhere'))
  const res = await fetch(`${url}/app/sign-in`)
  assert.is(res.status, 503)
  assert.is((await res.json() as { code: string }).code, 'UNAVAILABLE')
  assert.is((await fetch(`${url}/api/health`)).status, 200)
})

test('which paths are the UI\'s, and Accept-Encoding parsing', () => {
  assert.equal(['/', '/setup', '/app', '/app/x'].map(isUiPath), [true, true, true, true])
  assert.equal(['/api/health', '/doctor/get-patient-img', '/patient/get-my-img', '/apps', '/setup/'].map(isUiPath), [false, false, false, false, false])
  assert.equal(['gzip', 'br, gzip;q=0.5', '*', 'gzip;q=0', 'identity', 'br', 'GZIP'].map(acceptsGzip), [true, true, true, false, false, false, true])
})

test.run()
