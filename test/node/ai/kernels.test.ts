// The wasm training kernels against the reference cpu backend: Conv2DBackpropFilter (absent from
// tfjs-backend-wasm) and the faster Conv2DBackpropInput, over strides and paddings, then the full
// gradient of a small U-Net, which also covers the wasm MaxPoolGrad and ResizeNearestNeighborGrad
// the model relies on. tfjs's IS_TEST flag makes the engine throw if a kernel leaks memory.
import * as tf from '@tensorflow/tfjs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { activeBackend, initBackend } from '../../../node/ai/runtime/backend.ts'
import { createModel, upsample2 } from '../../../node/ai/model/model.ts'
import { createPrng } from '../../../node/ai/model/prng.ts'
import { segmentationLoss } from '../../../node/ai/train/train.ts'
import { WASM_TRAINING_KERNELS } from '../../../node/ai/runtime/wasm-kernels.ts'

type Pad = 'same' | 'valid' | tf.backend_util.ExplicitPadding
type Shape4 = [number, number, number, number]

function random (shape: number[], seed: number): Float32Array {
  const prng = createPrng(seed)
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => prng.normal())
}

/** Runs `f` on `backend` and returns its outputs' values. */
async function on (backend: 'wasm' | 'cpu', f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend)
  const outs = f()
  const values = outs.map(t => Float32Array.from(t.dataSync()))
  tf.dispose(outs)
  return values
}

/** Largest |a − b| / (1 + |b|) over all elements. */
function maxRelError (a: Float32Array[], b: Float32Array[]): number {
  let worst = 0
  a.forEach((x, k) => {
    assert.is(x.length, b[k].length)
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - b[k][i]) / (1 + Math.abs(b[k][i])))
  })
  return worst
}

const CASES: Array<{ x: Shape4, f: Shape4, strides: number | [number, number], pad: Pad }> = [
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [3, 8, 7, 2], f: [3, 3, 2, 5], strides: 1, pad: 'valid' },
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], strides: 2, pad: 'same' },
  { x: [2, 10, 9, 3], f: [2, 2, 3, 4], strides: 2, pad: 'valid' },
  { x: [2, 10, 11, 3], f: [3, 2, 3, 4], strides: [2, 3], pad: 'same' },
  { x: [2, 10, 11, 3], f: [3, 3, 3, 4], strides: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { x: [1, 6, 6, 1], f: [1, 1, 1, 3], strides: 1, pad: 'same' }
]

test.before(async () => {
  assert.is(await initBackend({ prefer: 'wasm' }), 'wasm')
})

// IS_TEST makes the engine count backend buffers around every kernel and throw on a leak. It is
// on for the kernel cases only: tfjs's own fused-conv custom gradient trips that check falsely.
test.before.each(() => { tf.env().set('IS_TEST', true) })
test.after.each(() => { tf.env().set('IS_TEST', false) })

test('both kernels are registered for wasm', () => {
  for (const name of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(name, 'wasm') !== undefined, name)
})

for (const c of CASES) {
  test(`conv2d gradients on wasm equal cpu: x ${c.x} filter ${c.f} strides ${String(c.strides)} pad ${JSON.stringify(c.pad)}`, async () => {
    const xv = random(c.x, 1)
    const fv = random(c.f, 2)
    const grads = (): tf.Tensor[] => {
      const x = tf.tensor4d(xv, c.x)
      const w = tf.tensor4d(fv, c.f)
      const y = tf.conv2d(x, w, c.strides, c.pad)
      // A fixed random upstream gradient, so every output position matters differently.
      const dy = tf.tensor(random(y.shape, 3), y.shape)
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), dy)))([x, w])
      tf.dispose([x, w, y, dy])
      return g
    }
    const before = tf.memory().numTensors
    const wasm = await on('wasm', grads)
    const cpu = await on('cpu', grads)
    await tf.setBackend('wasm')
    assert.ok(maxRelError(wasm, cpu) < 1e-5, `max relative error ${maxRelError(wasm, cpu)}`)
    assert.is(tf.memory().numTensors, before)
  })
}

test('the whole U-Net gradient on wasm equals cpu', async () => {
  tf.env().set('IS_TEST', false)
  const size = 16
  const xv = random([2, size, size, 1], 4)
  const yv = Float32Array.from(random([2, size, size, 1], 5), v => (v > 1 ? 1 : 0))
  const grads = (): tf.Tensor[] => {
    const model = createModel(3, { inputSize: size, base: 2, depth: 2 })
    const x = tf.tensor4d(xv, [2, size, size, 1])
    const y = tf.tensor4d(yv, [2, size, size, 1])
    const { grads: g } = tf.variableGrads(() => segmentationLoss(model.logits(x), y), [...model.variables])
    const out = model.variables.map(v => g[v.name])
    model.dispose()
    tf.dispose([x, y])
    return out
  }
  const wasm = await on('wasm', grads)
  const cpu = await on('cpu', grads)
  await tf.setBackend('wasm')
  assert.is(wasm.length, 22)
  // Long chains of float32 sums: allow for reassociation, still far below any real mistake.
  assert.ok(maxRelError(wasm, cpu) < 1e-4, `max relative error ${maxRelError(wasm, cpu)}`)
})

test('upsample2 and its gradient are exact on both backends, for a batch of two', async () => {
  // dy = 0…31 over [2, 4, 4, 1]: each input pixel's gradient is the sum of its 2×2 block.
  const dy = Float32Array.from({ length: 32 }, (_, i) => i)
  const expected = [10, 18, 42, 50, 74, 82, 106, 114]
  for (const backend of ['wasm', 'cpu'] as const) {
    const [up, grad] = await on(backend, () => {
      const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1])
      const d = tf.tensor4d(dy, [2, 4, 4, 1])
      const out = [upsample2(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(upsample2(a as tf.Tensor4D), d)))(x)]
      tf.dispose([x, d])
      return out
    })
    assert.equal(Array.from(up.subarray(0, 8)), [1, 1, 2, 2, 1, 1, 2, 2], backend)
    assert.equal(Array.from(grad), expected, backend)
  }
  await tf.setBackend('wasm')
})

test('initBackend falls back when tfjs-node is absent, and honours an explicit cpu', async () => {
  const name = await initBackend({ prefer: 'tensorflow' })
  assert.ok(name === 'tensorflow' || name === 'wasm')
  assert.is(activeBackend(), name)
  assert.is(await initBackend({ prefer: 'cpu' }), 'cpu')
  assert.is(activeBackend(), 'cpu')
  assert.is(await initBackend({ prefer: 'wasm' }), 'wasm')
})

test.run()
