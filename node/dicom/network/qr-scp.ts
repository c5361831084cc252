// The Query/Retrieve SCP (PS3.4 Annex C) of one association: C-FIND at patient, study, series and
// image level in the patient-root and study-root models, C-MOVE (our own association to the
// configured destination, PS3.4 §C.4.2) and C-GET (C-STORE sub-operations on the caller's own
// association, §C.4.3). Matching is query.ts; who may read what, and the access logs, retrieve.ts.
import type { Logger } from 'pino'
import dimse from 'dcmjs-dimse'
import type { requests, responses } from 'dcmjs-dimse'
import { findMatches, levelAllowed, selectInstances } from '../catalogue/query.ts'
import type { InformationModel, QueryLevel } from '../catalogue/query.ts'
import type { Located, Materialised, Retrieve } from '../catalogue/retrieve.ts'
import { ASSOCIATION_TIMEOUT_MS } from '../constants.ts'

const { Client, Dataset } = dimse

/** Query/Retrieve SOP classes (PS3.4 §C.6.1.3, §C.6.2.3, §C.6.1.3.x GET). */
export const QR_SOP_CLASSES: Readonly<Record<string, { model: InformationModel, op: 'find' | 'move' | 'get' }>> = {
  '1.2.840.10008.5.1.4.1.2.1.1': { model: 'patient', op: 'find' },
  '1.2.840.10008.5.1.4.1.2.1.2': { model: 'patient', op: 'move' },
  '1.2.840.10008.5.1.4.1.2.1.3': { model: 'patient', op: 'get' },
  '1.2.840.10008.5.1.4.1.2.2.1': { model: 'study', op: 'find' },
  '1.2.840.10008.5.1.4.1.2.2.2': { model: 'study', op: 'move' },
  '1.2.840.10008.5.1.4.1.2.2.3': { model: 'study', op: 'get' }
}

/** Q/R statuses (PS3.4 §C.4.1.1.4, §C.4.2.1.5, §C.4.3.1.4). */
export const QR_STATUS = {
  success: 0x0000,
  pending: 0xff00,
  /** C-FIND refused: out of resources (PS3.4 §C.4.1.1.4). */
  findOutOfResources: 0xa700,
  /** C-MOVE and C-GET refused: out of resources, unable to perform sub-operations. */
  outOfResources: 0xa702,
  /** Refused: move destination unknown. */
  moveDestinationUnknown: 0xa801,
  /** Error: identifier does not match SOP class. */
  identifierMismatch: 0xa900,
  /** Warning: sub-operations complete, one or more failures. */
  someFailed: 0xb000,
  /** Failed: unable to process. */
  unableToProcess: 0xc000
} as const

/** A C-MOVE destination from config: where an AE title listens. */
export interface MoveDestination { aeTitle: string, host: string, port: number }

/** What the Q/R handlers of one server share. */
export interface QrContext {
  aeTitle: string
  retrieve: Retrieve
  destination: (aeTitle: string) => MoveDestination | undefined
  logger: Logger
}

/** The sender side of the association (the Scp): sub-operation requests and pending responses. */
export interface AssociationSender {
  sendRequests: (request: InstanceType<typeof dimse.requests.CStoreRequest>) => void
  sendResponse: (request: requests.CGetRequest, response: responses.CGetResponse) => void
  /**
   * Whether the association accepted a presentation context that can carry an instance of this
   * storage SOP class in this transfer syntax: the same one, or both native little endian.
   */
  accepts: (sopClassUid: string, transferSyntaxUid: string) => boolean
  /** Settles when the association's socket closes (a sub-operation then never gets its answer). */
  closed: Promise<void>
}

type QrRequest = requests.CFindRequest | requests.CMoveRequest | requests.CGetRequest

/** The request's identifier and level, or the status that refuses it. */
function identifierOf (request: QrRequest): { model: InformationModel, level: QueryLevel, identifier: Record<string, unknown> } | number {
  const sop = QR_SOP_CLASSES[request.getAffectedSopClassUid()]
  const identifier = request.getDataset()?.getElements() ?? {}
  const level = asLevel(sop?.model, identifier.QueryRetrieveLevel)
  if (sop === undefined || level === undefined) return QR_STATUS.identifierMismatch
  return { model: sop.model, level, identifier }
}

function asLevel (model: InformationModel | undefined, v: unknown): QueryLevel | undefined {
  const level = typeof v === 'string' ? v.trim() : ''
  return model !== undefined && levelAllowed(model, level) ? level : undefined
}

