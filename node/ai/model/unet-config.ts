// The shape of the detect-strange U-Net, as plain data: its hyper-parameters and the ordered list of
// its parameter tensors. Pure (no tfjs), so weight files and federated averaging can be checked
// against the layout without building a model.
import { AiInputError } from '../errors.ts'

/** Hyper-parameters of the U-Net (Ronneberger et al., MICCAI 2015), scaled down. */
export interface UNetConfig {
  /** Side of the square model input; images are resampled to it. Divisible by 2^depth. */
  inputSize: number
  /** Channels of the first level; each level down doubles them. */
  base: number
  /** Number of 2× down-samplings (and up-samplings). */
  depth: number
}

/** The production model: 128×128 input, 8→64 channels over 3 levels, 121k parameters. */
export const DEFAULT_UNET: Readonly<UNetConfig> = { inputSize: 128, base: 8, depth: 3 }

/** One parameter tensor of the model, in layout order. */
export interface ParamSpec { name: string, shape: number[] }

// Bounds that keep a hostile weights header from asking for a giant model.
const LIMITS = { inputSize: [16, 1024], base: [1, 64], depth: [1, 5] } as const

/** Checks a config (from a weights header or a caller) and returns a clean copy. */
export function validateConfig (value: unknown): UNetConfig {
  if (typeof value !== 'object' || value === null) throw new AiInputError('model config must be an object')
  const out: Record<keyof UNetConfig, number> = { inputSize: 0, base: 0, depth: 0 }
  for (const key of ['inputSize', 'base', 'depth'] as const) {
    const v: unknown = Reflect.get(value, key)
    const [lo, hi] = LIMITS[key]
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new AiInputError(`model config ${key} must be an integer in [${lo}, ${hi}], got ${String(v)}`)
    }
    out[key] = v
  }
  if (out.inputSize % (2 ** out.depth) !== 0) {
    throw new AiInputError(`model config inputSize ${out.inputSize} is not divisible by 2^${out.depth}`)
  }
  return out
}

/** Channels at level `l` (0 = full resolution, depth = bottleneck). */
export function channelsAt (config: UNetConfig, level: number): number {
  return config.base * 2 ** level
}

function conv (name: string, k: number, cin: number, cout: number): ParamSpec[] {
  return [{ name: `${name}.w`, shape: [k, k, cin, cout] }, { name: `${name}.b`, shape: [cout] }]
}

/**
 * Every parameter tensor in a fixed order: encoder levels, bottleneck, decoder levels from the
 * bottom up, then the 1×1 head. Weight files, getWeights/setWeights and aggregation use this order.
 */
export function parameterLayout (config: UNetConfig): ParamSpec[] {
  const out: ParamSpec[] = []
  let cin = 1
  for (let l = 0; l < config.depth; l++) {
    const c = channelsAt(config, l)
    out.push(...conv(`enc${l}.c1`, 3, cin, c), ...conv(`enc${l}.c2`, 3, c, c))
    cin = c
  }
  const mid = channelsAt(config, config.depth)
  out.push(...conv('mid.c1', 3, cin, mid), ...conv('mid.c2', 3, mid, mid))
  for (let l = config.depth - 1; l >= 0; l--) {
    const c = channelsAt(config, l)
    out.push(...conv(`dec${l}.c1`, 3, channelsAt(config, l + 1) + c, c), ...conv(`dec${l}.c2`, 3, c, c))
  }
  out.push(...conv('head', 1, channelsAt(config, 0), 1))
  return out
}

/** Number of scalars in `shape`. */
export function sizeOf (shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}

/** Total number of trainable scalars of a model with this config. */
export function parameterCount (config: UNetConfig): number {
  return parameterLayout(config).reduce((n, p) => n + sizeOf(p.shape), 0)
}
