// The service-class provider of one association, on dcmjs-dimse's Scp: association negotiation
// (called AE title, calling AE title and address from config), Verification (C-ECHO) and Storage
// (C-STORE) with native little endian transfer syntaxes and, for storage, the compressed ones the
// upload pipeline decodes (JPEG Lossless, JPEG-LS, JPEG Baseline). Each received data set becomes a Part 10
// file, kept in memory when small (IN_MEMORY_MAX_BYTES) and streamed to a temp file otherwise, and
// is handed to `store`.
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import type { WriteStream } from 'node:fs'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { Logger } from 'pino'
import dimse from 'dcmjs-dimse'
import type { association as assoc, requests, responses } from 'dcmjs-dimse'
import { concat, toHex } from '../../../protocol/bytes.ts'
import { rm } from 'node:fs/promises'
import { ACCEPTED_TRANSFER_SYNTAXES, ASSOCIATION_TIMEOUT_MS, MAX_INSTANCE_BYTES, STORE_STATUS, VERIFICATION_SOP_CLASS } from '../constants.ts'
import { part10Prefix } from './part10.ts'
import { COMPRESSED_DECODABLE_TS } from '../../imaging/constants.ts'
import { codecsInstalled } from '../../imaging/dicom/codecs.ts'
import type { InstanceHeader } from '../catalogue/instance-header.ts'
import { HOLD_INLINE_MAX_BYTES } from '../custody/patient-index.ts'
import { RETRIEVE_ONLY_SOP_CLASSES, STORAGE_SOP_CLASSES } from './sop-classes.ts'
import { handleFind, handleGet, handleMove, QR_SOP_CLASSES, QR_STATUS } from './qr-scp.ts'
import type { QrContext } from './qr-scp.ts'

const { Scp, Dataset, constants } = dimse
const { PresentationContextResult: PCR, RejectResult, RejectSource, RejectReason } = constants

/** A received instance on disk (plaintext, in the peer's temp folder), as a Part 10 file. */
export interface ReceivedInstance {
  path: string
  size: number
  sopClassUid: string
  transferSyntaxUid: string
  /** Its header, when the receiver parsed it already (STOW-RS); the ingest step then does not parse it again. */
  header?: InstanceHeader
  /**
   * The whole Part 10 file when it was received in memory (C-STORE of an instance up to
   * IN_MEMORY_MAX_BYTES): then nothing was written at `path`, and nothing is read from disk.
   */
  bytes?: Uint8Array
}

/**
 * Largest instance a C-STORE keeps in memory instead of a temp file: custody holds instances up to
 * this size inside their sealed record (patient-index.ts), so the answer costs no file write or
 * read. The association's one instance at a time bounds what this holds.
 */
export const IN_MEMORY_MAX_BYTES = HOLD_INLINE_MAX_BYTES

/** The C-STORE status to answer (PS3.4 §B.2.3) and, for failures, a comment without PHI. */
export interface StoreOutcome { status: number, comment?: string }

/** What every association of one server shares. */
export interface ScpContext {
  aeTitle: string
  /** Whether a calling AE title may associate from an address. */
  admits: (callingAeTitle: string, address: string) => boolean
  maxPduBytes: number
  tmpDir: string
  store: (instance: ReceivedInstance) => Promise<StoreOutcome>
  /** Query/retrieve; absent, the Q/R SOP classes are refused at negotiation. */
  qr?: QrContext
  logger: Logger
}

/** Options of the library's network layer: its timeouts, and no dataset in its own logs. */
export const NETWORK_OPTIONS = {
  connectTimeout: ASSOCIATION_TIMEOUT_MS,
  associationTimeout: ASSOCIATION_TIMEOUT_MS,
  pduTimeout: ASSOCIATION_TIMEOUT_MS,
  logCommandDatasets: false,
  logDatasets: false
}

/**
 * A Part 10 instance being received: counts bytes and stops keeping them past the instance cap.
 * Kept in memory up to IN_MEMORY_MAX_BYTES; past that, what came so far and the rest go to a temp
 * file at `path`.
 */
