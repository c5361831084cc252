// Ground-truth labels and the hospital's training data in plain words (docs/api.md "Ground-truth
// labels"): what a label's use means, why federated learning leaves an image out, and the
// summary of `GET /api/labels/summary` (ApiTrainingSummary) checked at the boundary. Pure, so the wording is tested.
import type { LabelUse } from '../../../../protocol/client/client.ts'

/** What each use of a label means, as a clinician reads it. */
export const USE_TEXT: Readonly<Record<LabelUse, string>> = {
  train: 'training',
  validation: 'held out for validation'
}

/** Why the consent filter left labelled images out (node/fl/round/consent.ts ExclusionReason). */
export const REASON_TEXT: Readonly<Record<string, string>> = {
  'no-consent': 'the patient gave this hospital no training consent',
  revoked: 'the patient revoked the consent',
  expired: 'the consent has expired',
  'other-purpose': 'the patient\'s consent to this hospital is for another purpose',
  'out-of-scope': 'the consent does not cover these images'
}

/** One use's counts: labelled, usable now, left out and why. */
export interface UseCounts { total: number, kept: number, excluded: number, reasons: Record<string, number> }

/** The training data at this hospital, per use. */
export type TrainingData = Record<LabelUse, UseCounts>

const count = (v: unknown): number => typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0

function useCounts (v: unknown): UseCounts {
  const o = typeof v === 'object' && v !== null ? v as Record<string, unknown> : {}
  const raw = typeof o.reasons === 'object' && o.reasons !== null ? o.reasons as Record<string, unknown> : {}
  const reasons: Record<string, number> = {}
  for (const [k, n] of Object.entries(raw)) if (count(n) > 0) reasons[k] = count(n)
  return { total: count(o.total), kept: count(o.kept), excluded: count(o.excluded), reasons }
}

/** Reads the summary; a missing or mistyped field counts as zero, never as trusted data. */
export function parseTrainingData (v: unknown): TrainingData {
  const eligible = typeof v === 'object' && v !== null ? (v as { eligible?: unknown }).eligible : undefined
  const e = typeof eligible === 'object' && eligible !== null ? eligible as Record<string, unknown> : {}
  return { train: useCounts(e.train), validation: useCounts(e.validation) }
}

/** Reasons of both uses added up, largest first, in words: `[text, count]`. */
export function exclusions (d: TrainingData): Array<[string, number]> {
  const sum: Record<string, number> = {}
  for (const u of [d.train, d.validation]) for (const [k, n] of Object.entries(u.reasons)) sum[k] = (sum[k] ?? 0) + n
  return Object.entries(sum).sort((a, b) => b[1] - a[1]).map(([k, n]) => [REASON_TEXT[k] ?? k, n])
}
