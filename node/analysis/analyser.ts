// The analyser interface of the upload pipeline (docs/design.md §5 step 2, §6): decoded pixels in, a
// result image out. The detect-strange model registers itself here; with no analyser registered
// an upload stores no result at all rather than a fake one.
import type { CID } from 'multiformats/cid'
import type { DecodedImage } from '../imaging/types.ts'

/** A region the model flags, in source pixel coordinates, with its mean lesion probability. */
export interface LesionBox { x: number, y: number, width: number, height: number, score: number }

/** What an analyser produces for one image. */
export interface AnalysisResult {
  /**
   * The result image: grayscale raw with the mask overlaid in colour, outlines and boxes (PNG).
   * Detect-strange adds the binary mask of the regions it kept as a private chunk
   * (node/imaging/derived/result-mask.ts), from which the DICOM Segmentation object is made.
   */
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
   * imageToInput in node/ai/model/preprocess.ts); one of the wrong length is ignored and remade.
   */
  analyse(image: DecodedImage, input?: Float32Array): Promise<AnalysisResult>
  /**
   * The model's weights (MCW1, node/ai/model/weights-format.ts), when a worker can load the same model:
   * the analysis pool (node/ai/detect/analysis-pool.ts) then runs it off the main thread.
   */
  readonly weights?: () => Uint8Array
  /**
   * Present on an analyser that runs in worker threads: queues `image` once the pool's bounded
   * queue has room, and resolves then with the pending result. The caller may drop the decoded
   * image's other uses meanwhile (the upload pipeline frees its decode slot).
   */
  submit?(image: DecodedImage, input?: Float32Array): Promise<{ result: Promise<AnalysisResult> }>
}

/** The analyser slot of a peer: swapped in place when a new model is published (hot-load). */
export class AnalyserSlot extends EventTarget {
  #current: Analyser | null = null
  #offload: ((analyser: Analyser) => Analyser) | undefined

  get current (): Analyser | null {
    return this.#current
  }

  /**
   * Runs every analyser installed from now on through `offload` (the analysis worker pool), which
   * returns an equivalent analyser that computes elsewhere; one that cannot be moved comes back as is.
   */
  offloadTo (offload: (analyser: Analyser) => Analyser): void {
    this.#offload = offload
    if (this.#current !== null) this.set(this.#current)
  }

  /** Installs `analyser` (or clears the slot) and emits 'analyser:changed'. */
  set (analyser: Analyser | null): void {
    this.#current = analyser === null || this.#offload === undefined ? analyser : this.#offload(analyser)
    this.dispatchEvent(new CustomEvent('analyser:changed', { detail: analyser?.model.toString() ?? null }))
  }
}
