// Pure validation metrics of the segmenter: overlap (Dice) and image-level ranking quality (AUROC).
// Used by evaluate(), by the federated coordinator's "check loss", and by the AI benchmark.

/**
 * Sørensen–Dice coefficient 2·TP / (2·TP + FP + FN) from pixel counts. An empty prediction of an
 * empty truth is a perfect match (1), not 0/0.
 */
export function diceFromCounts (tp: number, fp: number, fn: number): number {
  const denominator = 2 * tp + fp + fn
  return denominator === 0 ? 1 : (2 * tp) / denominator
}

/**
 * Area under the ROC curve of `scores` against boolean `labels`, by the Mann–Whitney U statistic
 * (Hanley & McNeil, Radiology 1982): the probability that a random positive outscores a random
 * negative, ties counting one half. Undefined when either class is absent.
 */
export function auroc (scores: readonly number[], labels: readonly boolean[]): number | undefined {
  if (scores.length !== labels.length) throw new RangeError('auroc: scores and labels differ in length')
  const order = scores.map((s, i) => i).sort((a, b) => scores[a] - scores[b])
  const ranks = new Array<number>(scores.length)
  for (let i = 0; i < order.length;) {
    let j = i
    while (j + 1 < order.length && scores[order[j + 1]] === scores[order[i]]) j++
    const rank = (i + j) / 2 + 1
    for (let k = i; k <= j; k++) ranks[order[k]] = rank
    i = j + 1
  }
  let positives = 0
  let rankSum = 0
  labels.forEach((l, i) => {
    if (l) {
      positives++
      rankSum += ranks[i]
    }
  })
  const negatives = labels.length - positives
  if (positives === 0 || negatives === 0) return undefined
  return (rankSum - positives * (positives + 1) / 2) / (positives * negatives)
}
