// The OHIF viewer at /viewer (issue 13 item 2), for the signed-in clinicians of this hospital: the
// installed bundle's files, its index.html rewritten for the sub-path, the peer's own app-config.js
// (data source: this origin's /dicomweb, under the same session and access checks), a CSP of its
// own (constants.ts VIEWER_CSP), and /api/viewer/studies/:record, which opens a study the web UI
// lists (by its ledger pseudonym) in OHIF. Anyone else is sent to sign in, or refused.
import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Router } from '@koa/router'
import type { Context, Next } from 'koa'
import { MedichainError, NotFoundError } from '../../protocol/errors.ts'
import { currentUser } from '../auth/index.ts'
import { ForbiddenError, UnauthenticatedError } from '../auth/errors.ts'
import type { SessionUser } from '../auth/index.ts'
import { toHex } from '../../protocol/bytes.ts'
import { readerOfUser } from '../dicomweb/access.ts'
import type { InstanceView } from '../dicomweb/instances.ts'
import type { Dicom } from '../dicom/index.ts'
import { viewerAppConfig } from './app-config.ts'
import { DEFAULT_VIEWER_ROOT, VIEWER_BASE, VIEWER_CSP } from './constants.ts'
import { rewriteIndexHtml } from './index-html.ts'
import { installedViewer } from './install.ts'
import { viewerPage } from './page.ts'

/** Options of the viewer routes. */
export interface ViewerRoutesInit {
  /** Folder of the installed bundle (default DEFAULT_VIEWER_ROOT). */
  root?: string
}

/** What the routes use: the DICOMweb service's instance view, and the intake to wait for. */
export interface ViewerRoutesComponents {
  view: Pick<InstanceView, 'visible'>
  dicom: Pick<Dicom, 'caughtUp'>
}

/** Thrown when /viewer is asked for but the bundle was never installed (`npm run viewer:install`). */
export class ViewerNotInstalledError extends MedichainError {
  constructor () {
    super('UNAVAILABLE', 'the OHIF viewer is not installed on this peer: run `npm run viewer:install` (npm start does it when the registry is reachable)')
    this.name = 'ViewerNotInstalledError'
  }
}

/** Content types of the files in the bundle; `application/wasm` lets the codecs compile while streaming. */
const TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  html: 'text/html; charset=utf-8',
  json: 'application/json',
  jsonc: 'application/json',
  map: 'application/json',
  wasm: 'application/wasm',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
  xml: 'application/xml',
  webapp: 'application/manifest+json'
}

/** One path segment of a bundle file: no dot segment, no hidden file (the installer's marker). */
const SEGMENT = /^[A-Za-z0-9_@-][A-Za-z0-9._@-]*$/

/** A content-hashed bundle name (`app.bundle.<16 hex>.js`, `<16 hex>.wasm`): never changes under one name. */
const HASHED = /(^|\.)[0-9a-f]{16}\.(js|wasm|woff2)$/

/** Whether the request is a page load (a navigation), not a script, image or fetch of the page. */
function isNavigation (ctx: Context): boolean {
  const dest = ctx.get('sec-fetch-dest')
  // Without Fetch Metadata (an older client), only an Accept that names HTML, not a bare */*.
  return dest === 'document' || (dest === '' && ctx.get('accept').includes('text/html'))
}

