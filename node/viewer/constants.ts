// Numbers and names of the OHIF viewer the peer serves at /viewer (issue 13 item 2), each with
// where it comes from. The bundle is @ohif/app's prebuilt dist/, pinned by version and by the
// registry's own integrity digest, fetched once by scripts/viewer-install.ts.
import { fileURLToPath } from 'node:url'

/** The @ohif/app release whose prebuilt dist/ is served (npm registry, published with dist/). */
export const OHIF_VERSION = '3.13.2'

/** The package spec `npm pack` fetches. */
export const OHIF_SPEC = `@ohif/app@${OHIF_VERSION}`

/**
 * `dist.integrity` of @ohif/app 3.13.2 as the npm registry publishes it (`npm view @ohif/app@3.13.2
 * dist.integrity`), SRI form (W3C Subresource Integrity §3.1): the tarball must hash to exactly this.
 */
export const OHIF_INTEGRITY = 'sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA=='

/**
 * Where the bundle is installed: npm's conventional per-project cache folder, outside git, shared by
 * every peer started from this checkout (one 204 MB copy, not one per data folder), and removed by
 * `npm ci` like the rest of node_modules (the next `npm start` or test fetches it again).
 */
export const DEFAULT_VIEWER_ROOT = fileURLToPath(new URL(`../../node_modules/.cache/medichain-ohif/${OHIF_VERSION}`, import.meta.url))

/** File written last by the installer: its presence says the folder is complete and verified. */
export const VIEWER_MARKER = '.medichain-viewer.json'

/** Path the viewer is served under (OHIF's `routerBasename`, and PUBLIC_URL with a trailing slash). */
export const VIEWER_BASE = '/viewer'

/**
 * The webpack runtime's public path as the 3.13.2 bundles hard-code it (`publicPath: '/'` at
 * build time): chunks, workers and the codecs' .wasm files load from `__webpack_require__.p + name`.
 * The installer rewrites it to VIEWER_BASE + '/' so they load from /viewer/.
 */
export const WEBPACK_PUBLIC_PATH = '__webpack_require__.p = "/";'

/**
 * Content-Security-Policy of /viewer only (the rest of the site keeps node/http/middleware/security.ts's
 * `default-src 'self'`). Each addition is what OHIF 3.13.2 was seen to need in Chromium, found by
 * loading a CT study under the strict policy and reading the violations:
 * - script-src 'wasm-unsafe-eval': the image codecs and cornerstone's compute workers compile
 *   WebAssembly, which CSP3 admits under this keyword alone (no 'unsafe-eval': nothing calls eval);
 * - style-src 'unsafe-inline': its UI libraries inject <style> elements with run-time content
 *   (emotion under react-select, react-style-singleton under its dialogs, sonner's toasts, the
 *   theme's colour variables, the resizable panels' cursor), none with a nonce we could pass;
 * - img-src data: an image the viewer draws from a data: URL at start.
 * Scripts, workers, fonts and fetches stay same-origin: the bundle is served from /viewer and its
 * data from this origin's /dicomweb.
 */
export const VIEWER_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self'"
].join('; ')
