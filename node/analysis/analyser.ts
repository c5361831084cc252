// The analyser interface of the upload pipeline (docs/design.md §5 step 2, §6): decoded pixels in, a
// result image out. The detect-strange model registers itself here; with no analyser registered
// an upload stores no result at all rather than a fake one.
import type { CID } from 'multiformats/cid'
import type { DecodedImage } from '../imaging/types.ts'

/** A region the model flags, in source pixel coordinates, with its mean lesion probability. */
export interface LesionBox { x: number, y: number, width: number, height: number, score: number }

/** What an analyser produces for one image. */
export interface AnalysisResult {
  /** The result image: grayscale raw with the mask overlaid in colour, outlines and boxes (PNG). */
  png: Uint8Array
  /** Image-level abnormality score in [0, 1]. */
  score: number
  boxes: LesionBox[]
  /** CID of the model weights that produced the result (stamped on the ledger). */
  model: CID
  /** The tfjs backend that ran (tensorflow, wasm, cpu). */
  backend: string
}

/** Something that can analyse an image, e.g. the detect-strange model of the current round. */
export interface Analyser {
  readonly model: CID
  /** Side of the model's square input, so a decode worker can prepare it off the main thread. */
  readonly inputSize?: number
  /**
   * Analyses `image`. `input`, when given, is the model input already prepared from it (see
   * imageToInput in node/ai/preprocess.ts); one of the wrong length is ignored and remade.
   */
  analyse(image: DecodedImage, input?: Float32Array): Promise<AnalysisResult>
}

/** The analyser slot of a peer: swapped in place when a new model is published (hot-load). */
export class AnalyserSlot extends EventTarget {
  #current: Analyser | null = null

  get current (): Analyser | null {
    return this.#current
  }

  /** Installs `analyser` (or clears the slot) and emits 'analyser:changed'. */
  set (analyser: Analyser | null): void {
    this.#current = analyser
    this.dispatchEvent(new CustomEvent('analyser:changed', { detail: analyser?.model.toString() ?? null }))
  }
}
