// Serves the built web UI (web/dist, made by scripts/build-web.ts): content-hashed files under
// /assets/ with immutable caching and their gzip copies, and index.html for the UI's client-side
// routes (/, /setup, /app/…). Every other path — /api/*, the seed routes /doctor/* and /patient/*
// — passes through untouched to the API.
import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Middleware } from 'koa'
import { MedichainError } from '../../../protocol/errors.ts'

/** web/dist of this checkout: where scripts/build-web.ts writes. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../../web/dist', import.meta.url))

/** Hashed assets never change under one name (RFC 8246 `immutable`; a year, RFC 9111 §5.2.2.1). */
export const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable'

/** index.html names the current assets, so it is revalidated on every load (RFC 9111 §5.2.2.4). */
export const INDEX_CACHE_CONTROL = 'no-cache'

/** Options of serveWeb. */
export interface ServeWebInit {
  /** Folder holding index.html and assets/ (default web/dist). */
  root?: string
}

/** Content types of the files the build writes. */
const TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  txt: 'text/plain; charset=utf-8'
}

/** An asset name as the build writes them: one path segment, no dot-dot, a known type. */
const ASSET = /^\/assets\/([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.(js|css|svg|txt))$/

/** True for the paths the UI owns: index.html answers them and the client router takes over. */
export function isUiPath (path: string): boolean {
  return path === '/' || path === '/setup' || path === '/app' || path.startsWith('/app/')
}

/** Thrown when the UI is asked for but was never built. */
export class WebNotBuiltError extends MedichainError {
  constructor () {
    super('UNAVAILABLE', 'the web UI is not built: run `node scripts/build-web.ts` (npm start does it)')
    this.name = 'WebNotBuiltError'
  }
}

/** Whether an Accept-Encoding header accepts gzip (RFC 9110 §12.5.3: q=0 means "not acceptable"). */
export function acceptsGzip (header: string): boolean {
  return header.split(',').some(part => {
    const [coding, ...params] = part.trim().toLowerCase().split(';').map(s => s.trim())
    if (coding !== 'gzip' && coding !== '*') return false
    const q = params.find(p => p.startsWith('q='))
    return q === undefined || Number(q.slice(2)) > 0
  })
}

/** Koa middleware serving the UI from `init.root`; calls `next()` for every path it does not own. */
export function serveWeb (init: ServeWebInit = {}): Middleware {
  const root = init.root ?? DEFAULT_WEB_ROOT
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return await next()
    if (isUiPath(ctx.path)) {
      let html: Buffer
      try {
        html = await readFile(join(root, 'index.html'))
      } catch {
        throw new WebNotBuiltError()
      }
      ctx.set('Cache-Control', INDEX_CACHE_CONTROL)
      ctx.type = 'text/html; charset=utf-8'
      ctx.body = html
      return
    }
    const m = ASSET.exec(ctx.path)
    if (m === null) return await next()
    const file = join(root, 'assets', m[1])
    const zipped = acceptsGzip(ctx.get('Accept-Encoding')) ? await stat(`${file}.gz`).catch(() => null) : null
    const gzip = zipped !== null && zipped.isFile()
    const info = gzip ? zipped : await stat(file).catch(() => null)
    if (info === null || !info.isFile()) return await next()
    ctx.status = 200
    ctx.set('Cache-Control', ASSET_CACHE_CONTROL)
    ctx.set('Vary', 'Accept-Encoding')
    ctx.type = TYPES[m[2]]
    if (gzip) ctx.set('Content-Encoding', 'gzip')
    // A HEAD answer carries the headers only; opening the file would leave a descriptor behind.
    if (ctx.method === 'GET') ctx.body = createReadStream(gzip ? `${file}.gz` : file)
    ctx.length = info.size
  }
}
