// Installs the OHIF viewer's prebuilt bundle reproducibly: `npm pack` fetches exactly the pinned
// @ohif/app tarball (through npm's own registry settings and cache), its SHA-512 must equal the
// registry digest pinned in constants.ts, and only package/dist/ is extracted, with the webpack
// public path moved to /viewer/. Nothing of the package's runtime dependencies is installed.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { MedichainError } from '../../protocol/errors.ts'
import { DEFAULT_VIEWER_ROOT, OHIF_INTEGRITY, OHIF_SPEC, OHIF_VERSION, VIEWER_BASE, VIEWER_MARKER, WEBPACK_PUBLIC_PATH } from './constants.ts'

const run = promisify(execFile)

/** Thrown when the tarball cannot be fetched (no registry, no npm); the peer serves /viewer's "not installed" page meanwhile. */
export class ViewerFetchError extends MedichainError {
  constructor (message: string, options?: ErrorOptions) {
    super('VIEWER_FETCH_FAILED', message, options)
    this.name = 'ViewerFetchError'
  }
}

/** Thrown when the fetched tarball does not hash to the pinned integrity: it is not the release we reviewed. */
export class ViewerIntegrityError extends MedichainError {
  constructor (message: string) {
    super('VIEWER_INTEGRITY', message)
    this.name = 'ViewerIntegrityError'
  }
}

/** Thrown when the tarball's dist/ is not laid out as the pinned release's (no app bundle, no public path to move). */
export class ViewerLayoutError extends MedichainError {
  constructor (message: string) {
    super('VIEWER_LAYOUT', message)
    this.name = 'ViewerLayoutError'
  }
}

/** What the marker file records about an installed bundle. */
export interface ViewerMarker { version: string, integrity: string, base: string, files: number, bytes: number, patched: string[] }

/** What an install did, with its timings (ms) for the operator. */
export interface ViewerInstall extends ViewerMarker {
  root: string
  /** True when a complete install of this version was there already (nothing fetched). */
  already: boolean
  tarballBytes: number
  fetchMs: number
  extractMs: number
}

/** How installViewer fetches the tarball. */
export interface InstallViewerOptions {
  /** Puts the tarball in `dir` and returns its path (default `npm pack` of the pinned spec). */
  fetchTarball?: (dir: string) => Promise<string>
  /**
   * Retries of the registry fetch (npm's `fetch-retries`; default npm's own, 2). `npm start` asks
   * for 0: without a registry, npm's retries would hold the start up for about 70 s.
   */
  fetchRetries?: number
}

/** The marker of a complete install of the pinned version at `root`, or null. */
export async function installedViewer (root = DEFAULT_VIEWER_ROOT): Promise<ViewerMarker | null> {
  try {
    const m = JSON.parse(await readFile(join(root, VIEWER_MARKER), 'utf8')) as Partial<ViewerMarker>
    return m.version === OHIF_VERSION && m.integrity === OHIF_INTEGRITY && m.base === VIEWER_BASE ? m as ViewerMarker : null
  } catch {
    return null
  }
}

