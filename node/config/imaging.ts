// The `imaging` block of the config file: the pixel budget every decode is checked against, and
// the size of the decode worker pool and its queue. Kept beside index.ts so that file stays one
// concept.
import { MedichainError } from '../../protocol/errors.ts'
import { DEFAULT_LIMITS } from '../imaging/limits.ts'

/** Tunables of image decoding (issue 11.6); see docs/ops.md. */
export interface ImagingConfig {
  /** Largest width or height (default 8192). */
  maxSide: number
  /** Largest width × height of one frame (default 2^25). */
  maxPixels: number
  /** Largest decoded size in bytes: width × height × frames × samples × bytes per sample (default 128 MiB). */
  maxDecodedBytes: number
  /** Decode worker threads, and images decoded or analysed at once (default 1). */
  workers: number
  /** Uploads that may wait for a worker; more answer 503 DECODE_BUSY (default 4). */
  queue: number
  /**
   * Analysis worker threads running the model (node/ai/detect/analysis-pool.ts); 0 (the default) means
   * every core but one, at least one.
   */
  analysisWorkers: number
  /** Images per predict call in an analysis worker (default 1; see docs/benchmarks.md "DICOM ingest"). */
  analysisBatch: number
}

/**
 * Defaults of the imaging block. One decode worker: a decode at the full budget holds a few
 * hundred MB at its peak. Analysis runs in its own pool, sized to the cores.
 */
export const IMAGING_DEFAULTS: Readonly<ImagingConfig> = { ...DEFAULT_LIMITS, workers: 1, queue: 4, analysisWorkers: 0, analysisBatch: 1 }

/** Accepted range of each setting: [min, max]. */
const RANGES: Readonly<Record<keyof ImagingConfig, readonly [number, number]>> = {
  maxSide: [1, 65535],
  maxPixels: [1, 2 ** 32],
  maxDecodedBytes: [1024, 2 ** 33],
  workers: [1, 64],
  queue: [0, 1024],
  analysisWorkers: [0, 64],
  analysisBatch: [1, 64]
}

/** Checks a config file's `imaging` block; absent fields take the defaults. */
export function parseImagingConfig (v: unknown, source: string): ImagingConfig {
  const bad = (message: string): MedichainError => new MedichainError('INVALID_CONFIG', `${source}${message}`)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(': expected an object')
  const o = v as Record<string, unknown>
  const out: ImagingConfig = { ...IMAGING_DEFAULTS }
  for (const key of Object.keys(o)) {
    if (!Object.hasOwn(RANGES, key)) throw bad(`.${key}: unknown setting`)
    const k = key as keyof ImagingConfig
    const [min, max] = RANGES[k]
    const x = o[key]
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min || x > max) throw bad(`.${key}: expected an integer from ${min} to ${max}, got ${JSON.stringify(x)}`)
    out[k] = x
  }
  return out
}
