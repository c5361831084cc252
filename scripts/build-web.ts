// Builds the web UI: esbuild bundles web/src (Lit + protocol/) into content-hashed files under
// web/dist/assets, with code splitting so the QR decoder loads only when a scan starts, writes
// web/dist/index.html pointing at them, and a gzip copy of each asset for the static handler.
// Usage: node scripts/build-web.ts [--out DIR]   (npm start and npm test run it first)
import { createHash } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { basename, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gzip as gzipCb, constants as zlib } from 'node:zlib'
import { build } from 'esbuild'
import type { Metafile } from 'esbuild'

const gzip = promisify(gzipCb)

/** The repository root and the web folder. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const WEB_DIR = join(ROOT, 'web')

/** Where a normal build goes, and what node/http/middleware/static.ts serves by default. */
export const WEB_DIST = join(WEB_DIR, 'dist')

/** Browsers the bundle targets: current Chromium and Firefox (issue 5), with top-level await and private fields. */
export const WEB_TARGETS = ['chrome120', 'firefox121', 'safari17']

/** Options of a build. */
export interface BuildWebOptions {
  /** Output folder (default web/dist); assets go to `<outDir>/assets`. */
  outDir?: string
  /** Minify (default true). */
  minify?: boolean
  /**
   * TEST ONLY: PBKDF2 iterations for vaults made by this bundle. Browser tests lower it so each
   * sign-up does not spend 600 000 iterations; never set for a bundle that people use.
   */
  testVaultIterations?: number
}

/** What a build produced. */
export interface BuildWebResult {
  outDir: string
  /** Paths under outDir, e.g. `assets/main-ABC123.js`. */
  files: string[]
  /** Bytes of all JS and CSS, and of their gzip copies. */
  bytes: number
  gzipBytes: number
  /** Gzip bytes of what the first page load fetches (entry, its static imports, CSS). */
  initialGzipBytes: number
  /** Every source file bundled, relative to the repository root (to check what went in). */
  inputs: string[]
}

/** The output file whose entry point is `entry` (relative to ROOT). */
function outputOf (meta: Metafile, entry: string): string {
  const hit = Object.entries(meta.outputs).find(([, o]) => o.entryPoint === entry)
  if (hit === undefined) throw new Error(`esbuild produced no output for ${entry}`)
  return hit[0]
}

/** Chunks the entry imports statically (modulepreload candidates), transitively. */
function staticImports (meta: Metafile, output: string, seen = new Set<string>()): string[] {
  for (const imp of meta.outputs[output]?.imports ?? []) {
    if (imp.kind !== 'import-statement' || seen.has(imp.path)) continue
    seen.add(imp.path)
    staticImports(meta, imp.path, seen)
  }
  return [...seen]
}

/** Copies `file` into `dir` as `<name>-<8 hex of its SHA-256>.<ext>` (immutable, like esbuild's names). */
async function copyHashed (file: string, dir: string): Promise<string> {
  const body = await readFile(file)
  const name = basename(file).replace(/(\.[^.]+)$/, `-${createHash('sha256').update(body).digest('hex').slice(0, 8)}$1`)
  await writeFile(join(dir, name), body)
  return name
}

/** Builds the UI into `outDir` (replacing its assets) and returns what it wrote. */
export async function buildWeb (options: BuildWebOptions = {}): Promise<BuildWebResult> {
  const outDir = options.outDir ?? WEB_DIST
  const assets = join(outDir, 'assets')
  await rm(assets, { recursive: true, force: true })
  await mkdir(assets, { recursive: true })
  const iterations = options.testVaultIterations
  if (iterations !== undefined && (!Number.isSafeInteger(iterations) || iterations < 1000)) throw new Error('testVaultIterations must be an integer ≥ 1000')
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['web/src/main.ts', 'web/src/global.css'],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: WEB_TARGETS,
    outdir: assets,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    minify: options.minify ?? true,
    legalComments: 'linked',
    metafile: true,
    logLevel: 'silent',
    // The browser unwraps a few keys per page: tweetnacl's compact build is plenty there and
    // about 12 KB smaller than the unrolled nacl-fast the package's main points at (the peer keeps it).
    alias: { tweetnacl: 'tweetnacl/nacl.js' },
    define: { __MEDICHAIN_VAULT_ITERATIONS__: iterations === undefined ? 'undefined' : String(iterations) }
  })
  const meta = result.metafile
  const rel = (p: string): string => relative(outDir, join(ROOT, p)).split('\\').join('/')
  const js = outputOf(meta, 'web/src/main.ts')
  const cssOut = outputOf(meta, 'web/src/global.css')
  const icon = await copyHashed(join(WEB_DIR, 'favicon.svg'), assets)
  const preload = staticImports(meta, js).map(p => `<link rel="modulepreload" href="/${rel(p)}">`).join('\n  ')
  const template = await readFile(join(WEB_DIR, 'index.html'), 'utf8')
  const html = template
    .replace('%ICON%', `/assets/${icon}`)
    .replace('%CSS%', `/${rel(cssOut)}`)
    .replace('%JS%', `/${rel(js)}`)
    .replace('%PRELOAD%', preload)

  let bytes = 0
  let gzipBytes = 0
  const sizes = new Map<string, number>()
  const files: string[] = []
  for (const out of Object.keys(meta.outputs)) {
    const path = join(ROOT, out)
    const body = await readFile(path)
    const zipped = await gzip(body, { level: zlib.Z_BEST_COMPRESSION })
    await writeFile(`${path}.gz`, zipped)
    files.push(rel(out))
    if (/\.(js|css)$/.test(out)) {
      bytes += body.length
      gzipBytes += zipped.length
      sizes.set(out, zipped.length)
    }
  }
  // index.html last: a peer serving the old one meanwhile still finds the old assets' names gone
  // only for the length of this build.
  await writeFile(join(outDir, 'index.html'), html)
  files.push('index.html')
  const initial = [js, cssOut, ...staticImports(meta, js)]
  return { outDir, files, bytes, gzipBytes, initialGzipBytes: initial.reduce((n, p) => n + (sizes.get(p) ?? 0), 0), inputs: Object.keys(meta.inputs) }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--out')
  const out = i > 0 ? process.argv[i + 1] : undefined
  const r = await buildWeb({ outDir: out })
  process.stdout.write(`web: ${r.files.length} files in ${relative(process.cwd(), r.outDir) || '.'}, ${(r.gzipBytes / 1024).toFixed(1)} KiB gzip (${(r.initialGzipBytes / 1024).toFixed(1)} KiB on first load)\n`)
}
