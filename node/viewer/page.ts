// A small HTML page the viewer routes answer a page load with when they cannot show the viewer
// (signed in with another role, or not installed): plain markup under the site's own CSP, with a
// link back to the web UI, instead of a JSON error body in the browser.
import type { Context } from 'koa'

/** Escapes text for HTML element content. */
function escapeHtml (s: string): string {
  return s.replace(/[&<>"']/g, ch => `&#${ch.charCodeAt(0)};`)
}

/** Answers `status` with a page titled `title` saying `text`. */
export function viewerPage (ctx: Context, status: number, title: string, text: string): void {
  ctx.status = status
  ctx.set('Cache-Control', 'no-store')
  ctx.type = 'text/html; charset=utf-8'
  ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
    `<body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p><p><a href="/app">Back to Medichain</a></p></main></body></html>`
}