/** The SRI string (`sha512-<base64>`) of `bytes`. */
export function integrityOf (bytes: Uint8Array): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`
}

/** Fetches the pinned tarball into `dir` with `npm pack` (from npm's cache when it holds it); returns its path. */
async function pack (dir: string, retries: number | undefined): Promise<string> {
  const args = ['pack', OHIF_SPEC, '--pack-destination', dir, '--json', '--ignore-scripts', '--prefer-offline', ...(retries === undefined ? [] : [`--fetch-retries=${retries}`])]
  try {
    const { stdout } = await run('npm', args, { maxBuffer: 64 * 1024 * 1024 })
    const [entry] = JSON.parse(stdout) as Array<{ filename?: unknown }>
    if (typeof entry?.filename !== 'string') throw new Error('npm pack named no file')
    return join(dir, entry.filename)
  } catch (err) {
    throw new ViewerFetchError(`could not fetch ${OHIF_SPEC} with npm pack: ${(err as Error).message.split('\n')[0]}`, { cause: err })
  }
}

/** A root-relative url() in the extracted CSS (its font), not a protocol-relative one. */
const CSS_ROOT_URL = /url\(\/(?!\/)/g

/**
 * Moves the public path from / to VIEWER_BASE/: the webpack runtime's in every top-level bundle
 * (chunks, workers, .wasm) and the root-relative url()s of the top-level stylesheets (the
 * extracted CSS names its font as `url(/<hash>.woff2)`). Returns the files changed.
 */
async function movePublicPath (dist: string): Promise<string[]> {
  const patched: string[] = []
  const to = `__webpack_require__.p = ${JSON.stringify(`${VIEWER_BASE}/`)};`
  for (const name of (await readdir(dist)).filter(n => n.endsWith('.js') || n.endsWith('.css')).sort()) {
    const path = join(dist, name)
    const text = await readFile(path, 'utf8')
    const out = name.endsWith('.js') ? text.replaceAll(WEBPACK_PUBLIC_PATH, to) : text.replace(CSS_ROOT_URL, `url(${VIEWER_BASE}/`)
    if (out === text) continue
    await writeFile(path, out)
    patched.push(name)
  }
  if (!patched.some(n => /^app\.bundle\.[0-9a-f]+\.js$/.test(n))) throw new ViewerLayoutError(`${OHIF_SPEC}: no app bundle with the public path ${WEBPACK_PUBLIC_PATH}`)
  return patched
}

/** Files and bytes under `dir`. */
async function sizeOf (dir: string): Promise<{ files: number, bytes: number }> {
  let files = 0
  let bytes = 0
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue
    files++
    bytes += (await stat(join(e.parentPath, e.name))).size
  }
  return { files, bytes }
}

/**
 * Installs the pinned bundle at `root` unless a complete install is there. Extracts into a
 * sibling temp folder and renames it into place, so a stopped install leaves no half folder
 * behind and two installers at once both end with one complete copy.
 */
export async function installViewer (root = DEFAULT_VIEWER_ROOT, opts: InstallViewerOptions = {}): Promise<ViewerInstall> {
  const have = await installedViewer(root)
  if (have !== null) return { ...have, root, already: true, tarballBytes: 0, fetchMs: 0, extractMs: 0 }
  await mkdir(dirname(root), { recursive: true })
  const tmp = await mkdtemp(join(dirname(root), `.install-${OHIF_VERSION}-`))
  try {
    const t0 = performance.now()
    const tgz = await (opts.fetchTarball ?? (async (d: string) => await pack(d, opts.fetchRetries)))(tmp)
    const bytes = await readFile(tgz)
    const fetchMs = performance.now() - t0
    const got = integrityOf(bytes)
    if (got !== OHIF_INTEGRITY) throw new ViewerIntegrityError(`${OHIF_SPEC}: the tarball hashes to ${got}, not the pinned ${OHIF_INTEGRITY}`)
    const t1 = performance.now()
    const dist = join(tmp, 'dist')
    await mkdir(dist)
    // Only package/dist/ (GNU tar refuses members that climb out with `..` by itself).
    await run('tar', ['-xzf', tgz, '-C', dist, '--strip-components=2', '--no-same-owner', 'package/dist'])
    // The bundle's own app-config.js points at a public demo server; the peer serves its own.
    await rm(join(dist, 'app-config.js'), { force: true })
    const patched = await movePublicPath(dist)
    const size = await sizeOf(dist)
    const marker: ViewerMarker = { version: OHIF_VERSION, integrity: OHIF_INTEGRITY, base: VIEWER_BASE, ...size, patched }
    await writeFile(join(dist, VIEWER_MARKER), JSON.stringify(marker, null, 2) + '\n')
    const extractMs = performance.now() - t1
    await rm(root, { recursive: true, force: true })
    try {
      await rename(dist, root)
    } catch (err) {
      // Another installer renamed its complete copy into place first.
      if (await installedViewer(root) === null) throw err
    }
    return { ...marker, root, already: false, tarballBytes: bytes.length, fetchMs, extractMs }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}
