// Byte helpers that behave the same in Node and in browsers: hex, utf-8, concat, compare.

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

interface NodeBufferLike { from(buf: ArrayBufferLike, offset: number, length: number): { toString(enc: 'hex'): string } }
/** Node's Buffer when present (native hex, several times faster); absent in browsers. */
const NodeBuffer = (globalThis as { Buffer?: NodeBufferLike }).Buffer

/** Lower-case hex of bytes. */
export function toHex (bytes: Uint8Array): string {
  if (NodeBuffer !== undefined) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
  let out = ''
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]]
  return out
}

/** Bytes of a hex string; throws on odd length or a non-hex digit. */
export function fromHex (hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError(`expected an even-length hex string, got ${hex.length} characters`)
  }
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

const encoder = new TextEncoder()

/** UTF-8 bytes of a string. */
export function utf8 (s: string): Uint8Array {
  return encoder.encode(s)
}

/** One array holding all the parts in order. */
export function concat (...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/** True when both arrays hold the same bytes. Not constant-time: use only on public data. */
export function equals (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Lexicographic comparison of two byte arrays: negative, zero or positive. */
export function compare (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

/** The same bytes typed as WebCrypto's BufferSource wants (a view on a plain ArrayBuffer). */
export function bufferSource (b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b.buffer instanceof ArrayBuffer ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b)
}
