// The UI build (scripts/build-web.ts): index.html names content-hashed files that exist, each with
// a gzip copy; the bundle holds only web/ and protocol/ code of ours (web → protocol) and no
// TensorFlow; the test-only vault setting refuses values below the vault's floor.
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { buildWeb } from '../../scripts/build-web.ts'
import type { BuildWebResult } from '../../scripts/build-web.ts'

let dir = ''
let built: BuildWebResult

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medichain-web-'))
  built = await buildWeb({ outDir: dir })
})

test.after(async () => { await rm(dir, { recursive: true, force: true }) })

test('index.html names hashed assets that exist, with gzip copies that inflate to them', async () => {
  const html = await readFile(join(dir, 'index.html'), 'utf8')
  const refs = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map(m => m[1])
  assert.ok(refs.some(r => /^assets\/main-[A-Z0-9]+\.js$/.test(r)), 'the entry script')
  assert.ok(refs.some(r => /^assets\/global-[A-Z0-9]+\.css$/.test(r)), 'the stylesheet')
  assert.ok(refs.some(r => /^assets\/favicon-[0-9a-f]{8}\.svg$/.test(r)), 'the icon')
  for (const r of refs) assert.ok(existsSync(join(dir, r)), r)
  for (const f of built.files.filter(f => /\.(js|css)$/.test(f))) {
    const plain = await readFile(join(dir, f))
    assert.ok(gunzipSync(await readFile(join(dir, `${f}.gz`))).equals(plain), `${f}.gz`)
  }
  assert.not.match(html, /%[A-Z]+%/, 'every placeholder replaced')
  assert.ok(built.initialGzipBytes > 0 && built.initialGzipBytes < built.gzipBytes, 'the QR decoder is split out of the first load')
})

test('the bundle holds only web/ and protocol/ code of ours, and no TensorFlow', () => {
  // '(disabled):crypto' is tweetnacl's browser field turning its Node fallback off.
  // A dependency path contains node_modules/ wherever the tree lives (a symlinked checkout too).
  const ours = built.inputs.filter(p => !p.includes('node_modules/') && !p.startsWith('(disabled):'))
  assert.ok(ours.length > 10)
  assert.equal(ours.filter(p => !p.startsWith('web/') && !p.startsWith('protocol/')), [])
  assert.equal(built.inputs.filter(p => /tensorflow|tfjs/.test(p)), [])
  assert.ok(built.inputs.some(p => p.includes('node_modules/lit')))
})

test('the test-only vault iterations refuse values below the vault floor', async () => {
  for (const bad of [999, 0, 1.5]) {
    await buildWeb({ outDir: join(dir, 'bad'), testVaultIterations: bad }).then(() => assert.unreachable(`${bad} was accepted`), (err: unknown) => assert.instance(err, Error))
  }
})

test.run()
