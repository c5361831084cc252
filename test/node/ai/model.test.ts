// The U-Net and its weights: deterministic initialisation, the layout and parameter count, the MCW1
// weights format (round trip with identical predictions, one encoding per set of weights, and a
// negative case per validation rule), setWeights checks, and no tensor leaks.
import * as tf from '@tensorflow/tfjs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { createModel, imageScores, initialWeights, loadWeights, serializeWeights } from '../../../node/ai/model/model.ts'
import { DEFAULT_UNET, parameterCount, parameterLayout, validateConfig } from '../../../node/ai/model/unet-config.ts'
import { decodeWeights, encodeWeights } from '../../../node/ai/model/weights-format.ts'
import { createPrng } from '../../../node/ai/model/prng.ts'
import { throwsCode } from '../../helpers/assert.ts'

const TINY = { inputSize: 32, base: 4, depth: 2 }

test.before(async () => {
  await initBackend({ prefer: 'wasm' })
})

function randomInput (n: number, size: number, seed: number): tf.Tensor4D {
  const prng = createPrng(seed)
  return tf.tensor4d(Float32Array.from({ length: n * size * size }, () => prng.normal()), [n, size, size, 1])
}

test('the default model: 128×128 input, 121,969 parameters in 30 named tensors', () => {
  assert.equal(DEFAULT_UNET, { inputSize: 128, base: 8, depth: 3 })
  const layout = parameterLayout(DEFAULT_UNET)
  assert.is(layout.length, 30)
  assert.equal(layout[0], { name: 'enc0.c1.w', shape: [3, 3, 1, 8] })
  assert.equal(layout[layout.length - 1], { name: 'head.b', shape: [1] })
  assert.ok(layout.some(p => p.name === 'dec0.c1.w' && p.shape.join() === '3,3,24,8'))
  assert.is(parameterCount(DEFAULT_UNET), 121969)
  const model = createModel(1)
  assert.is(model.parameterCount, 121969)
  model.dispose()
})

test('model configs are validated', () => {
  throwsCode(() => validateConfig({ inputSize: 30, base: 4, depth: 2 }), 'INVALID')
  throwsCode(() => validateConfig({ inputSize: 32, base: 0, depth: 2 }), 'INVALID')
  throwsCode(() => validateConfig({ inputSize: 32, base: 4, depth: 6 }), 'INVALID')
  throwsCode(() => validateConfig({ inputSize: 32.5, base: 4, depth: 1 }), 'INVALID')
  throwsCode(() => validateConfig(null), 'INVALID')
  throwsCode(() => createModel(1, { depth: 0 }), 'INVALID')
})

test('initialisation is a function of the seed', () => {
  const a = initialWeights(DEFAULT_UNET, 7)
  const b = initialWeights(DEFAULT_UNET, 7)
  const c = initialWeights(DEFAULT_UNET, 8)
  assert.equal(a.map(w => Array.from(w)), b.map(w => Array.from(w)))
  assert.not.equal(Array.from(a[0]), Array.from(c[0]))
  // He-normal: the first layer's 72 weights have variance near 2 / 9.
  const first = Array.from(a[0])
  const variance = first.reduce((s, v) => s + v * v, 0) / first.length
  assert.ok(variance > 0.1 && variance < 0.4, `variance ${variance}`)
  assert.ok(Array.from(a[1]).every(v => v === 0))
  assert.is(a[a.length - 1][0], -3)
})

test('serialize → load gives identical bytes and identical predictions', () => {
  const model = createModel(11, TINY)
  const bytes = serializeWeights(model)
  assert.equal(Array.from(bytes.subarray(0, 4)), [0x4d, 0x43, 0x57, 0x31])
  const again = loadWeights(bytes)
  assert.equal(again.config, TINY)
  assert.equal(Buffer.from(serializeWeights(again)), Buffer.from(bytes))
  assert.equal(Buffer.from(serializeWeights(createModel(11, TINY))), Buffer.from(bytes), 'same seed, same bytes')
  const x = randomInput(2, 32, 1)
  const p1 = model.predict(x)
  const p2 = again.predict(x)
  assert.equal(Array.from(p1.dataSync()), Array.from(p2.dataSync()))
  tf.dispose([x, p1, p2])
  model.dispose()
  again.dispose()
})

