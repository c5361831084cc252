// Fetches and installs the OHIF viewer served at /viewer (node/viewer/install.ts): the pinned
// @ohif/app tarball, checked against its pinned SHA-512, dist/ only, outside git.
// Usage: node scripts/viewer-install.ts [--if-possible]   (npm run viewer:install; npm start runs
// it with --if-possible, which only warns when the registry cannot be reached, so a peer without
// network still starts and /viewer says how to install it). A wrong digest always fails.
import { installViewer, ViewerFetchError } from '../node/viewer/install.ts'
import { DEFAULT_VIEWER_ROOT, OHIF_SPEC } from '../node/viewer/constants.ts'

const ifPossible = process.argv.includes('--if-possible')
const mb = (n: number): string => (n / 1e6).toFixed(1)

try {
  const r = await installViewer(DEFAULT_VIEWER_ROOT, ifPossible ? { fetchRetries: 0 } : {})
  if (r.already) {
    process.stdout.write(`viewer: ${OHIF_SPEC} is installed at ${r.root}\n`)
  } else {
    process.stdout.write(`viewer: ${OHIF_SPEC} installed at ${r.root}: tarball ${mb(r.tarballBytes)} MB fetched and verified in ${(r.fetchMs / 1000).toFixed(1)} s, ` +
      `${r.files} files (${mb(r.bytes)} MB) extracted in ${(r.extractMs / 1000).toFixed(1)} s, public path moved in ${r.patched.length} bundles\n`)
  }
} catch (err) {
  if (ifPossible && err instanceof ViewerFetchError) {
    process.stderr.write(`viewer: not installed (${err.message}); the peer serves a page at /viewer saying so. Run \`npm run viewer:install\` once the registry is reachable.\n`)
  } else {
    process.stderr.write(`viewer: ${(err as Error).message}\n`)
    process.exitCode = 1
  }
}
