// The abnormal-region mask inside a result PNG (node/imaging/derived/result-mask.ts): bits packed as DICOM
// packs 1-bit pixels (PS3.5 §8.1.1, first pixel in the least significant bit), a private ancillary
// chunk every PNG reader skips, and a chunk that is corrupt, truncated or of another size refused.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PNG } from 'pngjs'
import { encodePng } from '../../../node/imaging/raster/encode.ts'
import { hasResultMask, maskBit, packMask, readResultMask, RESULT_MASK_CHUNK, withResultMask } from '../../../node/imaging/derived/result-mask.ts'
import { throwsCode } from '../../helpers/assert.ts'

const W = 13
const H = 7
const labels = Int32Array.from({ length: W * H }, (_, i) => (i % 5 === 0 || i === W * H - 1) ? (i % 3) + 1 : 0)
const rgba = Uint8Array.from({ length: W * H * 4 }, (_, i) => (i * 37) & 255)
const plain = encodePng(rgba, W, H, 4)

test('bits are packed first pixel in bit 0, as PS3.5 §8.1.1 packs 1-bit pixel data', () => {
  const m = packMask([1, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0], 11, 1)
  assert.equal([...m.bits], [0x01, 0x02])
  assert.ok(maskBit(m, 0) && maskBit(m, 9) && !maskBit(m, 10))
  throwsCode(() => packMask([1, 0, 1], 2, 2), 'CORRUPT_IMAGE')
})

test('a mask rides in the PNG: read back bit for bit, and the image itself unchanged for a PNG reader', () => {
  const mask = packMask(labels, W, H)
  const png = withResultMask(plain, mask)
  assert.ok(hasResultMask(png))
  assert.not.ok(hasResultMask(plain))
  assert.is(readResultMask(plain), undefined, 'a PNG without the chunk carries no mask')
  const back = readResultMask(png)
  assert.ok(back !== undefined)
  assert.equal([back.width, back.height], [W, H])
  for (let i = 0; i < W * H; i++) assert.is(maskBit(back, i), labels[i] !== 0)
  const decoded = PNG.sync.read(Buffer.from(png))
  assert.equal(new Uint8Array(decoded.data), rgba, 'pngjs skips the private chunk and reads the same pixels')
  // The chunk sits before IEND, named as a private, ancillary, safe-to-copy chunk.
  const at = Buffer.from(png).indexOf(RESULT_MASK_CHUNK)
  assert.ok(at > 0 && at < png.length - 12)
  assert.ok(RESULT_MASK_CHUNK[0] === RESULT_MASK_CHUNK[0].toLowerCase() && RESULT_MASK_CHUNK[1] === RESULT_MASK_CHUNK[1].toLowerCase())
})

test('a corrupt mask chunk is refused with CORRUPT_IMAGE, never read as another mask', () => {
  const png = withResultMask(plain, packMask(labels, W, H))
  const at = Buffer.from(png).indexOf(RESULT_MASK_CHUNK) + 4
  // A flipped bit in the data: the CRC catches it.
  const flipped = png.slice()
  flipped[at + 12] ^= 0x10
  throwsCode(() => readResultMask(flipped), 'CORRUPT_IMAGE')
  // A chunk whose length runs past the end of the file.
  throwsCode(() => readResultMask(png.subarray(0, at + 6)), 'CORRUPT_IMAGE')
  // A chunk that claims another size than its bits inflate to (CRC made right, so only the size check stands).
  const wrongSize = withResultMask(plain, { width: W + 1, height: H, bits: packMask(labels, W, H).bits })
  throwsCode(() => readResultMask(wrongSize), 'CORRUPT_IMAGE')
  // A PNG cut before its IEND gets no chunk.
  throwsCode(() => withResultMask(plain.subarray(0, plain.length - 12), packMask(labels, W, H)), 'CORRUPT_IMAGE')
})

test.run()
