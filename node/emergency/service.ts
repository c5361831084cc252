// Emergency access across hospitals (issue 16.4, docs/design.md §5 "Emergency access"). A clinician
// at B declares an emergency for a patient whose images are at A. B's peer asks each custodian
// over `/medichain/emergency/1.0.0` (members only, the connection names B). A checks its policy:
// break-glass allowed, the patient's images held here, a clinician of B to whom B's admin gave
// the emergency role (on the ledger), and its limits per clinician and per hospital. A then records
// `emergency.access` (durable before any key leaves), keeps the reason in its own break-glass file,
// and sends the image keys wrapped for B's peer, which re-wraps them for that clinician only until
// the window ends. After the window B opens nothing more, and A releases again only on a new,
// counted declaration.
import { appendFile } from 'node:fs/promises'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import type { CID } from 'multiformats/cid'
import { equals, toHex, utf8 } from '../../protocol/bytes.ts'
import { MedichainError } from '../../protocol/errors.ts'
import { sha256 } from '../../protocol/crypto/hash.ts'
import { hospitalBoxPublicKey } from '../../protocol/crypto/user-keys.ts'
import type { ImageRecord } from '../../ledger/queries/queries.ts'
import type { Clock, Ledger } from '../../ledger/types.ts'
import { RateLimitedError } from '../auth/errors.ts'
import { SlidingWindow } from '../auth/sessions/rate-limit.ts'
import { isMemberPeer } from '../p2p/gater.ts'
import { memberKeyOfPeer, peerIdFromMemberKey } from '../p2p/identity.ts'
import type { Reader } from '../records/access.ts'
import { nodeBoxKeyOf, nodeUnwrapKey, nodeWrapKey } from '../records/node-box.ts'
import type { HospitalBox } from '../records/reader-keys.ts'
import { decodeAnswer, decodeRequest, encodeAnswer, encodeRequest, EMERGENCY_MAX_FRAME_BYTES, EMERGENCY_PROTOCOL } from './wire.ts'
import type { EmergencyAnswer, ReleasedImage } from './wire.ts'

/** How long one exchange with a custodian may take (ms). */
const EXCHANGE_TIMEOUT_MS = 20_000

/** The policy of this hospital as a custodian (config `records`). */
export interface EmergencyPolicy {
  breakGlass: boolean
  windowMs: number
  limitWindowMs: number
  perClinician: number
  perHospital: number
}

/** What the service uses. */
export interface EmergencyComponents {
  ledger: Ledger
  /** libp2p, once started. */
  libp2p: () => Libp2p
  box: HospitalBox
  logger: Logger
  clock: Clock
  /** The hospital's own file of emergency reasons (mode 0600): never the ledger, never the logs. */
  breakGlassLog: string
}

/** Keys one custodian released to this peer for one clinician and patient, until `until`. */
interface Grant { until: number, access: Uint8Array, images: Map<string, { raw: Uint8Array, result: Uint8Array | null }> }

/** The service of one peer: both sides of the exchange. */
export interface Emergencies {
  start(): Promise<void>
  stop(): Promise<void>
  /** B's side: asks every other custodian; resolves once at least one released. */
  declare(reader: Reader, patient: Uint8Array, reason: string): Promise<{ until: number, released: number, hospitals: string[] }>
  /** Keys (wrapped for this hospital) that a live emergency release opens for `reader`, or undefined. */
  keysFor(reader: Reader, image: ImageRecord): { raw: Uint8Array, result: Uint8Array | null } | undefined
}

/** Thrown when a custodian refused a release; `code` is its stable code. */
export class EmergencyRefusedError extends MedichainError {
  readonly retryAfter: number | null
  constructor (code: string, message: string, retryAfter: number | null = null) {
    super(code, message)
    this.name = 'EmergencyRefusedError'
    this.retryAfter = retryAfter
  }
}

