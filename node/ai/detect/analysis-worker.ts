// Worker thread body of the analysis pool (analysis-pool.ts): starts its own tfjs backend, loads
// each model it is sent (MCW1 weights) once, and runs detect-strange on batches of decoded images,
// one predict call per batch. The result PNGs go back by copy: pngjs may hand out a view of a
// shared buffer, which must not be transferred away.
import { parentPort } from 'node:worker_threads'
import { CID } from 'multiformats/cid'
import { MedichainError } from '../../../protocol/errors.ts'
import type { LesionBox } from '../../analysis/analyser.ts'
import type { DecodedImage } from '../../imaging/types.ts'
import { initBackend } from '../runtime/backend.ts'
import { createDetectStrange } from './detect.ts'
import type { DetectStrange } from './detect.ts'
import { loadWeights } from '../model/model.ts'

/** A batch to analyse with one model; `weights` come with the first batch of a model for this worker. */
export interface AnalysisRequest {
  model: string
  weights?: Uint8Array
  jobs: Array<{ id: number, image: DecodedImage, input?: Float32Array }>
}

/** One image's answer: the result, or the typed error's code and message. */
export type AnalysisOutcome = { id: number, ok: true, png: Uint8Array, score: number, boxes: LesionBox[], backend: string } | { id: number, ok: false, code: string, message: string }

/** The answer to one request. */
export interface AnalysisReply { results: AnalysisOutcome[] }

/** Models kept loaded: the current one and the one it replaced (analyses of it may still come). */
const KEPT_MODELS = 2

const ready = initBackend()
const models = new Map<string, DetectStrange>()

/** The analyser of `model`, loaded from `weights` the first time. */
function analyserOf (model: string, weights: Uint8Array | undefined): DetectStrange {
  const known = models.get(model)
  if (known !== undefined) return known
  if (weights === undefined) throw new MedichainError('INVALID', 'the analysis worker was not sent this model')
  const analyser = createDetectStrange({ model: loadWeights(weights), modelCid: CID.parse(model) })
  models.set(model, analyser)
  for (const old of [...models.keys()].slice(0, Math.max(0, models.size - KEPT_MODELS))) models.delete(old)
  return analyser
}

const failure = (id: number, err: unknown): AnalysisOutcome => err instanceof MedichainError
  ? { id, ok: false, code: err.code, message: err.message }
  : { id, ok: false, code: 'ANALYSIS_FAILED', message: 'the image could not be analysed' }

/** Analyses a batch in one predict call; if that fails, each image alone, so one bad image fails alone. */
async function analyse (req: AnalysisRequest): Promise<AnalysisOutcome[]> {
  await ready
  let analyser: DetectStrange
  try {
    analyser = analyserOf(req.model, req.weights)
  } catch (err) {
    return req.jobs.map(j => failure(j.id, err))
  }
  try {
    const results = await analyser.analyseMany(req.jobs)
    return results.map((r, i) => ({ id: req.jobs[i].id, ok: true, png: r.png, score: r.score, boxes: r.boxes, backend: r.backend }))
  } catch {
    return await Promise.all(req.jobs.map(async (j): Promise<AnalysisOutcome> => {
      try {
        const r = await analyser.analyse(j.image, j.input)
        return { id: j.id, ok: true, png: r.png, score: r.score, boxes: r.boxes, backend: r.backend }
      } catch (err) {
        return failure(j.id, err)
      }
    }))
  }
}

let chain: Promise<void> = Promise.resolve()
parentPort?.on('message', (req: AnalysisRequest) => {
  chain = chain.then(async () => {
    const results = await analyse(req)
    const reply: AnalysisReply = { results }
    parentPort?.postMessage(reply)
  })
})
