// The instances a DICOMweb caller may see (docs/design.md §5 "Access"): this hospital's own, from
// its sealed catalogue, under the custodian rule, with the objects derived from their detect-strange
// results (the Secondary Capture and the Segmentation, node/dicom/catalogue/retrieve.ts derivedOf), as over
// DIMSE; and other hospitals' instances of patients who
// granted a live treatment consent to the caller or to this hospital, whose headers are read by
// opening the instance here (a logged read, like any other) and then kept in memory only, with the
// objects derived from their results too (whether a result carries its mask is read the same way).
import type { CID } from 'multiformats/cid'
import { equals, toHex } from '../../protocol/bytes.ts'
import type { ImageRecord } from '../../ledger/queries/queries.ts'
import type { Ledger } from '../../ledger/types.ts'
import type { Reader } from '../records/access.ts'
import type { Reads } from '../records/reads.ts'
import type { CatalogueEntry, DicomCatalogue } from '../dicom/catalogue/catalogue.ts'
import { readInstanceHeader } from '../dicom/catalogue/instance-header.ts'
import type { InstanceHeader } from '../dicom/catalogue/instance-header.ts'
import { derivedOf } from '../dicom/catalogue/retrieve.ts'
import { hasResultMask } from '../imaging/derived/result-mask.ts'
import type { DerivedPart, Located } from '../dicom/catalogue/retrieve.ts'

/**
 * One instance a caller may see: its catalogue view (real UIDs, attributes) and its ledger record;
 * `derived` for an object made from the record's result rather than its raw file.
 */
export interface VisibleInstance { entry: CatalogueEntry, image: ImageRecord, derived?: Extract<Located, { part: DerivedPart }> }

/** What the view uses. */
export interface InstanceViewComponents {
  catalogue: DicomCatalogue
  ledger: Ledger
  reads: Pick<Reads, 'mayRead' | 'plaintext'>
}

/** Largest number of other hospitals' headers kept in memory (each a few hundred bytes). */
const REMOTE_HEADERS_KEPT = 100_000

/** Reads a whole stream into one buffer. */
export async function collect (stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const c of stream) chunks.push(c)
  return new Uint8Array(Buffer.concat(chunks))
}

/** The caller-specific view over the catalogue and the ledger. */
export function createInstanceView (c: InstanceViewComponents) {
  /** Headers of other hospitals' instances this peer has opened, by raw CID (never persisted). */
  const remoteHeaders = new Map<string, InstanceHeader>()
  /** Whether other hospitals' result images carry their mask, by result CID (never persisted). */
  const remoteMasks = new Map<string, boolean>()

  async function local (reader: Reader): Promise<VisibleInstance[]> {
    const studies = new Map<string, ImageRecord[]>()
    const out: VisibleInstance[] = []
    for await (const entry of c.catalogue.entries()) {
      const key = `${toHex(entry.patient)}:${toHex(entry.study)}`
      let images = studies.get(key)
      if (images === undefined) {
        images = await c.ledger.queries.studyImages(entry.patient, entry.study)
        studies.set(key, images)
      }
      const image = images.find(i => i.dicom !== undefined && equals(i.dicom.instance, entry.instance) && equals(i.dicom.series, entry.series) && equals(i.custodian, c.ledger.self))
      if (image === undefined || !await c.reads.mayRead(reader, image)) continue
      out.push({ entry, image }, ...derivedOf(entry, image, c.catalogue).map(d => ({ entry: d.entry, image, derived: d })))
    }
    return out
  }

  async function remoteHeader (reader: Reader, raw: CID): Promise<InstanceHeader> {
    const key = raw.toString()
    const known = remoteHeaders.get(key)
    if (known !== undefined) return known
    const { stream } = await c.reads.plaintext(reader, raw)
    const header = readInstanceHeader(await collect(stream))
    if (remoteHeaders.size >= REMOTE_HEADERS_KEPT) remoteHeaders.delete(remoteHeaders.keys().next().value as string)
    remoteHeaders.set(key, header)
    return header
  }

  /**
   * Whether another hospital's result image carries its mask (so a Segmentation can be made of
   * it): read once, as the reader (a logged read), and kept in memory by result CID.
   */
  async function remoteResultMask (reader: Reader, result: CID): Promise<boolean> {
    const key = result.toString()
    const known = remoteMasks.get(key)
    if (known !== undefined) return known
    const { stream } = await c.reads.plaintext(reader, result)
    const has = hasResultMask(await collect(stream))
    if (remoteMasks.size >= REMOTE_HEADERS_KEPT) remoteMasks.delete(remoteMasks.keys().next().value as string)
    remoteMasks.set(key, has)
    return has
  }

  async function remote (reader: Reader): Promise<VisibleInstance[]> {
    const grants = [...await c.ledger.queries.consentsFor(reader.signPub), ...await c.ledger.queries.consentsFor(reader.hospital)]
    const patients = new Map<string, Uint8Array>()
    for (const g of grants) patients.set(toHex(g.patient), g.patient)
    const out: VisibleInstance[] = []
    for (const patient of patients.values()) {
      const consents = await c.ledger.queries.consentsOf(patient)
      for (const image of await c.ledger.queries.imagesOf(patient)) {
        if (image.dicom === undefined || image.record === null || equals(image.custodian, c.ledger.self)) continue
        if (!await c.reads.mayRead(reader, image, consents)) continue
        const header = await remoteHeader(reader, image.raw)
        const entry: CatalogueEntry = { study: image.record, series: image.dicom.series, instance: image.dicom.instance, patient, header, stored: image.time }
        if (image.result !== null && await remoteResultMask(reader, image.result)) entry.resultMask = true
        out.push({ entry, image }, ...derivedOf(entry, image, c.catalogue).map(d => ({ entry: d.entry, image, derived: d })))
      }
    }
    return out
  }

  return {
    /** Every instance `reader` may see now, this hospital's first; `study` narrows to one Study Instance UID. */
    async visible (reader: Reader, study: string | null = null): Promise<VisibleInstance[]> {
      const all = [...await local(reader), ...await remote(reader)]
      return study === null ? all : all.filter(v => v.entry.header.study.uid === study)
    }
  }
}

/** The instance view's type. */
export type InstanceView = ReturnType<typeof createInstanceView>
