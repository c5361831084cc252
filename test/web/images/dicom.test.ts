// The browser's DICOM reader (web/src/lib/images/dicom.ts) on files from our writer in both native
// transfer syntaxes, on an undefined-length sequence before the pixels, and against the peer's
// own decoder (dicom-parser); every refusal has its case: no DICM, truncation, a compressed or
// big-endian syntax, colour, 32-bit samples, a short frame, impossible bit layouts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import type { DicomWriteInit } from '../../../node/imaging/dicom/write.ts'
import { parseDicomFile, readHeader } from '../../../node/imaging/dicom/header.ts'
import { EXPLICIT_LE, parseDicom } from '../../../web/src/lib/images/dicom.ts'
import { throwsCode } from '../../helpers/assert.ts'

const PIXELS = Uint16Array.from({ length: 6 * 4 }, (_, i) => (i * 170) & 0x0fff)

function file (over: Partial<DicomWriteInit> = {}): Uint8Array {
  return encodeDicom({
    rows: 4,
    columns: 6,
    bitsAllocated: 16,
    bitsStored: 12,
    pixels: PIXELS,
    modality: 'CT',
    rescale: { slope: 1, intercept: -1024 },
    window: { center: 40, width: 400 },
    sopInstanceUid: '2.25.1',
    studyInstanceUid: '2.25.2',
    seriesInstanceUid: '2.25.3',
    patient: { name: 'SYNTH^WEB', id: 'W1', birthDate: '19700101' },
    ...over
  })
}

/** Offset of the data set: after the preamble, 'DICM' and the file meta group (its length is at 140). */
function dataSetStart (bytes: Uint8Array): number {
  return 132 + 12 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(140, true)
}

function splice (bytes: Uint8Array, at: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + insert.length)
  out.set(bytes.subarray(0, at), 0)
  out.set(insert, at)
  out.set(bytes.subarray(at), at + insert.length)
  return out
}

/** Explicit VR LE: (0008,1140) SQ of undefined length, one undefined-length item holding one UI, then the delimiters. */
function undefinedLengthSequence (): Uint8Array {
  const le = (v: number, bytes: 2 | 4): number[] => Array.from({ length: bytes }, (_, i) => (v >>> (8 * i)) & 0xff)
  const tag = (group: number, element: number): number[] => [...le(group, 2), ...le(element, 2)]
  const uid = [...new TextEncoder().encode('1.2.3'), 0]
  return Uint8Array.from([
    ...tag(0x0008, 0x1140), 0x53, 0x51, 0, 0, ...le(0xffffffff, 4), // SQ, undefined length
    ...tag(0xfffe, 0xe000), ...le(0xffffffff, 4), // item, undefined length
    ...tag(0x0008, 0x1150), 0x55, 0x49, ...le(uid.length, 2), ...uid, // UI inside the item
    ...tag(0xfffe, 0xe00d), ...le(0, 4), // item delimitation
    ...tag(0xfffe, 0xe0dd), ...le(0, 4) // sequence delimitation
  ])
}

test('explicit VR little endian: layout, rescale, window, modality and the first frame', () => {
  const d = parseDicom(file())
  assert.is(d.rows, 4)
  assert.is(d.columns, 6)
  assert.is(d.bitsAllocated, 16)
  assert.is(d.bitsStored, 12)
  assert.is(d.highBit, 11)
  assert.is(d.signed, false)
  assert.is(d.photometric, 'MONOCHROME2')
  assert.is(d.slope, 1)
  assert.is(d.intercept, -1024)
  assert.equal(d.window, { center: 40, width: 400 })
  assert.is(d.modality, 'CT')
  assert.equal([...d.frame], [...PIXELS])
})

test('implicit VR little endian gives the same image', () => {
  const a = parseDicom(file())
  const b = parseDicom(file({ transferSyntax: 'implicit' }))
  assert.equal({ ...b, frame: [...b.frame] }, { ...a, frame: [...a.frame] })
})

