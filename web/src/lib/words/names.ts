// People and hospitals by name, never by key, wherever the pages show them (issue 12): the
// consortium directory's "Dr Lee, Radiology, South Hospital", falling back to a short key only
// for a key with no directory entry. Pure formatting here; names.ts in services/ fetches them.
import type { DisplayNameJson } from '../../../../protocol/client/client.ts'
import { shortHex } from './format.ts'

/** A display name as the directory gives it (`GET /api/directory?keys=`). */
export type DisplayName = DisplayNameJson

/**
 * "Dr Lee, Radiology, South Hospital" for a person; "South Hospital" for a hospital (its own
 * entry's hospital is itself). `withHospital: false` leaves the hospital out.
 */
export function nameLabel (n: DisplayName, key: string, opts: { withHospital?: boolean } = {}): string {
  const parts = [n.name]
  if (n.department !== '') parts.push(n.department)
  const hospital = n.hospitalName
  if (opts.withHospital !== false && hospital !== null && n.hospital !== key && hospital !== n.name) parts.push(hospital)
  return parts.join(', ')
}

/** The label of `key` from a lookup, or a short key when the directory has no entry for it. */
export function labelOf (names: Readonly<Record<string, DisplayName>> | ReadonlyMap<string, DisplayName>, key: string, opts: { withHospital?: boolean } = {}): string {
  const n = names instanceof Map ? names.get(key) : (names as Readonly<Record<string, DisplayName>>)[key]
  return n === undefined ? shortHex(key) : nameLabel(n, key, opts)
}
