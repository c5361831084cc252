// Client-side routes with real URLs under /app (plus the peer's one-time /setup link). Every path
// the UI owns starts with /app or is exactly / or /setup, so the peer's static handler can send
// index.html for those and leave /api, /doctor and /patient to the API (node/http/middleware/static.ts).

/** Tabs of the patient portal. */
export const PATIENT_TABS = ['images', 'id', 'consents', 'audit', 'research', 'credit'] as const
export type PatientTab = typeof PATIENT_TABS[number]

/** Tabs of the admin console. */
export const ADMIN_TABS = ['status', 'members', 'accounts', 'ledger', 'fl', 'safety'] as const
export type AdminTab = typeof ADMIN_TABS[number]

/** A parsed location. */
export type Route =
  | { page: 'home' }
  | { page: 'sign-in' }
  | { page: 'sign-up' }
  | { page: 'recover' }
  | { page: 'account' }
  | { page: 'setup', token: string | null }
  | { page: 'clinician', patientId: string | null }
  | { page: 'clinician-viewer', patientId: string, cid: string }
  | { page: 'patient', tab: PatientTab }
  | { page: 'patient-viewer', cid: string }
  | { page: 'admin', tab: AdminTab }
  | { page: 'admin-tx', txId: string }
  | { page: 'admin-fl-task', taskId: string }
  | { page: 'research' }
  | { page: 'model', cid: string }
  | { page: 'not-found' }

/** Who may see which pages (the server enforces the same through its routes). */
export type Role = 'admin' | 'clinician' | 'patient' | 'researcher'

const HEX64 = /^[0-9a-f]{64}$/
/** A CID string: multibase base32 ('b…') or base58btc CIDv0 ('Qm…'), as the API prints them. */
const CID_TEXT = /^[A-Za-z0-9]{8,128}$/
const SEGMENT = /^[A-Za-z0-9._-]{1,128}$/

function includes<T extends string> (list: readonly T[], v: string | undefined): v is T {
  return v !== undefined && (list as readonly string[]).includes(v)
}

/** The setup token in a `#token=…` fragment (kept out of the path so it never reaches logs). */
export function setupTokenOf (hash: string): string | null {
  const m = /(?:^#|&)token=([A-Za-z0-9_-]{16,128})(?:&|$)/.exec(hash)
  return m === null ? null : m[1]
}

/** Parses a pathname (and the fragment, for /setup) into a route. */
export function parseRoute (pathname: string, hash = ''): Route {
  const path = pathname.replace(/\/+$/, '') || '/'
  if (path === '/' || path === '/app') return { page: 'home' }
  if (path === '/setup') return { page: 'setup', token: setupTokenOf(hash) }
  const parts = path.split('/').slice(1)
  if (parts[0] !== 'app' || parts.some(p => !SEGMENT.test(p))) return { page: 'not-found' }
  const [, area, a, b, c, d] = parts
  const n = parts.length
  if (area === 'sign-in' && n === 2) return { page: 'sign-in' }
  if (area === 'sign-up' && n === 2) return { page: 'sign-up' }
  if (area === 'recover' && n === 2) return { page: 'recover' }
  if (area === 'account' && n === 2) return { page: 'account' }
  if (area === 'research' && n === 2) return { page: 'research' }
  if (area === 'models' && n === 3 && a !== undefined && CID_TEXT.test(a)) return { page: 'model', cid: a }
  if (area === 'clinician') {
    if (n === 2) return { page: 'clinician', patientId: null }
    if (a === 'patients' && b !== undefined && HEX64.test(b)) {
      if (n === 4) return { page: 'clinician', patientId: b }
      if (n === 6 && c === 'images' && d !== undefined && CID_TEXT.test(d)) return { page: 'clinician-viewer', patientId: b, cid: d }
    }
  }
  if (area === 'patient') {
    if (n === 2) return { page: 'patient', tab: 'images' }
    if (n === 3 && includes(PATIENT_TABS, a)) return { page: 'patient', tab: a }
    if (n === 4 && a === 'images' && b !== undefined && CID_TEXT.test(b)) return { page: 'patient-viewer', cid: b }
  }
  if (area === 'admin') {
    if (n === 2) return { page: 'admin', tab: 'status' }
    if (n === 3 && includes(ADMIN_TABS, a)) return { page: 'admin', tab: a }
    if (n === 5 && a === 'ledger' && b === 'tx' && c !== undefined && HEX64.test(c)) return { page: 'admin-tx', txId: c }
    if (n === 4 && a === 'fl' && b !== undefined) return { page: 'admin-fl-task', taskId: b }
  }
  return { page: 'not-found' }
}

/** The first page of each role after sign-in. */
export function homeOf (role: Role): string {
  if (role === 'patient') return '/app/patient/images'
  if (role === 'admin') return '/app/admin/status'
  return '/app/clinician'
}

/** Whether `role` may open `route`; pages without a role (sign-in, not-found) are open to all. */
export function mayOpen (route: Route, role: Role): boolean {
  switch (route.page) {
    case 'clinician': case 'clinician-viewer': return role === 'clinician' || role === 'researcher'
    case 'patient': case 'patient-viewer': return role === 'patient'
    case 'admin': case 'admin-tx': case 'admin-fl-task': return role === 'admin'
    case 'research': return role === 'researcher' || role === 'admin'
    case 'model': return role !== 'patient'
    default: return true
  }
}

/** Pages shown without a session. */
export function isPublic (route: Route): boolean {
  return route.page === 'sign-in' || route.page === 'sign-up' || route.page === 'recover' || route.page === 'setup' || route.page === 'not-found'
}
