// The consortium directory (docs/design.md §3): each hospital publishes its own display name and
// its staff's display names and departments with `directory.set`, so every peer shows "Dr Lee,
// Radiology, South Hospital" instead of a key, and a patient finds a clinician by name. Staff
// names are not PHI; patients are never in the directory (the ledger refuses them).
import { Router } from '@koa/router'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { InvalidRequestError, MedichainError } from '../../../protocol/errors.ts'
import { expectFields, expectString } from '../../../protocol/schema.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { readJson } from '../../auth/http/body.ts'
import type { Auth } from '../../auth/index.ts'
import { currentUser } from '../../auth/http/middleware.ts'
import { expectQueryKeys, parseHexParam, queryValue } from '../query.ts'
import { ED25519_PUBLIC_KEY_BYTES } from '../../../protocol/constants.ts'
import type { DisplayName } from '../../records/audit.ts'

/** Longest display name and department (the `directory.set` schema's bounds). */
export const MAX_DISPLAY_NAME = 128
export const MAX_DEPARTMENT = 64
/** Most entries one search answers: a picker shows a handful, never the whole directory. */
export const DIRECTORY_RESULTS = 50

/** Thrown when a staff member's key is not on the ledger yet (a pending account). */
export class NotRegisteredError extends MedichainError {
  constructor () {
    super('ACCOUNT_STATE', 'only an active account registered on the ledger can be named in the directory')
    this.name = 'NotRegisteredError'
  }
}

/** What the directory routes use. */
export interface DirectoryRoutesComponents { ledger: Ledger, auth: Pick<Auth, 'requireUser'> }

/** Most keys one `GET /api/directory?keys=` looks up: a page's people and hospitals. */
export const DIRECTORY_LOOKUP = 100

/**
 * The display names of `keys` (hex): the directory entry of a person or hospital, else, for a
 * member hospital that never named itself, its genesis or admission name. Keys with neither are
 * missing from the map, and the page shows a short key for them.
 */
export async function directoryNames (ledger: Pick<Ledger, 'queries' | 'members'>, keys: Iterable<string>): Promise<Map<string, DisplayName>> {
  const members = new Map(ledger.members().map(m => [toHex(m.key), m.name]))
  const out = new Map<string, DisplayName>()
  for (const key of new Set(keys)) {
    const e = await ledger.queries.directoryEntry(fromHex(key))
    if (e !== undefined) {
      const hospital = toHex(e.hospital)
      out.set(key, { name: e.name, department: e.department, hospital, hospitalName: members.get(hospital) ?? null })
      continue
    }
    const member = members.get(key)
    if (member !== undefined) out.set(key, { name: member, department: '', hospital: key, hospitalName: member })
  }
  return out
}

function displayName (v: unknown, path: string, max: number, min = 1): string {
  const s = expectString(v, path, max, 0).trim()
  if (s.length < min) throw new InvalidRequestError(`${path}: must not be empty`)
  return s
}

/** Builds the router for `/api/directory`, `/api/hospital/name` and `/api/me/directory`. */
export function directoryRoutes (components: DirectoryRoutesComponents): Router {
  const { ledger, auth } = components
  const router = new Router({ prefix: '/api' })

  // Any signed-in user may search: a patient picks the clinician to consent to by name.
  router.get('/directory', auth.requireUser(), async (ctx) => {
    expectQueryKeys(ctx.query, ['q', 'hospital', 'keys'])
    const keys = queryValue(ctx.query, 'keys')
    if (keys !== undefined) {
      // The names of the keys a page shows (consents, rounds, the ledger explorer), looked up at once.
      const wanted = keys === '' ? [] : keys.split(',')
      if (wanted.length > DIRECTORY_LOOKUP) throw new InvalidRequestError(`keys: at most ${DIRECTORY_LOOKUP} keys`)
      for (const k of wanted) parseHexParam(k, 'keys', ED25519_PUBLIC_KEY_BYTES)
      const found = await directoryNames(ledger, wanted.map(k => k.toLowerCase()))
      ctx.body = { names: Object.fromEntries(found) }
      return
    }
    const q = typeof ctx.query.q === 'string' ? ctx.query.q.trim().toLowerCase() : ''
    const hospital = typeof ctx.query.hospital === 'string' ? ctx.query.hospital : undefined
    const members = new Map(ledger.members().map(m => [toHex(m.key), m.name]))
    const entries = (await ledger.queries.directory())
      .map(e => ({ key: toHex(e.subject), name: e.name, department: e.department, hospital: toHex(e.hospital), hospitalName: members.get(toHex(e.hospital)) ?? null, kind: toHex(e.subject) === toHex(e.hospital) ? 'hospital' : 'staff' }))
      .filter(e => (hospital === undefined || e.hospital === hospital) && (q === '' || e.name.toLowerCase().includes(q) || e.department.toLowerCase().includes(q) || (e.hospitalName ?? '').toLowerCase().includes(q)))
      .sort((a, b) => a.name.localeCompare(b.name))
    ctx.body = { entries: entries.slice(0, DIRECTORY_RESULTS), more: entries.length > DIRECTORY_RESULTS }
  })

  // The hospital's own display name: the first admin gives it on the setup page.
  router.put('/hospital/name', auth.requireUser('admin'), async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const f = expectFields(await readJson(ctx), 'body', ['name'])
    const name = displayName(f.name, 'name', MAX_DISPLAY_NAME)
    await ledger.submitOwn('directory.set', { subject: ledger.self, name, department: '' })
    ctx.body = { name }
  })

  // Staff name themselves; their hospital signs the entry, as the ledger requires.
  router.put('/me/directory', auth.requireUser('clinician', 'researcher', 'admin'), async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const f = expectFields(await readJson(ctx), 'body', ['name', 'department'])
    const name = displayName(f.name, 'name', MAX_DISPLAY_NAME)
    const department = displayName(f.department, 'department', MAX_DEPARTMENT, 0)
    const user = currentUser(ctx)
    if (user === undefined) throw new NotRegisteredError()
    const subject = fromHex(user.signPub)
    if (await ledger.queries.account(subject) === undefined) throw new NotRegisteredError()
    await ledger.submitOwn('directory.set', { subject, name, department })
    ctx.body = { name, department }
  })

  return router
}
