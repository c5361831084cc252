// Fetches the display names of the keys a page shows, from the consortium directory through the
// peer (`GET /api/directory?keys=`), and keeps the names found for the page's life: names change
// seldom, and a page that shows the same clinician in fifty rows asks once.
import type { MedichainClient } from '../../../protocol/client/client.ts'
import type { DisplayName } from '../lib/words/names.ts'

/** Names found, by client. A key without an entry is asked again next time: it may have been named since. */
const cache = new WeakMap<MedichainClient, Map<string, DisplayName>>()

/** The names of `keys` (hex) known to the directory; keys without an entry are missing from the map. */
export async function namesOf (client: MedichainClient, keys: Iterable<string>): Promise<Map<string, DisplayName>> {
  let known = cache.get(client)
  if (known === undefined) {
    known = new Map()
    cache.set(client, known)
  }
  const wanted = [...new Set(keys)].filter(k => /^[0-9a-f]{64}$/.test(k))
  const missing = wanted.filter(k => !known.has(k))
  if (missing.length > 0) {
    const found = await client.names(missing)
    for (const k of missing) if (found[k] !== undefined) known.set(k, found[k])
  }
  const out = new Map<string, DisplayName>()
  for (const k of wanted) {
    const n = known.get(k)
    if (n !== undefined) out.set(k, n)
  }
  return out
}

/** Forgets what was fetched (after the user renamed themselves, so the page shows the new name). */
export function forgetNames (client: MedichainClient): void {
  cache.delete(client)
}
