// The default detect-strange model that ships with the peer: weights trained by
// scripts/train-default-model.ts on synthetic phantoms, and the model card that says so. A fresh
// peer deploys it until a federated task publishes a model, so the first upload already gets a
// result image. It was never trained on patient data and is not for clinical use.
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type { Analyser } from '../../analysis/analyser.ts'
import { createDetectStrange } from './detect.ts'
import { loadWeights } from '../model/model.ts'

/** Where the shipped weights (MCW1, ../model/weights-format.ts) live. */
export const DEFAULT_MODEL_WEIGHTS = fileURLToPath(new URL('./default-model/weights.mcw', import.meta.url))
/** Where the shipped model card (JSON) lives. */
export const DEFAULT_MODEL_CARD = fileURLToPath(new URL('./default-model/model-card.json', import.meta.url))

/** The parts of the model card the peer and the UI show. */
export interface DefaultModelCard {
  name: string
  intendedUse: string
  weights: string
  heldOut: { dice: number, auroc: number | null }
  score: string
}

/** The shipped weights and card; undefined when the files are absent (a trimmed install). */
export async function readDefaultModel (): Promise<{ weights: Uint8Array, card: DefaultModelCard } | undefined> {
  try {
    const [weights, card] = await Promise.all([readFile(DEFAULT_MODEL_WEIGHTS), readFile(DEFAULT_MODEL_CARD, 'utf8')])
    return { weights: new Uint8Array(weights), card: JSON.parse(card) as DefaultModelCard }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** The CID of weights, as a raw-codec CIDv1 of their SHA-256: the same on every peer that ships them. */
export async function weightsCid (bytes: Uint8Array): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(bytes))
}

/**
 * The detect-strange analyser of the shipped default model, with its CID and card; undefined when
 * the weights are not installed. Throws BAD_WEIGHTS when the file is corrupt.
 */
export async function loadDefaultAnalyser (): Promise<{ analyser: Analyser, cid: CID, card: DefaultModelCard } | undefined> {
  const shipped = await readDefaultModel()
  if (shipped === undefined) return undefined
  const cid = await weightsCid(shipped.weights)
  return { analyser: createDetectStrange({ model: loadWeights(shipped.weights), modelCid: cid }), cid, card: shipped.card }
}
