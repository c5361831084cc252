// The bundle's index.html, rewritten for /viewer: every root-relative href and src moved under
// VIEWER_BASE, and its two inline scripts (they set PUBLIC_URL and define browserImportFunction,
// which the peer's app-config.js does instead) dropped, so the page runs under a CSP without
// 'unsafe-inline'.
import { VIEWER_BASE } from './constants.ts'
import { ViewerLayoutError } from './install.ts'

/** An inline script: `<script>` with no attributes, as the 3.13.2 build writes them. */
const INLINE_SCRIPT = /<script>[^<]*<\/script>/g

/** A root-relative URL attribute (`href="/x"`, `src="/x"`), not a protocol-relative one (`//host`). */
const ROOT_URL = /\b(href|src)="\/(?!\/)/g

/** Rewrites `html` for VIEWER_BASE; VIEWER_LAYOUT when it does not load app-config.js and an app bundle from there. */
export function rewriteIndexHtml (html: string): string {
  const out = html.replace(INLINE_SCRIPT, '').replace(ROOT_URL, `$1="${VIEWER_BASE}/`)
  if (!out.includes(`src="${VIEWER_BASE}/app-config.js"`) || !new RegExp(`src="${VIEWER_BASE}/app\\.bundle\\.[0-9a-f]+\\.js"`).test(out)) {
    throw new ViewerLayoutError('the viewer\'s index.html does not load app-config.js and the app bundle as the pinned release does')
  }
  return out
}
