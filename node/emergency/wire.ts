// The frames of `/medichain/emergency/1.0.0` (node/emergency/service.ts): one request from the
// declaring clinician's hospital, one answer from a custodian, each a length-prefixed dag-cbor
// value checked at the boundary. The reason travels only here, between the two hospitals.
import type { CID } from 'multiformats/cid'
import { decode, encode } from '../../protocol/codec.ts'
import { ED25519_PUBLIC_KEY_BYTES, HASH_BYTES } from '../../protocol/constants.ts'
import { expectArray, expectBytes, expectCid, expectEnum, expectFields, expectString, expectUint, nullable } from '../../protocol/schema.ts'

/** The protocol id. */
export const EMERGENCY_PROTOCOL = '/medichain/emergency/1.0.0'

/** Largest frame: 64 images' keys (two sealed boxes of 80 bytes each) and their CIDs fit well within. */
export const EMERGENCY_MAX_FRAME_BYTES = 64 * 1024

/** Most images one answer carries. */
const MAX_IMAGES = 256

/** One image's data keys, sealed for the asking hospital's peer. */
export interface ReleasedImage { raw: CID, raw_key: Uint8Array, result_key: Uint8Array | null }

/** The custodian's answer: the release, or a refusal with its stable code. */
export type EmergencyAnswer =
  | { ok: true, until: number, access: Uint8Array, images: ReleasedImage[] }
  | { ok: false, code: string, message: string, retryAfter: number | null }

/** Encodes the declaring hospital's request. */
export function encodeRequest (req: { patient: Uint8Array, clinician: Uint8Array, reason: string }): Uint8Array {
  return encode(req)
}

/** Decodes and checks a request. */
export function decodeRequest (bytes: Uint8Array): { patient: Uint8Array, clinician: Uint8Array, reason: string } {
  const f = expectFields(decode(bytes), 'request', ['patient', 'clinician', 'reason'])
  return { patient: expectBytes(f.patient, 'request.patient', HASH_BYTES), clinician: expectBytes(f.clinician, 'request.clinician', ED25519_PUBLIC_KEY_BYTES), reason: expectString(f.reason, 'request.reason', 4000, 10) }
}

/** Encodes an answer. */
export function encodeAnswer (a: EmergencyAnswer): Uint8Array {
  return encode(a.ok ? a : { ok: false, code: a.code, message: a.message, retryAfter: a.retryAfter })
}

/** Decodes and checks an answer. */
export function decodeAnswer (bytes: Uint8Array): EmergencyAnswer {
  const v = decode(bytes)
  const ok = expectFields(v, 'answer', ['ok'], ['until', 'access', 'images', 'code', 'message', 'retryAfter']).ok
  if (ok === true) {
    const f = expectFields(v, 'answer', ['ok', 'until', 'access', 'images'])
    return {
      ok: true,
      until: expectUint(f.until, 'answer.until'),
      access: expectBytes(f.access, 'answer.access', HASH_BYTES),
      images: expectArray(f.images, 'answer.images', MAX_IMAGES, (x, p) => {
        const g = expectFields(x, p, ['raw', 'raw_key', 'result_key'])
        return { raw: expectCid(g.raw, `${p}.raw`), raw_key: expectBytes(g.raw_key, `${p}.raw_key`, undefined, 256), result_key: nullable(g.result_key, `${p}.result_key`, (y, q) => expectBytes(y, q, undefined, 256)) }
      })
    }
  }
  const f = expectFields(v, 'answer', ['ok', 'code', 'message', 'retryAfter'])
  expectEnum(String(f.ok), 'answer.ok', ['false'])
  return { ok: false, code: expectString(f.code, 'answer.code', 64), message: expectString(f.message, 'answer.message', 512), retryAfter: nullable(f.retryAfter, 'answer.retryAfter', (y, q) => expectUint(y, q)) }
}