/** Creates the emergency service of one peer. */
export function createEmergencies (policy: EmergencyPolicy, c: EmergencyComponents): Emergencies {
  const log = c.logger.child({ component: 'emergency' })
  const myBox = nodeBoxKeyOf(c.box)
  const perClinician = new SlidingWindow({ limit: policy.perClinician, windowMs: policy.limitWindowMs }, c.clock)
  const perHospital = new SlidingWindow({ limit: policy.perHospital, windowMs: policy.limitWindowMs }, c.clock)
  /** Grants held here (B), by clinician and patient, then custodian. */
  const grants = new Map<string, Map<string, Grant>>()
  const grantKey = (clinician: Uint8Array, patient: Uint8Array): string => `${toHex(clinician)}:${toHex(patient)}`
  let controller = new AbortController()
  let running = false
  const io = (): AbortSignal => AbortSignal.any([controller.signal, AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)])
  const frames = (stream: Stream) => lpStream(stream, { maxDataLength: EMERGENCY_MAX_FRAME_BYTES, maxBufferSize: EMERGENCY_MAX_FRAME_BYTES + 16 })

  const refuse = (code: string, message: string, retryAfter: number | null = null): EmergencyAnswer => ({ ok: false, code, message, retryAfter })

  /** A's side: the policy checks, the ledger record, then the keys for B's peer. */
  async function release (requester: Uint8Array, req: { patient: Uint8Array, clinician: Uint8Array, reason: string }): Promise<EmergencyAnswer> {
    if (!policy.breakGlass) return refuse('FORBIDDEN', 'this hospital does not release keys in an emergency')
    const held = (await c.ledger.queries.imagesOf(req.patient)).filter(i => equals(i.custodian, c.ledger.self))
    if (held.length === 0) return refuse('EMERGENCY_NOT_CUSTODIAN', 'this hospital holds none of this patient\'s images')
    const account = await c.ledger.queries.account(req.clinician)
    const role = await c.ledger.queries.emergencies.role(req.clinician)
    if (account?.role !== 'clinician' || !equals(account.hospital, requester) || role?.role !== 'allow' || !equals(role.hospital, requester)) {
      return refuse('EMERGENCY_ROLE', 'the clinician\'s hospital has not given them the emergency role')
    }
    const wait = Math.max(perClinician.retryAfter(toHex(req.clinician)), perHospital.retryAfter(toHex(requester)))
    if (wait > 0) return refuse('RATE_LIMITED', 'too many emergency declarations from this clinician or hospital', Math.ceil(wait / 1000))
    perClinician.hit(toHex(req.clinician))
    perHospital.hit(toHex(requester))
    const until = c.clock() + policy.windowMs
    const loc = await c.ledger.submitOwn('emergency.access', { patient: req.patient, accessor: req.clinician, hospital: requester, until, role: role.tx, reason: sha256(utf8(req.reason)) })
    // The reason may hold clinical detail: it stays in this hospital's own file for the review.
    await appendFile(c.breakGlassLog, JSON.stringify({ at: c.clock(), access: toHex(loc.txId), hospital: toHex(requester), clinician: toHex(req.clinician), patient: toHex(req.patient), reason: req.reason }) + '\n', { mode: 0o600 })
    const to = hospitalBoxPublicKey(requester)
    const rewrap = (wrapped: Uint8Array): Uint8Array => {
      const dataKey = nodeUnwrapKey(wrapped, myBox)
      try {
        return nodeWrapKey(dataKey, to)
      } finally {
        dataKey.fill(0)
      }
    }
    const images: ReleasedImage[] = []
    for (const image of held) {
      const mine = image.keys.find(k => equals(k.to, c.box.publicKey))
      if (mine !== undefined) images.push({ raw: image.raw, raw_key: rewrap(mine.raw), result_key: mine.result === null ? null : rewrap(mine.result) })
    }
    log.warn({ hospital: toHex(requester).slice(0, 16), images: images.length }, 'keys released to another hospital in an emergency')
    return { ok: true, until, access: loc.txId, images }
  }

  const serve = async (stream: Stream, connection: Connection): Promise<void> => {
    const requester = memberKeyOfPeer(connection.remotePeer)
    if (requester === undefined || !isMemberPeer(c.ledger, connection.remotePeer)) {
      stream.abort(new Error('emergency requests are for members only'))
      return
    }
    try {
      const lp = frames(stream)
      const req = decodeRequest((await lp.read({ signal: io() })).subarray())
      let answer: EmergencyAnswer
      try {
        answer = await release(requester, req)
      } catch (err) {
        if (!(err instanceof MedichainError)) log.error({ err }, 'an emergency release failed')
        answer = refuse(err instanceof MedichainError ? err.code : 'INTERNAL', 'the custodian could not release the keys')
      }
      await lp.write(encodeAnswer(answer), { signal: io() })
      await stream.close({ signal: io() })
    } catch (err) {
      if (running) log.debug({ err }, 'an emergency stream failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  async function ask (custodian: Uint8Array, req: { patient: Uint8Array, clinician: Uint8Array, reason: string }): Promise<EmergencyAnswer> {
    let stream: Stream
    try {
      stream = await c.libp2p().dialProtocol(peerIdFromMemberKey(custodian), EMERGENCY_PROTOCOL, { signal: io() })
    } catch (err) {
      return refuse('UNAVAILABLE', `the hospital holding the images could not be reached: ${err instanceof Error ? err.name : 'error'}`)
    }
    try {
      const lp = frames(stream)
      await lp.write(encodeRequest(req), { signal: io() })
      const answer = decodeAnswer((await lp.read({ signal: io() })).subarray())
      await stream.close({ signal: io() })
      return answer
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      return refuse('UNAVAILABLE', 'the exchange with the hospital holding the images failed')
    }
  }

  return {
    async start () {
      if (running) return
      running = true
      controller = new AbortController()
      await c.libp2p().handle(EMERGENCY_PROTOCOL, serve, { maxInboundStreams: 8, maxOutboundStreams: 8 })
    },
    async stop () {
      if (!running) return
      running = false
      controller.abort()
      grants.clear()
      await c.libp2p().unhandle(EMERGENCY_PROTOCOL).catch(() => undefined)
    },
    async declare (reader, patient, reason) {
      if (reader.role !== 'clinician') throw new EmergencyRefusedError('FORBIDDEN', 'only clinicians may declare an emergency')
      const own = await c.ledger.queries.emergencies.role(reader.signPub)
      if (own?.role !== 'allow' || !equals(own.hospital, c.ledger.self)) throw new EmergencyRefusedError('EMERGENCY_ROLE', 'this hospital\'s admin has not given you the emergency role')
      const custodians = new Map<string, Uint8Array>()
      for (const image of await c.ledger.queries.imagesOf(patient)) if (!equals(image.custodian, c.ledger.self)) custodians.set(toHex(image.custodian), image.custodian)
      if (custodians.size === 0) throw new EmergencyRefusedError('EMERGENCY_NOT_CUSTODIAN', 'no other hospital holds images of this patient')
      const req = { patient, clinician: reader.signPub, reason }
      const answers = await Promise.all([...custodians.values()].map(async k => ({ custodian: k, answer: await ask(k, req) })))
      const key = grantKey(reader.signPub, patient)
      const byCustodian = grants.get(key) ?? new Map<string, Grant>()
      const released: string[] = []
      let until = Number.POSITIVE_INFINITY
      for (const { custodian, answer } of answers) {
        if (!answer.ok) continue
        byCustodian.set(toHex(custodian), { until: answer.until, access: answer.access, images: new Map(answer.images.map(i => [i.raw.toString(), { raw: i.raw_key, result: i.result_key }])) })
        released.push(toHex(custodian))
        until = Math.min(until, answer.until)
      }
      if (released.length === 0) {
        const first = answers[0].answer
        if (first.ok) throw new EmergencyRefusedError('INTERNAL', 'no release')
        if (first.code === 'RATE_LIMITED') throw new RateLimitedError(first.retryAfter ?? 60)
        throw new EmergencyRefusedError(first.code, first.message, first.retryAfter)
      }
      grants.set(key, byCustodian)
      log.warn({ clinician: toHex(reader.signPub).slice(0, 16), hospitals: released.length }, 'emergency declared for a patient whose images are at other hospitals')
      return { until, released: released.length, hospitals: released }
    },
    keysFor (reader, image) {
      const grant = grants.get(grantKey(reader.signPub, image.patient))?.get(toHex(image.custodian))
      // When the window ends, nothing more opens: the grant is dropped, not merely ignored.
      if (grant === undefined) return undefined
      if (grant.until <= c.clock()) {
        grants.get(grantKey(reader.signPub, image.patient))?.delete(toHex(image.custodian))
        return undefined
      }
      return grant.images.get((image.raw as CID).toString())
    }
  }
}
