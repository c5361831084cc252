// STOW-RS (PS3.18 §10.5): `POST /dicomweb/studies[/{study}]` with a multipart/related body of
// application/dicom parts. Each instance is filed like a C-STORE (node/dicom/custody/ingest.ts): by its
// PatientID through the hospital's patient index, onto the ledger for a linked patient or into
// the hospital's custody. Parts are filed as they arrive, a few at a time, and their `image.add`
// transactions share blocks; the answer comes once every instance is durable.
import { rm } from 'node:fs/promises'
import type { Context } from 'koa'
import type { Logger } from 'pino'
import { MedichainError } from '../../protocol/errors.ts'
import type { Dicom } from '../dicom/index.ts'
import { readInstanceHeaderFile } from '../dicom/catalogue/instance-header.ts'
import type { InstanceHeader } from '../dicom/catalogue/instance-header.ts'
import { MAX_INSTANCE_BYTES, STORE_STATUS } from '../dicom/constants.ts'
import { STORAGE_SOP_CLASSES } from '../dicom/network/sop-classes.ts'
import { DICOM_FILE, DICOM_JSON, DICOMWEB_BASE, FAILURE, MAX_STOW_PARTS, STOW_CONCURRENCY } from './constants.ts'
import { mediaType, readRelatedParts } from './multipart-related.ts'
import type { RelatedPart } from './multipart-related.ts'
import { attr, uidAttr } from './json.ts'
import type { DicomJson } from './json.ts'

/** What STOW-RS uses. */
export interface StowComponents {
  dicom: Pick<Dicom, 'storeNow'>
  tmpDir: string
  logger: Logger
}

/** The outcome of one part. */
interface PartOutcome { header?: InstanceHeader, failure?: number, held?: boolean }

/** Thrown for a request body that is not multipart/related of application/dicom (415). */
export class UnsupportedMediaTypeError extends MedichainError {
  constructor (message: string) {
    super('UNSUPPORTED_MEDIA_TYPE', message)
    this.name = 'UnsupportedMediaTypeError'
  }
}

/** Files one part; the part's file is removed whatever happens. */
async function filePart (part: RelatedPart, study: string | undefined, c: StowComponents): Promise<PartOutcome> {
  let handed = false
  try {
    if (part.type !== '' && part.type !== DICOM_FILE) return { failure: FAILURE.cannotUnderstand }
    let header: InstanceHeader
    try {
      header = await readInstanceHeaderFile(part.path)
    } catch {
      return { failure: FAILURE.cannotUnderstand }
    }
    if (study !== undefined && header.study.uid !== study) return { header, failure: FAILURE.studyMismatch }
    if (!STORAGE_SOP_CLASSES.has(header.instance.sopClassUid)) return { header, failure: FAILURE.sopClassNotSupported }
    handed = true
    const outcome = await c.dicom.storeNow({ path: part.path, size: part.size, sopClassUid: header.instance.sopClassUid, transferSyntaxUid: '', header })
    if (outcome.status !== STORE_STATUS.success) return { header, failure: outcome.status }
    return { header, held: outcome.held === true }
  } finally {
    if (!handed) await rm(part.path, { force: true })
  }
}

/** The STOW-RS response body (PS3.18 §10.5.3, Table 10.5.3-2). */
function responseOf (outcomes: PartOutcome[], base: string): DicomJson {
  const retrieve = (h: InstanceHeader): string => `${base}/studies/${h.study.uid}/series/${h.series.uid}/instances/${h.instance.uid}`
  const stored = outcomes.filter(o => o.failure === undefined && o.header !== undefined)
  const failed = outcomes.filter(o => o.failure !== undefined)
  const body: DicomJson = {}
  const studies = new Set(outcomes.flatMap(o => o.header === undefined ? [] : [o.header.study.uid]))
  if (studies.size === 1) body['00081190'] = attr('UR', [`${base}/studies/${[...studies][0]}`])
  if (failed.length > 0) {
    body['00081198'] = attr('SQ', failed.map(o => ({
      ...(o.header === undefined ? {} : { '00081150': uidAttr(o.header.instance.sopClassUid), '00081155': uidAttr(o.header.instance.uid) }),
      '00081197': attr('US', [o.failure ?? FAILURE.processingFailure])
    })))
  }
  if (stored.length > 0) {
    body['00081199'] = attr('SQ', stored.map(o => {
      const h = o.header as InstanceHeader
      // An instance held in custody (no patient linked to its PatientID yet) cannot be retrieved yet.
      return { '00081150': uidAttr(h.instance.sopClassUid), '00081155': uidAttr(h.instance.uid), ...(o.held === true ? {} : { '00081190': attr('UR', [retrieve(h)]) }) }
    }))
  }
  return body
}

/** The STOW-RS handler (the route's guard has resolved the caller). */
export function stowHandler (c: StowComponents): (ctx: Context) => Promise<void> {
  return async (ctx) => {
    const { type, params } = mediaType(ctx.get('content-type'))
    if (type !== 'multipart/related') throw new UnsupportedMediaTypeError('STOW-RS takes multipart/related; type="application/dicom"')
    if (params.type !== undefined && mediaType(params.type).type !== DICOM_FILE) throw new UnsupportedMediaTypeError('only application/dicom parts are accepted (no metadata and bulk data requests)')
    const study = typeof ctx.params.study === 'string' ? ctx.params.study : undefined
    const outcomes: PartOutcome[] = []
    const inflight = new Set<Promise<void>>()
    const start = (part: RelatedPart): void => {
      const p: Promise<void> = filePart(part, study, c).then(o => { outcomes.push(o) }, (err: unknown) => {
        c.logger.warn({ code: err instanceof MedichainError ? err.code : undefined }, 'a STOW-RS instance could not be filed')
        outcomes.push({ failure: FAILURE.processingFailure })
      }).finally(() => inflight.delete(p))
      inflight.add(p)
    }
    try {
      for await (const part of readRelatedParts(ctx.req, params.boundary ?? '', { tmpDir: c.tmpDir, maxPartBytes: MAX_INSTANCE_BYTES, maxParts: MAX_STOW_PARTS })) {
        while (inflight.size >= STOW_CONCURRENCY) await Promise.race(inflight)
        start(part)
      }
    } finally {
      // Parts already handed over finish (and are answered for, or cleaned up) either way.
      await Promise.all(inflight)
    }
    if (outcomes.length === 0) throw new MedichainError('INVALID', 'the request carries no instance')
    const failed = outcomes.filter(o => o.failure !== undefined).length
    ctx.status = failed === 0 ? 200 : failed === outcomes.length ? 409 : 202
    ctx.type = DICOM_JSON
    ctx.body = responseOf(outcomes, `${ctx.origin}${DICOMWEB_BASE}`)
    c.logger.info({ instances: outcomes.length, failed }, 'STOW-RS request filed')
  }
}
