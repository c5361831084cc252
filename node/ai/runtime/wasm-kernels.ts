// Training kernels for the tfjs wasm backend (docs/design.md §6). The wasm backend ships no
// `Conv2DBackpropFilter`, so a conv net cannot be trained on it until one is registered; and its
// `Conv2DBackpropInput` is a scalar loop several times slower than the XNNPACK forward conv. Both
// gradients are rewritten here as forward convolutions, which XNNPACK runs with SIMD. The identities
// are the usual ones (Dumoulin & Visin, "A guide to convolution arithmetic", 2016, §2 and §4).
import * as tf from '@tensorflow/tfjs'
import type { KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs'

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding
type Rounding = 'floor' | 'round' | 'ceil'
type Shape4 = [number, number, number, number]

/** Thrown inside a kernel when tfjs passes attributes this implementation does not handle. */
class UnsupportedKernelInput extends Error {
  constructor (kernel: string, what: string) {
    super(`${kernel}: unsupported ${what}`)
    this.name = 'UnsupportedKernelInput'
  }
}

function shape4 (value: unknown, kernel: string, what: string): Shape4 {
  if (!Array.isArray(value) || value.length !== 4 || !value.every(v => Number.isInteger(v))) {
    throw new UnsupportedKernelInput(kernel, what)
  }
  return [value[0], value[1], value[2], value[3]]
}

function stridesOf (attrs: NamedAttrMap, kernel: string): number | [number, number] {
  const s = attrs.strides
  if (typeof s === 'number') return s
  if (Array.isArray(s) && s.length === 2 && typeof s[0] === 'number' && typeof s[1] === 'number') return [s[0], s[1]]
  throw new UnsupportedKernelInput(kernel, 'strides')
}

function padOf (attrs: NamedAttrMap, kernel: string): Pad {
  const p = attrs.pad
  if (typeof p === 'number') return p
  if (typeof p === 'string' && (p === 'same' || p === 'valid')) return p
  if (Array.isArray(p) && p.length === 4) {
    const rows = p.map(r => (Array.isArray(r) && r.length === 2 && typeof r[0] === 'number' && typeof r[1] === 'number') ? [r[0], r[1]] as [number, number] : null)
    const [a, b, c, d] = rows
    if (a !== null && b !== null && c !== null && d !== null) return [a, b, c, d]
  }
  throw new UnsupportedKernelInput(kernel, 'padding')
}

function roundingOf (attrs: NamedAttrMap): Rounding | undefined {
  const r = attrs.dimRoundingMode
  if (typeof r !== 'string') return undefined
  return r === 'floor' || r === 'round' || r === 'ceil' ? r : undefined
}

function assertNhwc (attrs: NamedAttrMap, kernel: string): void {
  const f = attrs.dataFormat
  if (f !== undefined && f !== 'NHWC') throw new UnsupportedKernelInput(kernel, `data format ${String(f)}`)
}

/** The wasm implementation of another kernel, called directly on tensor infos (no engine, no tape). */
function wasmKernel (name: string): KernelFunc {
  const config = tf.getKernel(name, 'wasm')
  if (config === undefined) throw new UnsupportedKernelInput(name, 'backend: wasm kernel missing')
  return config.kernelFunc
}

function single (out: TensorInfo | TensorInfo[]): TensorInfo {
  if (Array.isArray(out)) throw new UnsupportedKernelInput('wasm', 'multi-output kernel')
  return out
}

function isBackend (backend: unknown): backend is KernelBackend {
  return typeof backend === 'object' && backend !== null && 'disposeData' in backend
}

/** Runs `body` with a `run` helper whose intermediate outputs are freed afterwards, except the result. */
function withScratch (backend: unknown, body: (run: (kernel: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap) => TensorInfo) => TensorInfo): TensorInfo {
  if (!isBackend(backend)) throw new UnsupportedKernelInput('wasm', 'backend object')
  const kb = backend
  const scratch: TensorInfo[] = []
  const run = (kernel: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap): TensorInfo => {
    const out = single(wasmKernel(kernel)({ inputs, backend, attrs }))
    scratch.push(out)
    return out
  }
  try {
    const result = body(run)
    for (const t of scratch) if (t !== result) kb.disposeData(t.dataId)
    return result
  } catch (err) {
    for (const t of scratch) kb.disposeData(t.dataId)
    throw err
  }
}

/**
 * dW[fh, fw, ci, co] = Σ_{n, oh, ow} x[n, oh·s + fh − top, ow·s + fw − left, ci] · dy[n, oh, ow, co].
 * Read with ci as the batch and n as the channel, that is a forward convolution of xᵀ [Ci, H, W, N]
 * with the filter dyᵀ [OH, OW, N, Co], stride 1 and dilation s, whose output is [Ci, FH, FW, Co].
 */
const conv2dBackpropFilter: KernelFunc = ({ inputs, backend, attrs = {} }) => {
  const name = 'Conv2DBackpropFilter'
  const { x, dy } = inputs
  if (x === undefined || dy === undefined) throw new UnsupportedKernelInput(name, 'inputs')
  assertNhwc(attrs, name)
  const filterShape = shape4(attrs.filterShape, name, 'filter shape')
  const info = tf.backend_util.computeConv2DInfo(shape4(x.shape, name, 'input rank'), filterShape,
    stridesOf(attrs, name), 1, padOf(attrs, name), roundingOf(attrs))
  const { filterHeight, filterWidth, strideHeight, strideWidth, outHeight, outWidth, inHeight, inWidth } = info
  const { top, left } = info.padInfo
  // Rows of x the forward pass actually read, counted from the first padded row.
  const spanH = filterHeight + (outHeight - 1) * strideHeight
  const spanW = filterWidth + (outWidth - 1) * strideWidth
  const keepH = Math.min(inHeight, spanH - top)
  const keepW = Math.min(inWidth, spanW - left)
  return withScratch(backend, run => {
    const xs = keepH < inHeight || keepW < inWidth
      ? run('Slice', { x }, { begin: [0, 0, 0, 0], size: [-1, keepH, keepW, -1] })
      : x
    const xT = run('Transpose', { x: xs }, { perm: [3, 1, 2, 0] })
    const dyT = run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] })
    const pad = [[0, 0], [top, spanH - top - keepH], [left, spanW - left - keepW], [0, 0]]
    const r = run('Conv2D', { x: xT, filter: dyT }, {
      strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [strideHeight, strideWidth], dimRoundingMode: 'floor'
    })
    return run('Transpose', { x: r }, { perm: [1, 2, 0, 3] })
  })
}