/** The viewer's router (mount after the session middleware, auth.mount). */
export function viewerRoutes (init: ViewerRoutesInit, c: ViewerRoutesComponents): Router {
  const root = init.root ?? DEFAULT_VIEWER_ROOT
  const router = new Router()
  let index: string | undefined

  /** Clinicians of this hospital only: a signed-out page load goes to sign-in, anything else is refused. */
  const clinician = async (ctx: Context, next: Next): Promise<void> => {
    const user = currentUser(ctx)
    if (user === undefined) {
      if (isNavigation(ctx)) {
        ctx.status = 303
        ctx.redirect('/app/sign-in')
        return
      }
      throw new UnauthenticatedError()
    }
    if (user.role !== 'clinician' || user.remote !== undefined) {
      if (isNavigation(ctx)) return viewerPage(ctx, 403, 'The viewer is for clinicians', 'The OHIF viewer opens the DICOM studies of this hospital for its signed-in clinicians.')
      throw new ForbiddenError('the viewer is for the clinicians of this hospital')
    }
    await next()
  }

  /** The installed bundle, or the "not installed" answer. */
  const installed = async (ctx: Context, next: Next): Promise<void> => {
    if (await installedViewer(root) === null) {
      if (isNavigation(ctx)) return viewerPage(ctx, 503, 'The viewer is not installed', 'This peer has no copy of the OHIF viewer yet. The operator installs it with `npm run viewer:install` (npm start does it when the npm registry is reachable).')
      throw new ViewerNotInstalledError()
    }
    ctx.set('Content-Security-Policy', VIEWER_CSP)
    await next()
  }

  const sendIndex = async (ctx: Context): Promise<void> => {
    index ??= rewriteIndexHtml(await readFile(join(root, 'index.html'), 'utf8'))
    ctx.set('Cache-Control', 'no-cache')
    ctx.type = TYPES.html
    ctx.body = index
  }

  // The router matches /viewer and /viewer/ alike: the bare path is sent to the folder, whose
  // relative URLs OHIF resolves against it.
  router.get(VIEWER_BASE, clinician, installed, async (ctx) => {
    if (ctx.path === `${VIEWER_BASE}/`) return await sendIndex(ctx)
    ctx.status = 308
    ctx.redirect(`${VIEWER_BASE}/${ctx.querystring === '' ? '' : `?${ctx.querystring}`}`)
  })
  router.get(`${VIEWER_BASE}/app-config.js`, clinician, installed, (ctx) => {
    ctx.set('Cache-Control', 'no-cache')
    ctx.type = TYPES.js
    ctx.body = viewerAppConfig()
  })
  router.get(`${VIEWER_BASE}/*path`, clinician, installed, async (ctx) => {
    // @koa/router gives the wildcard as one string, segments joined by '/'.
    const segments = String(ctx.params.path).split('/')
    if (!segments.every(s => SEGMENT.test(s))) throw new NotFoundError('no such file in the viewer')
    const name = segments[segments.length - 1]
    const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : null
    // Paths without an extension are OHIF's client-side routes (/viewer/viewer?StudyInstanceUIDs=…);
    // the page itself is only ever served rewritten.
    if (ext === null || segments.join('/') === 'index.html') return await sendIndex(ctx)
    const file = join(root, ...segments)
    const info = await stat(file).catch(() => null)
    if (info === null || !info.isFile()) throw new NotFoundError('no such file in the viewer')
    // Koa judges freshness only for a 2xx, and a response is 404 until a body or status is set.
    ctx.status = 200
    ctx.set('Cache-Control', HASHED.test(name) ? 'private, max-age=31536000, immutable' : 'private, no-cache')
    ctx.type = TYPES[ext] ?? 'application/octet-stream'
    ctx.length = info.size
    ctx.lastModified = info.mtime
    // A revalidation of an unchanged file (RFC 9110 §13.1.3 If-Modified-Since): 304, no body.
    if (ctx.fresh) {
      ctx.status = 304
      return
    }
    if (ctx.method === 'GET') ctx.body = createReadStream(file)
  })

  /** Opens a study the web UI lists (its record, the ledger's pseudonym) in OHIF, by its real UID. */
  router.get('/api/viewer/studies/:record', clinician, async (ctx) => {
    const record = String(ctx.params.record)
    // A record id is 16 bytes (protocol/chain/study-tx.ts), 32 hex digits as the image listing gives it.
    if (!/^[0-9a-f]{32}$/.test(record)) {
      if (isNavigation(ctx)) return viewerPage(ctx, 400, 'Not a study link', 'This link does not name a study.')
      throw new MedichainError('INVALID', 'record: 32 hex digits')
    }
    // As a WADO-RS retrieve: from the ledger now, and only when not found there, once more after
    // the instances acknowledged before this request (node/dicomweb/routes.ts `retrieved`).
    const reader = readerOfUser(currentUser(ctx) as SessionUser)
    const find = async (): Promise<string | undefined> => (await c.view.visible(reader)).find(v => toHex(v.entry.study) === record)?.entry.header.study.uid
    let uid = await find()
    if (uid === undefined) {
      await c.dicom.caughtUp()
      uid = await find()
    }
    if (uid === undefined) {
      if (isNavigation(ctx)) return viewerPage(ctx, 404, 'No such study', 'This hospital holds no study by that id that is open to you.')
      throw new NotFoundError('no such study is open to you')
    }
    ctx.status = 303
    ctx.redirect(`${VIEWER_BASE}/viewer?StudyInstanceUIDs=${encodeURIComponent(uid)}`)
  })
  return router
}