class InstanceSink extends Writable {
  readonly path: string
  readonly transferSyntaxUid: string
  #file: WriteStream | undefined
  /** What came so far, while in memory (copies: the library may reuse its buffers). */
  #chunks: Uint8Array[]
  size = 0
  oversized = false
  /** Set when the temp file could not be written (a full disk, say): the C-STORE fails. */
  failed = false

  constructor (path: string, prefix: Uint8Array, transferSyntaxUid: string) {
    super()
    this.path = path
    this.transferSyntaxUid = transferSyntaxUid
    this.#chunks = [prefix]
    this.size = prefix.length
  }

  /** The whole file, when it stayed in memory. */
  bytes (): Uint8Array | undefined {
    if (this.#file !== undefined || this.oversized) return undefined
    // One copy into a buffer of its own (Buffer.concat, then a Uint8Array of it, copied twice).
    return this.#chunks.length === 1 ? this.#chunks[0] : concat(...this.#chunks)
  }

  override _write (chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.size += chunk.length
    if (this.size > MAX_INSTANCE_BYTES) {
      this.oversized = true
      this.#chunks = []
      done()
      return
    }
    if (this.#file === undefined && this.size <= IN_MEMORY_MAX_BYTES) {
      this.#chunks.push(Uint8Array.from(chunk))
      done()
      return
    }
    if (this.#file === undefined) {
      const file = createWriteStream(this.path, { mode: 0o600 })
      file.on('error', (err) => this.destroy(err))
      for (const c of this.#chunks) file.write(c)
      this.#chunks = []
      this.#file = file
    }
    if (this.#file.write(chunk)) done()
    else this.#file.once('drain', () => done())
  }

  override _final (done: (err?: Error | null) => void): void {
    if (this.#file === undefined) done()
    else this.#file.end(() => done())
  }
}

/** Explicit VR Little Endian (PS3.5 §A.2). */
const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1'

/**
 * Picks the transfer syntax to accept: the first proposed one we read, in the caller's order. A
 * storage context may also take the compressed syntaxes the upload pipeline decodes, when their
 * codecs are installed (the listener loads them before it starts); the instance is then kept as
 * received, in its transfer syntax.
 */
function pickTransferSyntax (proposed: string[], storage: boolean): string | undefined {
  const compressed = storage && codecsInstalled()
  return proposed.find(ts => ACCEPTED_TRANSFER_SYNTAXES.includes(ts) || (compressed && COMPRESSED_DECODABLE_TS.has(ts)))
}

/** An Scp class bound to one server's context and one socket's remote address. */
export function scpClass (ctx: ScpContext): new (socket: Socket) => InstanceType<typeof Scp> {
  return class MedichainScp extends Scp {
    readonly #address: string
    readonly #sinks = new WeakMap<requests.CStoreRequest, InstanceSink>()
    #callingAe = ''
    #association: assoc.Association | undefined
    readonly #closed: Promise<void>

    constructor (socket: Socket) {
      super(socket, NETWORK_OPTIONS)
      this.#address = socket.remoteAddress ?? ''
      this.#closed = new Promise(resolve => socket.once('close', () => resolve()))
    }

    /**
     * Answers a Q/R request through `handle`. A failure answers 'unable to process', or 'out of
     * resources' when the access log could not be written for a full disk (nothing is answered
     * that the ledger does not record).
     */
    #qr<R extends requests.CFindRequest | requests.CMoveRequest | requests.CGetRequest, S> (request: R, handle: (qr: QrContext) => Promise<S[]>, fail: (status: number) => S, full: number, callback: (responses: S[]) => void): void {
      const qr = ctx.qr
      if (qr === undefined) { callback([fail(QR_STATUS.unableToProcess)]); return }
      handle(qr).then(callback, (err: unknown) => {
        const code = (err as { code?: string }).code
        ctx.logger.error({ err: { code, message: (err as Error).message } }, 'query/retrieve failed')
        callback([fail(code === 'STORAGE_FULL' ? full : QR_STATUS.unableToProcess)])
      })
    }

    override cFindRequest (request: requests.CFindRequest, callback: (responses: responses.CFindResponse[]) => void): void {
      const fail = (status: number): responses.CFindResponse => { const r = dimse.responses.CFindResponse.fromRequest(request); r.setStatus(status); return r }
      this.#qr(request, async (qr) => await handleFind(request, qr), fail, QR_STATUS.findOutOfResources, callback)
    }

    override cMoveRequest (request: requests.CMoveRequest, callback: (responses: responses.CMoveResponse[]) => void): void {
      const fail = (status: number): responses.CMoveResponse => { const r = dimse.responses.CMoveResponse.fromRequest(request); r.setStatus(status); return r }
      this.#qr(request, async (qr) => await handleMove(request, qr), fail, QR_STATUS.outOfResources, callback)
    }

    override cGetRequest (request: requests.CGetRequest, callback: (responses: responses.CGetResponse[]) => void): void {
      const fail = (status: number): responses.CGetResponse => { const r = dimse.responses.CGetResponse.fromRequest(request); r.setStatus(status); return r }
      const sender = {
        sendRequests: (r: InstanceType<typeof dimse.requests.CStoreRequest>) => this.sendRequests(r),
        sendResponse: (req: requests.CGetRequest, res: responses.CGetResponse) => this.sendResponse(req, res),
        accepts: (sopClassUid: string, ts: string) => (this.#association?.getPresentationContexts() ?? []).some(({ context }) => {
          const accepted = context.getAcceptedTransferSyntaxUid() ?? ''
          const fits = accepted === ts || (ACCEPTED_TRANSFER_SYNTAXES.includes(accepted) && ACCEPTED_TRANSFER_SYNTAXES.includes(ts))
          return context.getAbstractSyntaxUid() === sopClassUid && context.getResult() === PCR.Accept && fits
        }),
        closed: this.#closed
      }
      this.#qr(request, async (qr) => await handleGet(request, sender, qr), fail, QR_STATUS.outOfResources, callback)
    }

    override associationRequested (a: assoc.Association): void {
      const called = a.getCalledAeTitle().trim()
      const calling = a.getCallingAeTitle().trim()
      this.#callingAe = calling
      if (called !== ctx.aeTitle) {
        ctx.logger.warn({ calling, address: this.#address }, 'DICOM association refused: called AE title is not ours')
        this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized)
        return
      }
      if (!ctx.admits(calling, this.#address)) {
        ctx.logger.warn({ calling, address: this.#address }, 'DICOM association refused: calling AE title or address not allowed')
        this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized)
        return
      }
      const proposed = a.getPresentationContexts().map(({ context }) => context.getAbstractSyntaxUid())
      // A C-GET caller takes the objects this peer only sends (RETRIEVE_ONLY_SOP_CLASSES) on its own association.
      const gets = ctx.qr !== undefined && proposed.some(uid => QR_SOP_CLASSES[uid]?.op === 'get')
      for (const { context } of a.getPresentationContexts()) {
        const abstract = context.getAbstractSyntaxUid()
        const qr = ctx.qr !== undefined && Object.hasOwn(QR_SOP_CLASSES, abstract)
        const sendOnly = gets && RETRIEVE_ONLY_SOP_CLASSES.has(abstract)
        if (abstract !== VERIFICATION_SOP_CLASS && !STORAGE_SOP_CLASSES.has(abstract) && !qr && !sendOnly) {
          context.setResult(PCR.RejectAbstractSyntaxNotSupported)
          continue
        }
        // A Segmentation goes out as written, in Explicit VR Little Endian: dcmjs-dimse cannot
        // transcode 1-bit pixel data, so a context without it is refused rather than left to fail.
        const ts = sendOnly ? context.getTransferSyntaxUids().find(t => t === EXPLICIT_VR_LITTLE_ENDIAN) : pickTransferSyntax(context.getTransferSyntaxUids(), STORAGE_SOP_CLASSES.has(abstract))
        if (ts === undefined) context.setResult(PCR.RejectTransferSyntaxesNotSupported)
        else context.setResult(PCR.Accept, ts)
      }
      a.setMaxPduLength(ctx.maxPduBytes)
      this.#association = a
      ctx.logger.info({ calling, address: this.#address }, 'DICOM association accepted')
      this.sendAssociationAccept()
    }

    override associationReleaseRequested (): void {
      this.sendAssociationReleaseResponse()
    }

    override cEchoRequest (request: requests.CEchoRequest, callback: (response: responses.CEchoResponse) => void): void {
      const response = dimse.responses.CEchoResponse.fromRequest(request)
      response.setStatus(STORE_STATUS.success)
      callback(response)
    }

    override createStoreWritableStream (pc: assoc.PresentationContext, request: requests.CStoreRequest): Writable {
      const ts = pc.getAcceptedTransferSyntaxUid() ?? ''
      const path = join(ctx.tmpDir, `dimse-${toHex(new Uint8Array(randomBytes(12)))}.dcm`)
      const sink = new InstanceSink(path, part10Prefix(request.getAffectedSopClassUid(), request.getAffectedSopInstanceUid(), ts), ts)
      // The library listens for no error on this stream: one here must not become an uncaught exception.
      sink.on('error', (err) => {
        sink.failed = true
        ctx.logger.error({ err: { code: (err as NodeJS.ErrnoException).code } }, 'could not write a received instance to the temp folder')
      })
      this.#sinks.set(request, sink)
      return sink
    }

    override createDatasetFromStoreWritableStream (writable: Writable, _pc: assoc.PresentationContext, callback: (dataset: InstanceType<typeof Dataset>) => void): void {
      // The data set stays in the file; the request carries an empty one.
      let called = false
      const done = (): void => {
        if (called) return
        called = true
        callback(new Dataset())
      }
      if (writable.writableFinished || writable.destroyed) done()
      else {
        writable.once('finish', done)
        writable.once('close', done)
      }
    }

    override cStoreRequest (request: requests.CStoreRequest, callback: (response: responses.CStoreResponse) => void): void {
      const respond = (outcome: StoreOutcome): void => {
        const response = dimse.responses.CStoreResponse.fromRequest(request)
        response.setStatus(outcome.status)
        if (outcome.comment !== undefined) response.setErrorComment(outcome.comment)
        callback(response)
      }
      const sink = this.#sinks.get(request)
      if (sink === undefined) {
        respond({ status: STORE_STATUS.processingFailure, comment: 'no data set received' })
        return
      }
      if (RETRIEVE_ONLY_SOP_CLASSES.has(request.getAffectedSopClassUid())) {
        rm(sink.path, { force: true }).catch(() => {})
        respond({ status: STORE_STATUS.sopClassNotSupported, comment: 'this peer sends objects of this SOP class but does not store them' })
        return
      }
      const bytes = sink.bytes()
      const instance: ReceivedInstance = { path: sink.path, size: sink.size, sopClassUid: request.getAffectedSopClassUid(), transferSyntaxUid: sink.transferSyntaxUid, ...(bytes === undefined ? {} : { bytes }) }
      if (sink.failed) {
        rm(sink.path, { force: true }).catch(() => {})
        respond({ status: STORE_STATUS.outOfResources, comment: 'the instance could not be written' })
        return
      }
      if (sink.oversized) {
        ctx.logger.warn({ calling: this.#callingAe, size: sink.size }, 'C-STORE refused: instance over the size cap')
        rm(sink.path, { force: true }).catch((err: unknown) => ctx.logger.error({ err }, 'could not remove a refused instance'))
        respond({ status: STORE_STATUS.outOfResources, comment: `instances over ${MAX_INSTANCE_BYTES} bytes are not accepted` })
        return
      }
      ctx.store(instance).then(respond, (err: unknown) => {
        ctx.logger.error({ err }, 'C-STORE failed')
        respond({ status: STORE_STATUS.processingFailure, comment: 'the instance could not be stored' })
      })
    }

    override abort (): void {
      ctx.logger.info({ calling: this.#callingAe }, 'DICOM association aborted by the caller')
    }
  }
}
