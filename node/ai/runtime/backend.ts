// Chooses the tfjs backend once at start (docs/design.md §6): tfjs-node ('tensorflow') when that optional
// package installed, else wasm with SIMD, else the pure-JS cpu backend. The wasm backend gets the
// training kernels it lacks (wasm-kernels.ts) before it is first used.
import * as tf from '@tensorflow/tfjs'
import { MedichainError } from '../../../protocol/errors.ts'
import type { Logger } from '../../logger.ts'
import { registerWasmTrainingKernels } from './wasm-kernels.ts'
import { withoutProcessHooks } from './process-hooks.ts'

/** The backends Medichain knows how to start, fastest first. */
export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const
export type BackendName = typeof BACKENDS[number]

/** Options of initBackend. */
export interface BackendInit {
  /** Tried first; the others follow in the default order. */
  prefer?: BackendName
  /** Told which backends could not start (debug) and which one did (info). */
  logger?: Logger
}

// A variable specifier keeps TypeScript from resolving a package that is usually absent: tfjs-node
// is an optionalDependency whose install downloads libtensorflow, which this network blocks.
const TFJS_NODE = '@tensorflow/tfjs-node'

async function tryBackend (name: BackendName, logger?: Logger): Promise<boolean> {
  try {
    if (name === 'tensorflow') await import(TFJS_NODE)
    if (name === 'wasm') {
      await import('@tensorflow/tfjs-backend-wasm')
      registerWasmTrainingKernels()
    }
    // setBackend resolves false (or throws for an unknown name) when the backend cannot start.
    // The wasm module's Emscripten runtime installs throwing process hooks as it starts; they go.
    const { value: ok, removed } = await withoutProcessHooks(async () => await tf.setBackend(name))
    if (removed.length > 0) logger?.debug({ backend: name, removed }, 'removed process hooks a tfjs backend installed')
    if (!ok) logger?.debug({ backend: name }, 'tfjs backend did not initialise')
    return ok
  } catch (err) {
    logger?.debug({ backend: name, err }, 'tfjs backend unavailable')
    return false
  }
}

/**
 * Starts the first backend that works, in the order `prefer`, tensorflow, wasm, cpu, and returns
 * its name. Production mode is switched on so that tfjs never writes to the console (its hints
 * about tfjs-node would otherwise bypass our logger).
 */
export async function initBackend (init: BackendInit = {}): Promise<BackendName> {
  tf.enableProdMode()
  const order = init.prefer === undefined ? [...BACKENDS] : [init.prefer, ...BACKENDS.filter(b => b !== init.prefer)]
  for (const name of order) {
    if (await tryBackend(name, init.logger)) {
      await tf.ready()
      init.logger?.info({ backend: name }, 'tfjs backend ready')
      return name
    }
  }
  // cpu is always registered by @tensorflow/tfjs, so this is unreachable unless tfjs is broken.
  throw new MedichainError('UNAVAILABLE', 'no tfjs backend could start')
}

/** The backend that runs tfjs ops right now (reported at /api/health and on every result). */
export function activeBackend (): string {
  return tf.getBackend()
}
