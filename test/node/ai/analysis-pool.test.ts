// The analysis worker pool (issue 13 item 6): the same result as detect-strange on the main
// thread for the same image (PNG bytes, score, boxes, model CID), with batches of several images
// per predict call, after a worker is killed mid-analysis, and refusals once closed.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { availableParallelism } from 'node:os'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type { Analyser, AnalysisResult } from '../../../node/analysis/analyser.ts'
import { AnalyserSlot } from '../../../node/analysis/analyser.ts'
import { createAnalysisPool, defaultAnalysisWorkers } from '../../../node/ai/detect/analysis-pool.ts'
import type { AnalysisPool } from '../../../node/ai/detect/analysis-pool.ts'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { createDetectStrange } from '../../../node/ai/detect/detect.ts'
import { loadWeights, serializeWeights, createModel } from '../../../node/ai/model/model.ts'
import type { DecodedImage } from '../../../node/imaging/types.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import { rejects } from '../../helpers/assert.ts'

const SIDE = 96
let local: Analyser
let pools: AnalysisPool[] = []

const imageOf = (seed: number, side = SIDE): DecodedImage => {
  const p = generatePhantom(seed, { size: side, lesionCount: 1, contrast: 3 })
  return { format: 'dicom', width: side, height: side, bitsStored: 12, pixels: p.pixels, modality: 'CT' }
}

const same = (a: AnalysisResult, b: AnalysisResult): void => {
  assert.ok(Buffer.from(a.png).equals(Buffer.from(b.png)), 'the result PNGs differ')
  assert.ok(Math.abs(a.score - b.score) < 1e-6, `scores ${a.score} and ${b.score}`)
  assert.equal(a.boxes.length, b.boxes.length)
  a.boxes.forEach((box, i) => {
    assert.equal({ ...box, score: 0 }, { ...b.boxes[i], score: 0 })
    assert.ok(Math.abs(box.score - b.boxes[i].score) < 1e-6)
  })
  assert.ok(a.model.equals(b.model))
}

const pool = (workers: number, batch: number): AnalysisPool => {
  const p = createAnalysisPool({ workers, batch })
  pools.push(p)
  return p
}

test.before(async () => {
  await initBackend({ prefer: 'wasm' })
  // A fixed untrained model (seeded): its output is a deterministic function of the weights.
  const weights = serializeWeights(createModel(7, { inputSize: 32, base: 4, depth: 2 }))
  local = createDetectStrange({ model: loadWeights(weights), modelCid: CID.createV1(raw.code, await sha256.digest(weights)), threshold: 0.2 })
})

test.after.each(async () => {
  for (const p of pools.splice(0)) await p.close()
})

test('default size: every core but one, at least one', () => {
  assert.is(defaultAnalysisWorkers(), Math.max(1, availableParallelism() - 1))
})

test('a pooled analyser gives the main thread\'s result for the same image', async () => {
  const remote = pool(1, 1).offload(local)
  assert.ok(remote !== local && remote.submit !== undefined)
  assert.ok(remote.model.equals(local.model))
  assert.is(remote.inputSize, local.inputSize)
  for (const seed of [3, 4]) {
    const image = imageOf(seed)
    same(await remote.analyse(image), await local.analyse(image))
  }
})

test('batches of several images per predict call give the same results as one at a time', async () => {
  const p = pool(1, 4)
  const remote = p.offload(local)
  const images = [1, 2, 3, 4, 5, 6].map(s => imageOf(s, s % 2 === 0 ? SIDE : 64))
  const results = await Promise.all(images.map(async i => await remote.analyse(i)))
  for (let i = 0; i < images.length; i++) same(results[i], await local.analyse(images[i]))
})

test('a worker killed mid-analysis is replaced and the image is analysed on the new one', async () => {
  const p = pool(1, 2)
  const remote = p.offload(local)
  const images = [11, 12, 13].map(s => imageOf(s))
  const pending = images.map(async i => await remote.analyse(i))
  // The first batch is in the worker (none queued behind it would be dispatched otherwise).
  assert.ok(p.stats().running > 0)
  await p.interrupt()
  const results = await Promise.all(pending)
  assert.ok(p.stats().restarts >= 1)
  for (let i = 0; i < images.length; i++) same(results[i], await local.analyse(images[i]))
})

test('an image whose workers keep dying fails with ANALYSIS_FAILED, and the pool goes on', async () => {
  const p = pool(1, 1)
  const remote = p.offload(local)
  const doomed = remote.analyse(imageOf(21))
  for (let i = 0; i < 3; i++) {
    // Each restart dispatches the image again at once; kill that worker too.
    assert.is(p.stats().running, 1)
    await p.interrupt()
  }
  await rejects(async () => await doomed, 'ANALYSIS_FAILED')
  same(await remote.analyse(imageOf(22)), await local.analyse(imageOf(22)))
})

test('the slot moves every installed analyser into the pool; one without weights stays', async () => {
  const p = pool(1, 1)
  const slot = new AnalyserSlot()
  slot.set(local)
  assert.is(slot.current, local)
  slot.offloadTo(p.offload)
  assert.ok(slot.current?.submit !== undefined, 'the installed analyser moved')
  const plain: Analyser = { model: local.model, analyse: async (i) => await local.analyse(i) }
  slot.set(plain)
  assert.is(slot.current, plain)
})

test('closed: queued work and new work fail with UNAVAILABLE', async () => {
  const p = pool(1, 1)
  const remote = p.offload(local)
  const running = remote.analyse(imageOf(31))
  const queued = remote.analyse(imageOf(32))
  running.catch(() => {})
  queued.catch(() => {})
  await p.close()
  await rejects(async () => await queued, 'UNAVAILABLE')
  await rejects(async () => await remote.analyse(imageOf(33)), 'UNAVAILABLE')
})

test('a pool needs a worker and a batch of at least one', () => {
  assert.throws(() => createAnalysisPool({ workers: 0, batch: 1 }), (e: { code?: string }) => e.code === 'INVALID')
  assert.throws(() => createAnalysisPool({ workers: 1, batch: 0 }), (e: { code?: string }) => e.code === 'INVALID')
})

test.run()