/** The one Study Instance UID an identifier names, if exactly one (narrows the catalogue scan). */
function oneStudy (identifier: Record<string, unknown>): string | undefined {
  const v = identifier.StudyInstanceUID
  return typeof v === 'string' && v !== '' && !v.includes('\\') ? v : undefined
}

/** C-FIND: the pending responses, one per match, then success (or the refusal). */
export async function handleFind (request: requests.CFindRequest, ctx: QrContext): Promise<responses.CFindResponse[]> {
  const done = (status: number, comment?: string): responses.CFindResponse => {
    const r = dimse.responses.CFindResponse.fromRequest(request)
    r.setStatus(status)
    if (comment !== undefined) r.setErrorComment(comment)
    return r
  }
  const q = identifierOf(request)
  if (typeof q === 'number') return [done(q, 'unsupported query/retrieve level for this model')]
  const chosen = await choose(q, ctx)
  const matches = findMatches(chosen.map(l => l.entry), q.level, q.identifier)
  // Listed, not opened (issue 14): one access entry per patient the answer shows, durable before it goes out.
  const byEntry = new Map(chosen.map(l => [l.entry, l]))
  await ctx.retrieve.listed(matches.flatMap(m => m.group.flatMap(e => byEntry.get(e) ?? [])))
  ctx.logger.info({ level: q.level, model: q.model, matches: matches.length }, 'C-FIND answered')
  const pending = matches.map(m => {
    const r = done(QR_STATUS.pending)
    r.setDataset(new Dataset(m.response))
    return r
  })
  return [...pending, done(QR_STATUS.success)]
}

/** What an identifier selects among everything this hospital's DICOM callers may find. */
async function choose (q: { level: QueryLevel, identifier: Record<string, unknown> }, ctx: QrContext, catchUp = true): Promise<Located[]> {
  const all = await ctx.retrieve.located(oneStudy(q.identifier), catchUp)
  const picked = new Set(selectInstances(all.map(l => l.entry), q.level, q.identifier))
  return all.filter(l => picked.has(l.entry))
}

/**
 * The instances a C-MOVE or C-GET identifier selects, readable by this hospital: what is on the
 * ledger now, so a retrieve is not held up by an ingest in progress; only when that is nothing does
 * it wait for the instances acknowledged before it, and look once more.
 */
async function selected (request: QrRequest, ctx: QrContext): Promise<Located[] | number> {
  const q = identifierOf(request)
  if (typeof q === 'number') return q
  const now = await choose(q, ctx, false)
  return now.length > 0 ? now : await choose(q, ctx)
}

/** Counts of sub-operations (PS3.4 §C.4.2.1.6). */
interface Counts { remaining: number, completed: number, failed: number, warnings: number }

function withCounts<T extends responses.CMoveResponse | responses.CGetResponse> (r: T, status: number, n: Counts): T {
  r.setStatus(status)
  if (status === QR_STATUS.pending) r.setRemaining(n.remaining)
  r.setCompleted(n.completed)
  r.setFailures(n.failed)
  r.setWarnings(n.warnings)
  return r
}

/** The final status of a retrieve: success, or a warning when some sub-operation failed. */
function finalStatus (n: Counts): number {
  return n.failed > 0 ? QR_STATUS.someFailed : QR_STATUS.success
}

/** Reads every selected instance (access check and access log each); a refused read counts as a failure. */
async function materialiseAll (items: Located[], ctx: QrContext, n: Counts): Promise<Materialised[]> {
  const out: Materialised[] = []
  for (const item of items) {
    try {
      out.push(await ctx.retrieve.materialise(item))
    } catch (err) {
      n.failed++
      n.remaining--
      ctx.logger.warn({ code: (err as { code?: string }).code }, 'an instance could not be read for retrieve')
    }
  }
  return out
}

