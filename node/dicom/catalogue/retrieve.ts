// Query and retrieve over the hospital's own records (issue 13 item 1): which catalogued instances
// a DICOM caller may see (C-FIND) and fetch (C-MOVE, C-GET). A DICOM node reads as its hospital:
// the same access rule as a clinician of this hospital in the web UI (docs/design.md §5
// "Access"), and every retrieved instance is read through the same reads service, so it is
// logged on the ledger (`access.log`, the hospital as accessor, basis custodian) like any read.
// An instance with a detect-strange result also offers that result as a Secondary Capture in a
// series of its own (ai-result.ts) and, when the result carries its mask, as a Segmentation in
// another (ai-segmentation.ts). A C-FIND answer is logged once per patient it lists.
import { createWriteStream } from 'node:fs'
import { open, readFile, rm, writeFile } from 'node:fs/promises'
import { TS } from '../../imaging/constants.ts'
import { readTransferSyntax } from '../../imaging/dicom/header.ts'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Logger } from 'pino'
import { equals, toHex } from '../../../protocol/bytes.ts'
import type { ImageRecord } from '../../../ledger/queries/queries.ts'
import type { Ledger } from '../../../ledger/types.ts'
import type { Reader } from '../../records/access.ts'
import { nodeBoxKeyOf, nodeUnwrapKey } from '../../records/node-box.ts'
import type { HospitalBox } from '../../records/reader-keys.ts'
import type { Reads } from '../../records/reads.ts'
import { decryptContent } from '../../storage/seal/content-crypto-node.ts'
import type { CatalogueEntry, DicomCatalogue } from './catalogue.ts'
import { resultEntry, resultObjectBytes } from '../results/ai-result.ts'
import { segmentationBytes, segmentationEntry } from '../results/ai-segmentation.ts'
import { readResultMask } from '../../imaging/derived/result-mask.ts'
import { CorruptImageError } from '../../imaging/errors.ts'
import { undeflated } from '../network/part10.ts'
import { KeysUnavailableError } from '../../records/reader-keys.ts'

/** Whether a Part 10 file's transfer syntax is Deflated Explicit VR Little Endian, from its first 4 KiB. */
async function fileTransferSyntax (path: string): Promise<string> {
  const fh = await open(path, 'r')
  try {
    const head = new Uint8Array(4096)
    const { bytesRead } = await fh.read(head, 0, head.length, 0)
    return readTransferSyntax(head.subarray(0, bytesRead))
  } finally {
    await fh.close()
  }
}

/** The bytes of a (small) stream: a result image is a PNG of the source's size. */
async function collect (source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}

/** What query/retrieve uses. */
export interface RetrieveComponents {
  catalogue: DicomCatalogue
  ledger: Ledger
  reads: Pick<Reads, 'ciphertext' | 'logListed'>
  box: HospitalBox
  /** Plaintext temp folder (wiped at start). */
  tmpDir: string
  logger: Logger
  /** Whether this hospital's staff may read its own images without a consent (`records.custodianRead`). */
  custodianRead: boolean
  /**
   * Resolves once the instances acknowledged before the call are on the ledger, or once it has
   * waited QUERY_CATCH_UP_MS (ingest.ts): a query then sees what it was told was stored.
   */
  caughtUp?: () => Promise<void>
}

/**
 * A catalogued instance with the ledger record it is stored under; `part` 'result' is the
 * Secondary Capture of its detect-strange result and 'segmentation' the Segmentation of the
 * result's mask, `source` then the instance they derive from.
 */
export type Located =
  | { part: 'raw', entry: CatalogueEntry, image: ImageRecord }
  | { part: DerivedPart, entry: CatalogueEntry, image: ImageRecord, source: CatalogueEntry, model: string }

/** The objects derived from a detect-strange result. */
export type DerivedPart = 'result' | 'segmentation'

/**
 * The objects derived from a catalogued instance's result: the Secondary Capture, and the
 * Segmentation when the result carries its mask (the catalogue noted it at ingest).
 */
export function derivedOf (entry: CatalogueEntry, image: ImageRecord, catalogue: Pick<DicomCatalogue, 'pseudonym'>): Array<Extract<Located, { part: DerivedPart }>> {
  if (image.result === null || image.model === null) return []
  const model = image.model.toString()
  // Dated by the ledger record, which every hospital holds alike, so that the custodian and a
  // hospital reading under consent make the same object byte for byte.
  const source: CatalogueEntry = { ...entry, stored: image.time }
  const out: Array<Extract<Located, { part: DerivedPart }>> = [{ part: 'result', entry: resultEntry(source, model, catalogue), image, source, model }]
  if (entry.resultMask === true) out.push({ part: 'segmentation', entry: segmentationEntry(source, model, catalogue), image, source, model })
  return out
}

/**
 * The Part 10 bytes of a derived object from its result image (`png`, decrypted). CORRUPT_IMAGE
 * for a Segmentation whose result carries no mask.
 */
export function derivedBytes (d: Extract<Located, { part: DerivedPart }>, png: Uint8Array): Uint8Array {
  if (d.part === 'result') return resultObjectBytes(png, d.entry, d.source, d.model)
  const mask = readResultMask(png)
  if (mask === undefined) throw new CorruptImageError('the result carries no mask')
  return segmentationBytes(mask, d.entry, d.source, d.model)
}

/** A retrieved instance as a plaintext Part 10 temp file; `done` removes it. */
export interface Materialised {
  path: string
  sopClassUid: string
  /** The file's transfer syntax: as stored (a compressed instance stays compressed), deflated sent undeflated. */
  transferSyntaxUid: string
  done: () => Promise<void>
}

