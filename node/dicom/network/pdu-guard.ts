// A check of the PDU framing in front of dcmjs-dimse, written by hand where the library fails: it
// buffers any PDU whatever its declared length (a 4 GiB length field makes it accumulate until
// memory runs out), takes P-DATA before any association, and accepts an A-ASSOCIATE-RQ whose items
// run past its end. This reads the 6-byte PDU headers (PS3.8 §9.3.1) of the byte stream and the
// item framing of the A-ASSOCIATE-RQ (§9.3.2), and names the first violation, so the server can
// abort before the library sees the offending bytes.
import { MAX_ASSOCIATE_RQ_BYTES, PDU } from '../constants.ts'

/** Why a stream was cut: the A-ABORT reason of PS3.8 table 9-26 it maps to, for the log. */
export type PduViolation = 'unknown-pdu-type' | 'unexpected-pdu' | 'pdu-too-large' | 'malformed-pdu'

/** Limits of one association's incoming PDUs. */
export interface PduGuardLimits {
  /** Largest variable field of a P-DATA-TF (the max PDU length we announce). */
  maxPdu: number
}

/** Follows PDU boundaries across TCP chunks; `push` returns the first violation seen, if any. */
export class PduGuard {
  readonly #limits: PduGuardLimits
  /** Bytes of the current PDU's body still to skip. */
  #remaining = 0
  /** Bytes of a header split across chunks. */
  #header: number[] = []
  #associated = false
  /** The A-ASSOCIATE-RQ body while it arrives (it is small and checked whole). */
  #rq: number[] | undefined

  constructor (limits: PduGuardLimits) {
    this.#limits = limits
  }

  /** Feeds one chunk of the incoming stream. */
  push (chunk: Uint8Array): PduViolation | undefined {
    let i = 0
    while (i < chunk.length) {
      if (this.#remaining > 0) {
        const skip = Math.min(this.#remaining, chunk.length - i)
        if (this.#rq !== undefined) {
          for (let k = i; k < i + skip; k++) this.#rq.push(chunk[k])
          if (this.#remaining === skip) {
            const body = Uint8Array.from(this.#rq)
            this.#rq = undefined
            if (!wellFramedAssociateRq(body)) return 'malformed-pdu'
          }
        }
        this.#remaining -= skip
        i += skip
        continue
      }
      this.#header.push(chunk[i])
      i++
      if (this.#header.length < 6) continue
      const [type, , a, b, c, d] = this.#header
      this.#header = []
      const length = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d
      const violation = this.#check(type, length)
      if (violation !== undefined) return violation
      this.#remaining = length
      if (type === PDU.associateRq && length > 0) this.#rq = []
      else if (type === PDU.associateRq) return 'malformed-pdu'
    }
    return undefined
  }

  #check (type: number, length: number): PduViolation | undefined {
    if (type < PDU.associateRq || type > PDU.abort) return 'unknown-pdu-type'
    if (!this.#associated) {
      // The first PDU an acceptor may receive is A-ASSOCIATE-RQ (PS3.8 §9.2, state Sta2).
      if (type !== PDU.associateRq) return 'unexpected-pdu'
      if (length > MAX_ASSOCIATE_RQ_BYTES) return 'pdu-too-large'
      this.#associated = true
      return undefined
    }
    if (type === PDU.associateRq || type === PDU.associateAc || type === PDU.associateRj) return 'unexpected-pdu'
    if (type === PDU.pData && length > this.#limits.maxPdu) return 'pdu-too-large'
    if (type !== PDU.pData && length > 1024) return 'pdu-too-large'
    return undefined
  }
}

/** Items of a list that tile `bytes[from..to)` exactly: [type, start, end] of each, or undefined. */
function items (bytes: Uint8Array, from: number, to: number): Array<[number, number, number]> | undefined {
  const out: Array<[number, number, number]> = []
  let at = from
  while (at < to) {
    if (at + 4 > to) return undefined
    const len = (bytes[at + 2] << 8) | bytes[at + 3]
    if (at + 4 + len > to) return undefined
    out.push([bytes[at], at + 4, at + 4 + len])
    at += 4 + len
  }
  return out
}

/**
 * Whether an A-ASSOCIATE-RQ body (PS3.8 §9.3.2) is well framed: the fixed 68 bytes, then items
 * that end exactly at its end, one application context, at least one presentation context with
 * one abstract syntax and at least one transfer syntax, and a user information item.
 */
export function wellFramedAssociateRq (body: Uint8Array): boolean {
  if (body.length < 68) return false
  const list = items(body, 68, body.length)
  if (list === undefined) return false
  let contexts = 0
  let appContexts = 0
  let userInfo = 0
  for (const [type, start, end] of list) {
    if (type === 0x10) appContexts++
    else if (type === 0x50) {
      userInfo++
      if (items(body, start, end) === undefined) return false
    } else if (type === 0x20) {
      contexts++
      if (end - start < 4) return false
      const sub = items(body, start + 4, end)
      if (sub === undefined) return false
      if (sub.filter(([t]) => t === 0x30).length !== 1 || !sub.some(([t]) => t === 0x40)) return false
    } else return false
  }
  return appContexts === 1 && contexts >= 1 && userInfo === 1
}
