// The decode pool: real worker threads decode exactly what loadImage decodes and prepare the
// model input as the main thread would, pass the loaders' codes through, bound the waiting
// callers (the next one is refused at once with DECODE_BUSY and served once a slot frees), and
// refuse work once closed.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { imageToInput } from '../../../node/ai/model/preprocess.ts'
import { createDecodePool } from '../../../node/imaging/pool/decode-pool.ts'
import type { DecodePool } from '../../../node/imaging/pool/decode-pool.ts'
import { DEFAULT_LIMITS } from '../../../node/imaging/limits.ts'
import { loadImage } from '../../../node/imaging/load.ts'
import type { DecodedImage } from '../../../node/imaging/types.ts'
import { rejects } from '../../helpers/assert.ts'
import { jpegBomb, pngBomb } from '../../helpers/imaging/bombs.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'

let pool: DecodePool | null = null
test.after.each(async () => {
  await pool?.close()
  pool = null
  await cleanup()
})

const files = testImages()

test('workers decode files and bytes exactly as loadImage does; the codes pass through', async () => {
  pool = createDecodePool({ workers: 2, queue: 4, limits: DEFAULT_LIMITS })
  const dir = await tempDir('medichain-pool-')
  const path = join(dir, 'scan.dcm')
  await writeFile(path, files.dicom)
  const fromFile = await pool.withImage({ path }, async image => image)
  const fromBytes = await pool.withImage({ bytes: files.png, format: 'png' }, async image => image)
  const same = (a: DecodedImage, b: DecodedImage): void => {
    assert.equal({ ...a, pixels: null }, { ...b, pixels: null })
    assert.equal(Array.from(a.pixels), Array.from(b.pixels))
  }
  same(fromFile, loadImage(files.dicom))
  same(fromBytes, loadImage(files.png))
  // The model's preprocessing runs in the worker too, and matches the main thread's.
  const input = await pool.withImage({ bytes: files.png, modelInput: 32 }, async (_image, prepared) => prepared)
  assert.equal(Array.from(input ?? []), Array.from(imageToInput(loadImage(files.png), 32)))
  await rejects(async () => await pool?.withImage({ bytes: pngBomb(8192) }, async image => image), 'PIXEL_BUDGET')
  await rejects(async () => await pool?.withImage({ bytes: jpegBomb(8192) }, async image => image), 'PIXEL_BUDGET')
  await rejects(async () => await pool?.withImage({ bytes: files.png, format: 'jpeg' }, async image => image), 'UNSUPPORTED_FORMAT')
  await rejects(async () => await pool?.withImage({ path: join(dir, 'gone.png') }, async image => image), 'INTERNAL')
  assert.equal(pool.stats(), { workers: 2, busy: 0, queued: 0 })
})

test('past the workers and the queue a caller is refused at once with DECODE_BUSY, then served when a slot frees', async () => {
  const p = createDecodePool({ workers: 1, queue: 1, limits: DEFAULT_LIMITS })
  pool = p
  let release = (): void => {}
  const held = new Promise<void>(resolve => { release = resolve })
  let entered = (): void => {}
  const inside = new Promise<void>(resolve => { entered = resolve })
  // The first caller holds the only slot through its "analysis"; the second waits in the queue.
  const first = p.withImage({ bytes: files.png }, async (image) => { entered(); await held; return image.width })
  await inside
  const second = p.withImage({ bytes: files.jpeg }, async image => image.width)
  assert.equal(p.stats(), { workers: 1, busy: 1, queued: 1 })
  await rejects(async () => await p.withImage({ bytes: files.dicom }, async image => image.width), 'DECODE_BUSY')
  release()
  assert.equal(await Promise.all([first, second]), [64, 64])
  assert.equal(p.stats(), { workers: 1, busy: 0, queued: 0 })
})

test('input that cannot reach a worker fails alone; a closed pool is UNAVAILABLE', async () => {
  const p = createDecodePool({ workers: 1, queue: 0, limits: DEFAULT_LIMITS })
  pool = p
  p.start()
  // A detached buffer cannot be cloned into the worker: the post fails for this job alone.
  const bytes = new Uint8Array(16)
  structuredClone(bytes.buffer, { transfer: [bytes.buffer] })
  await rejects(async () => await p.withImage({ bytes }, async image => image), 'INVALID')
  assert.is((await p.withImage({ bytes: files.png }, async image => image)).width, 64)
  await p.close()
  await rejects(async () => await p.withImage({ bytes: files.png }, async image => image), 'UNAVAILABLE')
})

test.run()
