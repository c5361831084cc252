// The viewer routes (node/viewer/routes.ts) on a real peer over HTTP, with a small folder laid out
// as an installed bundle: what a clinician is served and with which headers, the peer's own
// app-config.js, no file outside the bundle or hidden in it, the "not installed" answer, and the
// study link refusing what the clinician may not see.
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { deriveAuthSecret } from '../../../protocol/crypto/auth-secret.ts'
import { OHIF_INTEGRITY, OHIF_VERSION, VIEWER_CSP, VIEWER_MARKER } from '../../../node/viewer/constants.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'

let hospitals: Hospital[] = []
let doc: MedichainClient
let root: string
const BUNDLE = 'app.bundle.0f6159c501addfe9.js'

/** Signs `username` (made by helpers/peers user()) in over HTTP and returns the session cookie, for requests the SDK cannot shape. */
async function signInCookie (url: string, username: string): Promise<string> {
  const password = await deriveAuthSecret(username, `${username} has a long password`)
  const res = await fetch(`${url}/api/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) })
  assert.is(res.status, 200)
  return res.headers.getSetCookie()[0].split(';')[0]
}

test.before(async () => {
  root = await tempDir('medichain-viewer-root-')
  await writeFile(join(root, 'index.html'), `<!doctype html><html><head><script>window.PUBLIC_URL="/"</script><link rel="manifest" href="/manifest.json"><script src="/app-config.js"></script><script defer src="/${BUNDLE}"></script></head><body><div id="root"></div></body></html>`)
  await writeFile(join(root, BUNDLE), '__webpack_require__.p = "/viewer/";')
  await writeFile(join(root, '0ddf166f7a343eda.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))
  await writeFile(join(root, 'manifest.json'), '{}')
  await writeFile(join(root, VIEWER_MARKER), JSON.stringify({ version: OHIF_VERSION, integrity: OHIF_INTEGRITY, base: '/viewer', files: 4, bytes: 0, patched: [BUNDLE] }))
  hospitals = await startHospitals(1, { dicom: {}, viewerRoot: root })
  doc = await user(hospitals[0], 'viewer-doc', 'clinician')
})

test.after(async () => {
  await stopHospitals(hospitals)
  await cleanup()
})

test('a clinician gets the rewritten page, the peer\'s app-config.js and the bundle\'s files, under the viewer CSP', async () => {
  const page = await doc.request('GET', '/viewer')
  assert.ok(page.redirected && new URL(page.url).pathname === '/viewer/', '/viewer goes to /viewer/')
  assert.is(page.headers.get('content-security-policy'), VIEWER_CSP)
  assert.is(page.headers.get('cache-control'), 'no-cache')
  const html = await page.text()
  assert.not.match(html, /<script>/, 'no inline script')
  assert.match(html, '<script src="/viewer/app-config.js"></script>')
  assert.match(html, `src="/viewer/${BUNDLE}"`)
  assert.match(html, 'href="/viewer/manifest.json"')
  assert.is(await (await doc.request('GET', '/viewer/viewer?StudyInstanceUIDs=1.2.3')).text(), html, 'OHIF\'s own routes get the page')
  assert.is(await (await doc.request('GET', '/viewer/index.html')).text(), html, 'the page is never served as the bundle has it')

  const config = await (await doc.request('GET', '/viewer/app-config.js')).text()
  assert.match(config, 'window.PUBLIC_URL = "/viewer/";')
  assert.match(config, '"routerBasename": "/viewer"')
  for (const root of ['qidoRoot', 'wadoRoot', 'wadoUriRoot']) assert.match(config, `"${root}": window.location.origin + "/dicomweb"`)

  const wasm = await doc.request('GET', '/viewer/0ddf166f7a343eda.wasm')
  assert.is(wasm.headers.get('content-type'), 'application/wasm')
  assert.is(wasm.headers.get('cache-control'), 'private, max-age=31536000, immutable')
  assert.is(wasm.headers.get('content-security-policy'), VIEWER_CSP)
  assert.is((await wasm.arrayBuffer()).byteLength, 8)
  const manifest = await doc.request('GET', '/viewer/manifest.json')
  assert.is(manifest.headers.get('cache-control'), 'private, no-cache')
  const modified = manifest.headers.get('last-modified')
  assert.ok(modified !== null)

  // Revalidation as a browser sends it (max-age=0 and If-Modified-Since; fetch() would add no-cache): 304 while unchanged.
  const cookie = await signInCookie(hospitals[0].url, 'viewer-doc')
  const again = await fetch(`${hospitals[0].url}/viewer/manifest.json`, { headers: { cookie, 'if-modified-since': modified, 'cache-control': 'max-age=0' } })
  assert.is(again.status, 304)
  const older = await fetch(`${hospitals[0].url}/viewer/manifest.json`, { headers: { cookie, 'if-modified-since': new Date(0).toUTCString(), 'cache-control': 'max-age=0' } })
  assert.is(older.status, 200)
})

test('no file outside the bundle, none hidden in it, and no other method', async () => {
  const status = async (method: string, path: string): Promise<number> => await doc.request(method, path).then(r => r.status, (err: { status?: number }) => err.status ?? 0)
  for (const path of [`/viewer/${VIEWER_MARKER}`, '/viewer/..%2fpackage.json', '/viewer/%2e%2e/%2e%2e/package.json', '/viewer/nothing.js', '/viewer/assets/../index.html.x']) {
    assert.is(await status('GET', path), 404, path)
  }
  assert.is(await status('POST', '/viewer/'), 405)
})

test('the study link: a record in the wrong form is 400, one the clinician may not see 404', async () => {
  const status = async (path: string): Promise<number> => await doc.request('GET', path).then(r => r.status, (err: { status?: number }) => err.status ?? 0)
  assert.is(await status('/api/viewer/studies/not-hex'), 400)
  assert.is(await status(`/api/viewer/studies/${'ab'.repeat(32)}`), 400, 'a patient id is not a record')
  assert.is(await status(`/api/viewer/studies/${'ab'.repeat(16)}`), 404)
  const page = await fetch(`${hospitals[0].url}/api/viewer/studies/${'ab'.repeat(16)}`, { headers: { accept: 'text/html' }, redirect: 'manual' })
  assert.is(page.status, 303, 'signed out: to sign-in')
})

test('not installed: a page load gets a page saying so (503), a script UNAVAILABLE', async () => {
  await rm(join(root, VIEWER_MARKER))
  const err = await doc.request('GET', '/viewer/app-config.js').then(() => null, (e: { status?: number, code?: string }) => e)
  assert.is(err?.status, 503)
  assert.is(err?.code, 'UNAVAILABLE')
  const cookie = await signInCookie(hospitals[0].url, 'viewer-doc')
  const page = await fetch(`${hospitals[0].url}/viewer/`, { headers: { cookie, 'sec-fetch-dest': 'document' } })
  assert.is(page.status, 503)
  assert.match(page.headers.get('content-type') ?? '', 'text/html')
  assert.match(await page.text(), 'npm run viewer:install')
})

test.run()