test('agrees with the peer\'s decoder (dicom-parser) on a signed 8-bit MONOCHROME1 file', () => {
  const bytes = file({ bitsAllocated: 8, bitsStored: 8, pixels: Int8Array.from({ length: 24 }, (_, i) => i * 9 - 100), photometric: 'MONOCHROME1', window: undefined, rescale: { slope: 2, intercept: 5 } })
  const ours = parseDicom(bytes)
  const parsed = parseDicomFile(bytes, { headerOnly: true, requireNative: true })
  const theirs = readHeader(parsed.dataSet, parsed.transferSyntax)
  assert.is(ours.rows, theirs.rows)
  assert.is(ours.columns, theirs.columns)
  assert.is(ours.bitsStored, theirs.bitsStored)
  assert.is(ours.signed, theirs.pixelRepresentation === 1)
  assert.is(ours.photometric, theirs.photometric)
  assert.is(ours.slope, theirs.slope)
  assert.is(ours.intercept, theirs.intercept)
  assert.is(ours.window, null)
})

test('skips an undefined-length sequence before the pixel data', () => {
  const plain = file()
  const d = parseDicom(splice(plain, dataSetStart(plain), undefinedLengthSequence()))
  assert.equal([...d.frame], [...PIXELS])
  assert.is(d.rows, 4)
})

test('a 16-bit frame at an odd offset is copied, not misread', () => {
  const plain = file()
  // An odd-length private OB element before everything moves the pixel data to an odd offset.
  const odd = Uint8Array.from([0x09, 0x00, 0x10, 0x00, 0x4f, 0x42, 0, 0, 3, 0, 0, 0, 1, 2, 3])
  const d = parseDicom(splice(plain, dataSetStart(plain), odd))
  assert.equal([...d.frame], [...PIXELS])
})

test('refuses: no DICM, truncated, compressed, big endian, colour, 32-bit, short frame, bad bit layout', () => {
  const good = file()
  throwsCode(() => parseDicom(new Uint8Array(200)), 'CORRUPT_IMAGE')
  throwsCode(() => parseDicom(good.subarray(0, 140)), 'CORRUPT_IMAGE')
  throwsCode(() => parseDicom(good.subarray(0, dataSetStart(good) + 30)), 'CORRUPT_IMAGE')
  throwsCode(() => parseDicom(good.subarray(0, good.length - 4)), 'CORRUPT_IMAGE')
  throwsCode(() => parseDicom(file({ encapsulated: { transferSyntaxUid: '1.2.840.10008.1.2.4.50', frames: [new Uint8Array([0xff, 0xd8, 0xff, 0xd9])] } })), 'UNSUPPORTED_TRANSFER_SYNTAX')
  const bigEndian = new TextDecoder('latin1').decode(good).replace(EXPLICIT_LE + '\0', '1.2.840.10008.1.2.2')
  throwsCode(() => parseDicom(Uint8Array.from(bigEndian, c => c.charCodeAt(0))), 'UNSUPPORTED_TRANSFER_SYNTAX')
  const rgb = new TextDecoder('latin1').decode(good).replace('MONOCHROME2', 'RGB        ')
  throwsCode(() => parseDicom(Uint8Array.from(rgb, c => c.charCodeAt(0))), 'UNSUPPORTED_PIXEL_FORMAT')
  throwsCode(() => parseDicom(patchUs(good, 0x0100, 32)), 'UNSUPPORTED_PIXEL_FORMAT')
  throwsCode(() => parseDicom(patchUs(good, 0x0101, 13).subarray(0)), 'CORRUPT_IMAGE') // high bit 11 < bits stored 13 − 1
  throwsCode(() => parseDicom(patchUs(good, 0x0010, 400)), 'CORRUPT_IMAGE') // 400 rows: more than the pixel data holds
})

/** Rewrites the US value of (0028,element) in an explicit VR file. */
function patchUs (bytes: Uint8Array, element: number, value: number): Uint8Array {
  const out = bytes.slice()
  for (let i = 132; i + 10 <= out.length; i += 2) {
    if (out[i] === 0x28 && out[i + 1] === 0x00 && out[i + 2] === (element & 0xff) && out[i + 3] === element >> 8 && out[i + 4] === 0x55 && out[i + 5] === 0x53) {
      out[i + 8] = value & 0xff
      out[i + 9] = value >> 8
      return out
    }
  }
  throw new Error(`no (0028,${element.toString(16)}) in the file`)
}

test.run()