/** The DICOM node's reader: the hospital itself, with a clinician's purpose (treatment). */
function hospitalReader (ledger: Ledger, box: HospitalBox): Reader {
  return { role: 'clinician', signPub: ledger.self, boxPub: box.publicKey, hospital: ledger.self }
}

/** The ledger records behind listed instances, by patient, each record once: what a listing's access log counts. */
export function recordsByPatient (shown: Iterable<{ entry: CatalogueEntry, image: ImageRecord }>): Array<{ patient: Uint8Array, images: ImageRecord[] }> {
  const out = new Map<string, { patient: Uint8Array, images: Map<string, ImageRecord> }>()
  for (const { entry, image } of shown) {
    const key = toHex(entry.patient)
    let p = out.get(key)
    if (p === undefined) out.set(key, p = { patient: entry.patient, images: new Map() })
    p.images.set(`${image.raw.toString()}:${toHex(image.custodian)}`, image)
  }
  return [...out.values()].map(p => ({ patient: p.patient, images: [...p.images.values()] }))
}

/** Query and retrieve over the catalogue: `createRetrieve(components)`. */
export function createRetrieve (c: RetrieveComponents) {
  /**
   * The catalogue entries with the ledger image each is recorded as, held by this hospital.
   * Entries without one (a crash between catalogue and ledger, or a policy that closes the
   * hospital's own images to its staff) are left out: nothing is found that could not be read.
   */
  async function locate (entries: CatalogueEntry[]): Promise<Located[]> {
    if (!c.custodianRead) return []
    const studies = new Map<string, ImageRecord[]>()
    const out: Located[] = []
    for (const entry of entries) {
      const key = `${toHex(entry.patient)}:${toHex(entry.study)}`
      let images = studies.get(key)
      if (images === undefined) {
        images = await c.ledger.queries.studyImages(entry.patient, entry.study)
        studies.set(key, images)
      }
      const image = images.find(i => i.dicom !== undefined && equals(i.dicom.instance, entry.instance) && equals(i.dicom.series, entry.series) && equals(i.custodian, c.ledger.self))
      if (image === undefined) continue
      out.push({ part: 'raw', entry, image }, ...derivedOf(entry, image, c.catalogue))
    }
    return out
  }

  /**
   * Everything a DICOM caller of this hospital may find: the catalogue (or one study of it) joined
   * with the ledger, with the result objects; query.ts then selects from it. With `catchUp` (the
   * default) it first waits for the instances acknowledged before the call to reach the ledger.
   */
  async function located (studyUid?: string, catchUp = true): Promise<Located[]> {
    if (catchUp) await c.caughtUp?.()
    return await locate(await candidates(studyUid))
  }

  /** Every catalogue entry, or those of one study when the identifier names exactly one Study Instance UID. */
  async function candidates (studyUid: string | undefined): Promise<CatalogueEntry[]> {
    const out: CatalogueEntry[] = []
    const source = studyUid !== undefined && /^[0-9.]+$/.test(studyUid) ? c.catalogue.byUid('study', studyUid) : c.catalogue.entries()
    for await (const e of source) out.push(e)
    return out
  }

  /**
   * Reads one instance as this hospital: the access check and the ledger's access log of the web
   * UI's reads, then the custodian's key, then the plaintext to a temp file.
   */
  async function materialise (located: Located): Promise<Materialised> {
    const { image, entry } = located
    const cid = located.part === 'raw' ? image.raw : image.result
    if (cid === null) throw new KeysUnavailableError('the image has no result')
    const { stream } = await c.reads.ciphertext(hospitalReader(c.ledger, c.box), cid)
    const wrapped = image.keys.find(k => equals(k.to, c.box.publicKey))
    const wrappedKey = located.part === 'raw' ? wrapped?.raw : wrapped?.result
    if (wrappedKey === undefined || wrappedKey === null) throw new KeysUnavailableError('this hospital holds no key for the image')
    const key = nodeUnwrapKey(wrappedKey, nodeBoxKeyOf(c.box))
    const path = join(c.tmpDir, `retrieve-${toHex(new Uint8Array(randomBytes(12)))}.dcm`)
    let transferSyntaxUid: string
    try {
      if (located.part !== 'raw') await writeFile(path, derivedBytes(located, await collect(decryptContent(key, stream))), { mode: 0o600 })
      else {
        await pipeline(Readable.from(decryptContent(key, stream)), createWriteStream(path, { mode: 0o600 }))
        // An instance received deflated goes out in Explicit VR Little Endian (part10.ts); the
        // file meta group at its head tells, so other files are never read whole.
        if (await fileTransferSyntax(path) === TS.deflatedExplicitLittle) {
          await writeFile(path, undeflated(new Uint8Array(await readFile(path)), entry.header.instance.sopClassUid, entry.header.instance.uid), { mode: 0o600 })
        }
      }
      transferSyntaxUid = await fileTransferSyntax(path)
    } catch (err) {
      await rm(path, { force: true })
      throw err
    } finally {
      key.fill(0)
    }
    return { path, sopClassUid: entry.header.instance.sopClassUid, transferSyntaxUid, done: async () => await rm(path, { force: true }) }
  }

  /**
   * Logs a C-FIND answer on the ledger as a listing (issue 14: listed, not opened): one
   * `access.log` per patient whose records `shown` holds, the hospital as accessor; none when
   * nothing matched. The answer goes out once the entries are durable.
   */
  async function listed (shown: Located[]): Promise<void> {
    await c.reads.logListed(hospitalReader(c.ledger, c.box), recordsByPatient(shown))
  }

  return { located, materialise, listed }
}

/** The query/retrieve service type. */
export type Retrieve = ReturnType<typeof createRetrieve>