/** C-MOVE: opens an association to the destination AE and sends each instance with C-STORE. */
export async function handleMove (request: requests.CMoveRequest, ctx: QrContext): Promise<responses.CMoveResponse[]> {
  const response = (): responses.CMoveResponse => dimse.responses.CMoveResponse.fromRequest(request)
  const destAe = (request.getCommandDataset().getElement('MoveDestination') ?? '').trim()
  const dest = ctx.destination(destAe)
  const n: Counts = { remaining: 0, completed: 0, failed: 0, warnings: 0 }
  if (dest === undefined) {
    ctx.logger.warn({ destination: destAe }, 'C-MOVE refused: destination AE title not configured')
    const r = withCounts(response(), QR_STATUS.moveDestinationUnknown, n)
    r.setErrorComment('move destination unknown')
    return [r]
  }
  const items = await selected(request, ctx)
  if (typeof items === 'number') return [withCounts(response(), items, n)]
  n.remaining = items.length
  const files = await materialiseAll(items, ctx, n)
  try {
    if (files.length > 0) await storeTo(dest, ctx, files, n)
  } finally {
    await Promise.all(files.map(async f => await f.done()))
  }
  ctx.logger.info({ destination: destAe, completed: n.completed, failed: n.failed }, 'C-MOVE done')
  return [withCounts(response(), finalStatus(n), n)]
}

/** Sends `files` to a destination on one association of our own; counts each sub-operation. */
async function storeTo (dest: MoveDestination, ctx: QrContext, files: Materialised[], n: Counts): Promise<void> {
  const client = new Client()
  const answered = new Set<number>()
  files.forEach((f, i) => {
    const store = new dimse.requests.CStoreRequest(f.path)
    store.on('response', (r: responses.CStoreResponse) => {
      if (answered.has(i)) return
      answered.add(i)
      n.remaining--
      if (r.getStatus() === QR_STATUS.success) n.completed++
      else if ((r.getStatus() & 0xf000) === 0xb000) { n.completed++; n.warnings++ } else n.failed++
    })
    client.addRequest(store)
  })
  await new Promise<void>((resolve) => {
    client.on('networkError', (err: Error) => {
      ctx.logger.warn({ err: { message: err.message } }, 'C-MOVE sub-association failed')
      resolve()
    })
    client.on('associationRejected', () => resolve())
    client.on('closed', () => resolve())
    client.send(dest.host, dest.port, ctx.aeTitle, dest.aeTitle, { connectTimeout: ASSOCIATION_TIMEOUT_MS, associationTimeout: ASSOCIATION_TIMEOUT_MS, pduTimeout: ASSOCIATION_TIMEOUT_MS, logCommandDatasets: false, logDatasets: false })
  })
  // Sub-operations never answered (the destination refused or vanished) failed.
  const unanswered = files.length - answered.size
  n.failed += unanswered
  n.remaining -= unanswered
}

/** C-GET: each instance goes back on the caller's association as a C-STORE sub-operation. */
export async function handleGet (request: requests.CGetRequest, sender: AssociationSender, ctx: QrContext): Promise<responses.CGetResponse[]> {
  const response = (): responses.CGetResponse => dimse.responses.CGetResponse.fromRequest(request)
  const n: Counts = { remaining: 0, completed: 0, failed: 0, warnings: 0 }
  const items = await selected(request, ctx)
  if (typeof items === 'number') return [withCounts(response(), items, n)]
  n.remaining = items.length
  const files = await materialiseAll(items, ctx, n)
  try {
    for (const f of files) {
      // No storage context for this SOP class and transfer syntax on the caller's association: it
      // cannot take it (a compressed instance is not decompressed for a caller that took only native).
      const status = !sender.accepts(f.sopClassUid, f.transferSyntaxUid)
        ? QR_STATUS.unableToProcess
        : await Promise.race([
          new Promise<number>((resolve) => {
            const store = new dimse.requests.CStoreRequest(f.path)
            store.on('response', (r: responses.CStoreResponse) => resolve(r.getStatus()))
            sender.sendRequests(store)
          }),
          sender.closed.then(() => QR_STATUS.unableToProcess),
          // A sub-operation the library could not send (no context fits) is never answered.
          new Promise<number>(resolve => setTimeout(() => resolve(QR_STATUS.unableToProcess), ASSOCIATION_TIMEOUT_MS).unref())
        ])
      n.remaining--
      if (status === QR_STATUS.success) n.completed++
      else if ((status & 0xf000) === 0xb000) { n.completed++; n.warnings++ } else n.failed++
      if (n.remaining > 0) sender.sendResponse(request, withCounts(response(), QR_STATUS.pending, n))
    }
  } finally {
    await Promise.all(files.map(async f => await f.done()))
  }
  ctx.logger.info({ completed: n.completed, failed: n.failed }, 'C-GET done')
  return [withCounts(response(), finalStatus(n), n)]
}
