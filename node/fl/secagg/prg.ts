// The pseudo-random generator that expands a 32-byte seed into a mask: the AES-256-CTR keystream
// (NIST SP 800-38A §6.5) under HKDF(seed, round context, purpose), read as little-endian uint32s.
// The round context binds every mask to one consortium, task and round, so no mask is ever reused.
import { createCipheriv } from 'node:crypto'
import { concat, utf8 } from '../../../protocol/bytes.ts'
import { deriveKey } from './keys.ts'

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** The bytes that tie keys and masks to one round: ledger id ‖ 0x00 ‖ task ‖ 0x00 ‖ round (uint32 BE). */
export function roundContext (ledgerId: Uint8Array, task: string, round: number): Uint8Array {
  const r = new Uint8Array(4)
  new DataView(r.buffer).setUint32(0, round)
  return concat(ledgerId, new Uint8Array([0]), utf8(task), new Uint8Array([0]), r)
}

/** `length` pseudo-random uint32s from `seed`, for `purpose` (an HKDF info string) in `context`. */
export function expand (seed: Uint8Array, context: Uint8Array, purpose: string, length: number): Uint32Array {
  const key = deriveKey(seed, context, purpose)
  const cipher = createCipheriv('aes-256-ctr', key, new Uint8Array(16))
  const stream = new Uint8Array(cipher.update(new Uint8Array(length * 4)))
  if (LITTLE_ENDIAN) return new Uint32Array(stream.buffer, stream.byteOffset, length)
  const out = new Uint32Array(length)
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength)
  for (let i = 0; i < length; i++) out[i] = view.getUint32(i * 4, true)
  return out
}
