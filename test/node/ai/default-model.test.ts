// The default detect-strange model that ships with the peer (issue 12: a model out of the box):
// the weights pass the format checks and match the CID on their model card, the card says it is
// not for clinical use, and the model tells phantoms with lesions from clean ones (it was trained
// on such phantoms; held-out figures are on the card), drawing a result image that differs from
// the raw one where it finds a lesion.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { loadDefaultAnalyser, readDefaultModel, weightsCid } from '../../../node/ai/detect/default-model.ts'
import { loadWeights } from '../../../node/ai/model/model.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import type { DecodedImage } from '../../../node/imaging/types.ts'

const SIZE = 128

function image (seed: number, lesionCount: number): DecodedImage {
  const p = generatePhantom(seed, { size: SIZE, lesionCount })
  return { format: 'png', width: SIZE, height: SIZE, bitsStored: 8, pixels: p.pixels, modality: 'OT' }
}

test.before(async () => { await initBackend({ prefer: 'wasm' }) })

test('the shipped weights load, match their card and are marked not for clinical use', async () => {
  const shipped = await readDefaultModel()
  assert.ok(shipped !== undefined, 'node/ai/detect/default-model/ holds the weights and the card')
  assert.is((await weightsCid(shipped.weights)).toString(), shipped.card.weights)
  assert.ok(shipped.weights.length < 1_000_000, 'about half a megabyte of weights')
  assert.match(shipped.card.intendedUse, /NOT for clinical use/)
  loadWeights(shipped.weights).dispose()
})

test('the default model scores phantoms with a lesion above clean ones, and its overlay shows them', async () => {
  const loaded = await loadDefaultAnalyser()
  if (loaded === undefined) throw new Error('no default model')
  const scores = { lesion: [] as number[], clean: [] as number[] }
  let changed = 0
  for (let seed = 900; seed < 912; seed++) {
    const withLesion = await loaded.analyser.analyse(image(seed, 2))
    const clean = await loaded.analyser.analyse(image(seed, 0))
    scores.lesion.push(withLesion.score)
    scores.clean.push(clean.score)
    if (withLesion.boxes.length > 0) changed++
  }
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length
  assert.ok(mean(scores.lesion) > mean(scores.clean) + 0.1, `lesion ${mean(scores.lesion).toFixed(3)} vs clean ${mean(scores.clean).toFixed(3)}`)
  assert.ok(changed >= 6, `lesions found in ${changed} of 12 phantoms with two lesions`)
})

test.run()