/**
 * For stride 1, dx = conv(dy, W′) where W′[i, j, co, ci] = W[FH−1−i, FW−1−j, ci, co] (the filter
 * rotated by 180° with its channel axes swapped) and the padding is the complement FH−1−top.
 * Strided or over-padded cases go to the backend's own kernel.
 */
function conv2dBackpropInput (fallback: KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs = {} }) => {
    const name = 'Conv2DBackpropInput'
    const { dy, filter } = inputs
    if (dy === undefined || filter === undefined) throw new UnsupportedKernelInput(name, 'inputs')
    assertNhwc(attrs, name)
    const inShape = shape4(attrs.inputShape, name, 'input shape')
    const info = tf.backend_util.computeConv2DInfo(inShape, shape4(filter.shape, name, 'filter rank'),
      stridesOf(attrs, name), 1, padOf(attrs, name), roundingOf(attrs))
    const { filterHeight, filterWidth, strideHeight, strideWidth, outHeight, outWidth, inHeight, inWidth } = info
    const top = filterHeight - 1 - info.padInfo.top
    const left = filterWidth - 1 - info.padInfo.left
    const bottom = inHeight + filterHeight - 1 - outHeight - top
    const right = inWidth + filterWidth - 1 - outWidth - left
    if (strideHeight !== 1 || strideWidth !== 1 || Math.min(top, left, bottom, right) < 0) {
      return fallback({ inputs, backend, attrs })
    }
    return withScratch(backend, run => {
      const flipped = run('Reverse', { x: filter }, { dims: [0, 1] })
      const w = run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] })
      return run('Conv2D', { x: dy, filter: w }, {
        strides: [1, 1], pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: 'floor'
      })
    })
  }
}

/** Kernel configs this module registers for the wasm backend (for tests and the health report). */
export const WASM_TRAINING_KERNELS = ['Conv2DBackpropFilter', 'Conv2DBackpropInput'] as const

let registered = false

/**
 * Registers the wasm training kernels once per process. tfjs's registry is global, so a second call
 * is a no-op; the backend's own `Conv2DBackpropInput` stays reachable as the strided fallback.
 */
export function registerWasmTrainingKernels (): void {
  if (registered) return
  registered = true
  const own = tf.getKernel('Conv2DBackpropInput', 'wasm')
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') === undefined) {
    tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2dBackpropFilter })
  }
  if (own !== undefined) {
    // Keep the original setup (it binds the C function the fallback calls) and dispose hooks.
    const config: KernelConfig = { ...own, kernelFunc: conv2dBackpropInput(own.kernelFunc) }
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm')
    tf.registerKernel(config)
  }
}
