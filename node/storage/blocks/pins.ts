// Pin records: which roots this peer keeps whole. They live in helia's datastore (datastore-level)
// under `/medichain/pins/<cid>`, mirrored in memory so the repair loop's "do I hold it?" costs no
// disk read. A record is written only after every block of the DAG is on disk.
import { Key } from 'interface-datastore'
import type { LevelDatastore } from 'datastore-level'
import { CID } from 'multiformats/cid'

const PREFIX = '/medichain/pins/'
/** The value of a record: a format version, so later versions can add fields. */
const RECORD = new Uint8Array([1])

/** Pin records of one peer. */
export interface Pins {
  /** Reads every record into memory; call once at start. */
  load(): Promise<void>
  isPinned(cid: CID): boolean
  add(cid: CID): Promise<void>
  remove(cid: CID): Promise<void>
  count(): number
  /** Every pinned root (the collector's roots). */
  all(): CID[]
}

/** Records are keyed by the CIDv1 string, so a CIDv0 and its CIDv1 are one pin. */
function keyOf (cid: CID): string {
  return cid.toV1().toString()
}

/** Pin records over a datastore. */
export function createPins (datastore: LevelDatastore): Pins {
  const pinned = new Set<string>()
  return {
    async load () {
      pinned.clear()
      for await (const key of datastore.queryKeys({ prefix: PREFIX })) {
        const name = key.toString().slice(PREFIX.length)
        try {
          pinned.add(keyOf(CID.parse(name)))
        } catch {
          // A record this version cannot read is left alone rather than deleted.
        }
      }
    },
    isPinned: (cid) => pinned.has(keyOf(cid)),
    async add (cid) {
      const name = keyOf(cid)
      await datastore.put(new Key(PREFIX + name), RECORD)
      pinned.add(name)
    },
    async remove (cid) {
      const name = keyOf(cid)
      await datastore.delete(new Key(PREFIX + name))
      pinned.delete(name)
    },
    count: () => pinned.size,
    all: () => [...pinned].map(name => CID.parse(name))
  }
}
