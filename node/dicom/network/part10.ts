// The Part 10 prefix of a received instance (PS3.10 §7.1): preamble, 'DICM' and the file meta
// group in explicit VR little endian. C-STORE carries only the data set; the upload pipeline and
// every viewer expect a file, so the SCP writes this prefix and then the data set as received.
import { inflateRawSync } from 'node:zlib'
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION, TS } from '../../imaging/constants.ts'
import { readTransferSyntax } from '../../imaging/dicom/header.ts'
import { MAX_INSTANCE_BYTES } from '../constants.ts'

/** One explicit VR LE element with a short (16-bit) or long (OB: reserved + 32-bit) length. */
function element (group: number, elem: number, vr: string, value: Uint8Array): Uint8Array {
  const long = vr === 'OB'
  const out = new Uint8Array((long ? 12 : 8) + value.length)
  const v = new DataView(out.buffer)
  v.setUint16(0, group, true)
  v.setUint16(2, elem, true)
  out[4] = vr.charCodeAt(0)
  out[5] = vr.charCodeAt(1)
  if (long) v.setUint32(8, value.length, true)
  else v.setUint16(6, value.length, true)
  out.set(value, long ? 12 : 8)
  return out
}

const utf8 = new TextEncoder()

/** A UI or SH value padded to even length (UI with NUL, SH with space; PS3.5 §6.2). */
function text (s: string, pad: number): Uint8Array {
  const bytes = utf8.encode(s)
  if (bytes.length % 2 === 0) return bytes
  const out = new Uint8Array(bytes.length + 1)
  out.set(bytes)
  out[bytes.length] = pad
  return out
}

/** Preamble, prefix and file meta group for an instance of `sopClassUid` in `transferSyntaxUid`. */
export function part10Prefix (sopClassUid: string, sopInstanceUid: string, transferSyntaxUid: string): Uint8Array {
  const body = [
    element(0x0002, 0x0001, 'OB', Uint8Array.of(0, 1)),
    element(0x0002, 0x0002, 'UI', text(sopClassUid, 0)),
    element(0x0002, 0x0003, 'UI', text(sopInstanceUid, 0)),
    element(0x0002, 0x0010, 'UI', text(transferSyntaxUid, 0)),
    element(0x0002, 0x0012, 'UI', text(IMPLEMENTATION_CLASS_UID, 0)),
    element(0x0002, 0x0013, 'SH', text(IMPLEMENTATION_VERSION, 0x20))
  ]
  const bodyLength = body.reduce((n, b) => n + b.length, 0)
  const groupLength = new Uint8Array(4)
  new DataView(groupLength.buffer).setUint32(0, bodyLength, true)
  const parts = [new Uint8Array(128), utf8.encode('DICM'), element(0x0002, 0x0000, 'UL', groupLength), ...body]
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/**
 * A Part 10 file whose data set is deflated (PS3.5 §A.5) rewritten in Explicit VR Little Endian:
 * the same data set, inflated, under a new file meta group. Any other file comes back as it is.
 * For sending: C-GET callers and C-MOVE destinations rarely accept deflate, and the library
 * cannot transcode it. The inflated size is bounded by the instance cap.
 */
export function undeflated (file: Uint8Array, sopClassUid: string, sopInstanceUid: string): Uint8Array {
  if (readTransferSyntax(file) !== TS.deflatedExplicitLittle) return file
  // The data set starts after the meta group: 132 bytes of preamble and prefix, the group length element (12), its value.
  const start = 132 + 12 + new DataView(file.buffer, file.byteOffset + 140, 4).getUint32(0, true)
  const dataSet = new Uint8Array(inflateRawSync(file.subarray(start), { maxOutputLength: MAX_INSTANCE_BYTES }))
  const prefix = part10Prefix(sopClassUid, sopInstanceUid, TS.explicitLittle)
  const out = new Uint8Array(prefix.length + dataSet.length)
  out.set(prefix)
  out.set(dataSet, prefix.length)
  return out
}
