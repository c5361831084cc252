// The viewer installer's checks (node/viewer/install.ts), without the registry: a tarball that is
// not the pinned release is refused before anything is extracted, an unreachable registry is one
// typed failure, an interrupted install is never taken for a complete one, and the bundle's
// index.html is rewritten for /viewer or refused.
import { execFile } from 'node:child_process'
import { access, mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { OHIF_INTEGRITY, VIEWER_MARKER } from '../../../node/viewer/constants.ts'
import { rewriteIndexHtml } from '../../../node/viewer/index-html.ts'
import { installedViewer, installViewer, integrityOf } from '../../../node/viewer/install.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'

const run = promisify(execFile)

test.after(async () => { await cleanup() })

/** A tarball laid out like the package (package/dist/index.html), in `dir`. */
async function fakeTarball (dir: string): Promise<string> {
  await mkdir(join(dir, 'package', 'dist'), { recursive: true })
  await writeFile(join(dir, 'package', 'dist', 'index.html'), '<!doctype html><script src="/app-config.js"></script>')
  const tgz = join(dir, 'app.tgz')
  await run('tar', ['-czf', tgz, '-C', dir, 'package'])
  return tgz
}

test('integrityOf: the SRI SHA-512 of the empty string (W3C SRI, FIPS 180-4)', () => {
  assert.is(integrityOf(new Uint8Array(0)), 'sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==')
  assert.match(OHIF_INTEGRITY, /^sha512-[A-Za-z0-9+/]{86}==$/)
})

test('a tarball other than the pinned release is refused, and nothing is installed', async () => {
  const dir = await tempDir('medichain-viewer-')
  const root = join(dir, 'cache', '3.13.2')
  await rejects(() => installViewer(root, { fetchTarball: fakeTarball }), 'VIEWER_INTEGRITY')
  await rejects(() => access(root), 'ENOENT')
  assert.equal(await readdir(join(dir, 'cache')), [], 'the temp folder is gone too')
  assert.is(await installedViewer(root), null)
})

test('no registry: VIEWER_FETCH_FAILED after one attempt, and nothing installed', async () => {
  const dir = await tempDir('medichain-viewer-')
  const root = join(dir, 'cache', '3.13.2')
  // npm reads its settings from the environment: a registry nobody listens on, an empty cache.
  const saved = { registry: process.env.npm_config_registry, cache: process.env.npm_config_cache }
  process.env.npm_config_registry = 'http://127.0.0.1:9/'
  process.env.npm_config_cache = join(dir, 'npm-cache')
  try {
    await rejects(() => installViewer(root, { fetchRetries: 0 }), 'VIEWER_FETCH_FAILED')
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[`npm_config_${k}`]
      else process.env[`npm_config_${k}`] = v
    }
  }
  assert.equal((await readdir(join(dir, 'cache'))), [], 'no folder and no temp folder left')
})

test('a folder without the marker, or with another version\'s, is not an install', async () => {
  const root = await tempDir('medichain-viewer-')
  assert.is(await installedViewer(root), null)
  await writeFile(join(root, VIEWER_MARKER), JSON.stringify({ version: '3.12.0', integrity: OHIF_INTEGRITY, base: '/viewer' }))
  assert.is(await installedViewer(root), null)
  await writeFile(join(root, VIEWER_MARKER), '{"version":')
  assert.is(await installedViewer(root), null)
})

test('index.html: root URLs move under /viewer, inline scripts go; a page that loads no app bundle is refused', () => {
  const html = '<html><head><script>window.PUBLIC_URL="/"</script><link rel="manifest" href="/manifest.json">' +
    '<script rel="preload" as="script" src="/app-config.js"></script><link href="//cdn.example/x.css" rel="stylesheet">' +
    '<script defer src="/app.bundle.0f6159c501addfe9.js"></script></head><body></body></html>'
  const out = rewriteIndexHtml(html)
  assert.not.match(out, /<script>/)
  assert.match(out, 'href="/viewer/manifest.json"')
  assert.match(out, 'src="/viewer/app-config.js"')
  assert.match(out, 'src="/viewer/app.bundle.0f6159c501addfe9.js"')
  assert.match(out, 'href="//cdn.example/x.css"', 'a protocol-relative URL is left alone')
  throwsCode(() => rewriteIndexHtml('<html><script src="/app-config.js"></script></html>'), 'VIEWER_LAYOUT')
})

test.run()
