// The checks a published model passes before this hospital deploys it: its weights were fetched
// (from this disk or a member), they pass the format checks of node/ai/model/weights-format.ts, and on
// this hospital's own held-out labelled images it does no worse than the model deployed now.
import type { CID } from 'multiformats/cid'
import { MedichainError } from '../../../protocol/errors.ts'
import { loadWeights } from '../../ai/model/model.ts'
import type { SegmentationModel } from '../../ai/model/model.ts'
import { evaluate } from '../../ai/train/train.ts'
import type { TrainSample } from '../../ai/train/train.ts'
import { codeOf } from '../../p2p/errors.ts'
import type { LocalCheck } from './record.ts'
import { ModelNotDeployableError } from '../errors.ts'
import type { ModelStore } from '../transport/model-store.ts'

/** Fetches a model's weights and builds it; FETCH_FAILED or BAD_WEIGHTS (ModelNotDeployableError) otherwise. */
export async function fetchModel (models: ModelStore, cid: CID, options: { timeoutMs: number, signal: AbortSignal }): Promise<SegmentationModel> {
  let bytes: Uint8Array
  try {
    bytes = await models.get(cid, options)
  } catch (err) {
    throw new ModelNotDeployableError('FETCH_FAILED', `its weights could not be fetched (${codeOf(err)})`, { cause: err })
  }
  try {
    return loadWeights(bytes)
  } catch (err) {
    const why = err instanceof MedichainError ? err.message : codeOf(err)
    throw new ModelNotDeployableError('BAD_WEIGHTS', `its weights fail the format checks: ${why.slice(0, 200)}`, { cause: err })
  }
}

/** The local check of a candidate, and whether it passed. */
export interface CheckResult { check: LocalCheck, passed: boolean }

/**
 * Compares `candidate` with `deployed` on the held-out set `held` by validation loss (the training
 * objective, node/ai/train/train.ts): it passes when its loss is no higher. With no deployed model, or
 * fewer than `minimum` images, there is nothing to compare and it passes, the check saying so.
 */
export async function checkLocally (candidate: SegmentationModel, deployed: SegmentationModel | null, held: readonly TrainSample[], minimum: number, batchSize = 16): Promise<CheckResult> {
  const skipped: LocalCheck = { samples: held.length, minimum, candidate: null, deployed: null }
  if (deployed === null || held.length < minimum) return { check: skipped, passed: true }
  const mine = await evaluate(candidate, held, { batchSize })
  const now = await evaluate(deployed, held, { batchSize })
  const check: LocalCheck = { samples: held.length, minimum, candidate: { loss: mine.loss, dice: mine.dice }, deployed: { loss: now.loss, dice: now.dice } }
  // NaN compares false: a candidate whose loss is not a number never passes.
  return { check, passed: mine.loss <= now.loss }
}
