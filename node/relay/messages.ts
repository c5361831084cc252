// The frames of `/medichain/sign-in/1.0.0`: one request and one answer per stream, canonical
// dag-cbor, checked field by field at the boundary. A sign-in carries the browser's sealed proof
// (opaque to the visited hospital) and the visited hospital's throttling key of its client; the
// other requests name a grant, the home hospital's random handle of one relayed session.
import { decode, encode } from '../../protocol/codec.ts'
import { SchemaError } from '../../protocol/errors.ts'
import { expectArray, expectBytes, expectEnum, expectFields, expectString, expectUint } from '../../protocol/schema.ts'
import { ROLES } from '../../protocol/chain/tx.ts'
import type { Role } from '../../protocol/chain/tx.ts'
import { SIGN_INS_LISTED } from './constants.ts'

/** Bytes of a grant: 256 random bits, like a session token. */
export const GRANT_BYTES = 32

/** What a visited hospital asks. */
export type RelayRequest =
  | { t: 'sign-in', proof: Uint8Array, client: string }
  | { t: 'check', grant: Uint8Array }
  | { t: 'sign-ins', grant: Uint8Array }
  | { t: 'end', grant: Uint8Array }
  /** From a home hospital to a visited one: end the session of the grant whose SHA-256 this is. */
  | { t: 'revoke', grantHash: Uint8Array }

/** The public side of the account the home hospital signed in. */
export interface RelayAccount { username: string, role: Role, signPub: Uint8Array, boxPub: Uint8Array }

/** What the home hospital answers. */
export type RelayAnswer =
  | { t: 'signed-in', grant: Uint8Array, account: RelayAccount, reply: Uint8Array }
  | { t: 'live', live: boolean }
  | { t: 'sign-ins', entries: Array<{ via: Uint8Array, time: number }> }
  | { t: 'ended' }
  | { t: 'refused', code: typeof REFUSAL_CODES[number], retryAfter: number }

/** Codes a home hospital may refuse with; anything else is a protocol error. */
export const REFUSAL_CODES = ['BAD_CREDENTIALS', 'RATE_LIMITED', 'ACCOUNT_LOCKED', 'ACCOUNT_PENDING', 'PATIENTS_ONLY', 'BAD_RELAY_PROOF', 'UNAVAILABLE'] as const

export function encodeRequest (r: RelayRequest): Uint8Array {
  return encode(r)
}

export function encodeAnswer (a: RelayAnswer): Uint8Array {
  return encode(a)
}

/** Checks a request frame; SchemaError (BAD_SCHEMA) or EncodingError for anything else. */
export function decodeRequest (bytes: Uint8Array): RelayRequest {
  const v = decode(bytes)
  const t = expectEnum(expectFields(v, 'request', ['t'], ['proof', 'client', 'grant', 'grantHash']).t, 'request.t', ['sign-in', 'check', 'sign-ins', 'end', 'revoke'] as const)
  if (t === 'revoke') {
    const f = expectFields(v, 'request', ['t', 'grantHash'])
    return { t, grantHash: expectBytes(f.grantHash, 'request.grantHash', 32) }
  }
  if (t === 'sign-in') {
    const f = expectFields(v, 'request', ['t', 'proof', 'client'])
    return { t, proof: expectBytes(f.proof, 'request.proof', undefined, 8192), client: expectString(f.client, 'request.client', 128) }
  }
  const f = expectFields(v, 'request', ['t', 'grant'])
  return { t, grant: expectBytes(f.grant, 'request.grant', GRANT_BYTES) }
}

/** Checks an answer frame; SchemaError (BAD_SCHEMA) or EncodingError for anything else. */
export function decodeAnswer (bytes: Uint8Array): RelayAnswer {
  const v = decode(bytes)
  const t = expectEnum(expectFields(v, 'answer', ['t'], ['grant', 'account', 'reply', 'live', 'entries', 'code', 'retryAfter']).t, 'answer.t', ['signed-in', 'live', 'sign-ins', 'ended', 'refused'] as const)
  switch (t) {
    case 'signed-in': {
      const f = expectFields(v, 'answer', ['t', 'grant', 'account', 'reply'])
      const a = expectFields(f.account, 'answer.account', ['username', 'role', 'signPub', 'boxPub'])
      return {
        t,
        grant: expectBytes(f.grant, 'answer.grant', GRANT_BYTES),
        account: { username: expectString(a.username, 'account.username', 64), role: expectEnum(a.role, 'account.role', ROLES), signPub: expectBytes(a.signPub, 'account.signPub', 32), boxPub: expectBytes(a.boxPub, 'account.boxPub', 32) },
        reply: expectBytes(f.reply, 'answer.reply', undefined, 32 * 1024)
      }
    }
    case 'live': {
      const f = expectFields(v, 'answer', ['t', 'live'])
      if (typeof f.live !== 'boolean') throw new SchemaError('answer.live: expected a boolean')
      return { t, live: f.live }
    }
    case 'sign-ins': {
      const f = expectFields(v, 'answer', ['t', 'entries'])
      return {
        t,
        entries: expectArray(f.entries, 'answer.entries', SIGN_INS_LISTED, (e, p) => {
          const x = expectFields(e, p, ['via', 'time'])
          return { via: expectBytes(x.via, `${p}.via`, 32), time: expectUint(x.time, `${p}.time`) }
        })
      }
    }
    case 'ended':
      expectFields(v, 'answer', ['t'])
      return { t }
    case 'refused': {
      const f = expectFields(v, 'answer', ['t', 'code', 'retryAfter'])
      return { t, code: expectEnum(f.code, 'answer.code', REFUSAL_CODES), retryAfter: expectUint(f.retryAfter, 'answer.retryAfter', 86_400) }
    }
  }
}