test('getWeights/setWeights round trip and setWeights checks its input', () => {
  const a = createModel(1, TINY)
  const b = createModel(2, TINY)
  b.setWeights(a.getWeights())
  assert.equal(b.getWeights().map(w => Array.from(w)), a.getWeights().map(w => Array.from(w)))
  const w = a.getWeights()
  throwsCode(() => b.setWeights(w.slice(1)), 'BAD_WEIGHTS')
  throwsCode(() => b.setWeights([new Float32Array(3), ...w.slice(1)]), 'BAD_WEIGHTS')
  const bad = w.map(x => x.slice())
  bad[3][0] = Number.POSITIVE_INFINITY
  throwsCode(() => b.setWeights(bad), 'BAD_WEIGHTS')
  a.dispose()
  b.dispose()
})

/** Re-frames `bytes` with a different header (keeping the data), for header-rule cases. */
function withHeader (bytes: Uint8Array, header: string): Uint8Array {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true)
  const dataStart = 8 + length + ((4 - (length % 4)) % 4)
  const h = new TextEncoder().encode(header)
  const pad = (4 - (h.length % 4)) % 4
  const out = new Uint8Array(8 + h.length + pad + bytes.length - dataStart)
  out.set(bytes.subarray(0, 4))
  new DataView(out.buffer).setUint32(4, h.length, true)
  out.set(h, 8)
  out.set(bytes.subarray(dataStart), 8 + h.length + pad)
  return out
}

test('decodeWeights rejects every malformed file with BAD_WEIGHTS', () => {
  const weights = initialWeights(TINY, 3)
  const bytes = encodeWeights(TINY, weights)
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + new DataView(bytes.buffer).getUint32(4, true)))
  assert.equal(decodeWeights(bytes).weights.map(w => Array.from(w)), weights.map(w => Array.from(w)))
  const flip = (i: number): Uint8Array => { const c = bytes.slice(); c[i] ^= 1; return c }
  throwsCode(() => decodeWeights(new Uint8Array(0)), 'BAD_WEIGHTS')
  throwsCode(() => decodeWeights(flip(0)), 'BAD_WEIGHTS') // magic
  throwsCode(() => decodeWeights(bytes.subarray(0, bytes.length - 1)), 'BAD_WEIGHTS') // truncated
  throwsCode(() => decodeWeights(Uint8Array.from([...bytes, 0, 0, 0, 0])), 'BAD_WEIGHTS') // trailing data
  const huge = bytes.slice()
  new DataView(huge.buffer).setUint32(4, 1 << 30, true)
  throwsCode(() => decodeWeights(huge), 'BAD_WEIGHTS') // header length out of range
  throwsCode(() => decodeWeights(withHeader(bytes, header.replace('{', '{ '))), 'BAD_WEIGHTS') // not canonical
  throwsCode(() => decodeWeights(withHeader(bytes, header.slice(0, -1))), 'BAD_WEIGHTS') // not JSON
  throwsCode(() => decodeWeights(withHeader(bytes, header.replace('medichain-unet', 'other'))), 'BAD_WEIGHTS')
  throwsCode(() => decodeWeights(withHeader(bytes, header.replace('"depth":2', '"depth":9'))), 'BAD_WEIGHTS')
  throwsCode(() => decodeWeights(withHeader(bytes, header.replace('"enc0.c1.w"', '"enc0.c9.w"'))), 'BAD_WEIGHTS')
  const nan = bytes.slice()
  new DataView(nan.buffer).setFloat32(nan.length - 4, Number.NaN, true)
  throwsCode(() => decodeWeights(nan), 'BAD_WEIGHTS') // non-finite value
  const length = new DataView(bytes.buffer).getUint32(4, true)
  if (length % 4 !== 0) {
    const padded = bytes.slice()
    padded[8 + length] = 1
    throwsCode(() => decodeWeights(padded), 'BAD_WEIGHTS') // non-zero padding
  }
  throwsCode(() => encodeWeights(TINY, weights.slice(1)), 'BAD_WEIGHTS')
})

test('predict and imageScores leave no tensors behind; probabilities are in [0, 1]', () => {
  const model = createModel(5, TINY)
  const x = randomInput(3, 32, 2)
  const before = tf.memory().numTensors
  const p = model.predict(x)
  const s = imageScores(p)
  assert.equal(p.shape, [3, 32, 32, 1])
  assert.equal(s.shape, [3])
  const values = p.dataSync()
  assert.ok(values.every(v => v >= 0 && v <= 1))
  tf.dispose([p, s])
  assert.is(tf.memory().numTensors, before)
  x.dispose()
  model.dispose()
})

test.run()
