// `npm run bench:deid`: the burned-in text detector on synthetic phantoms (issue 15). Each run
// scores a fresh set of burned-in phantoms (a name, a date and an MRN each) and as many clean
// ones; the figures are medians over the runs with their spread, each beside the same-run
// reference of OCR on the raw frame (no thresholding). `--quick`: fewer, smaller runs.
import type { TextFindings } from '../../../node/research/burned-in/text-detector.ts'
import { classifyWords, createTextDetector } from '../../../node/research/burned-in/text-detector.ts'
import { encodePng } from '../../../node/imaging/raster/encode.ts'
import { scoreDetector } from './deid-score.ts'
import type { DeidScore } from './deid-score.ts'
import { createWorker, OEM } from 'tesseract.js'
import { createRequire } from 'node:module'

const quick = process.argv.includes('--quick')
const RUNS = 3
const COUNT = quick ? 8 : 30
const SIZE = 256

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const spread = (xs: number[], d: number): string => `${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}`

/** The reference: the same OCR and word rules on the raw 8-bit frame, without the text threshold. */
async function rawDetector (): Promise<{ detect: (g: Uint8Array, w: number, h: number) => Promise<TextFindings>, close: () => Promise<void> }> {
  const eng = createRequire(import.meta.url)('@tesseract.js-data/eng') as { langPath: string, gzip: boolean }
  const worker = await createWorker('eng', OEM.LSTM_ONLY, { langPath: eng.langPath, gzip: eng.gzip, cacheMethod: 'none' })
  return {
    async detect (gray, width, height) {
      const r = await worker.recognize(Buffer.from(encodePng(gray, width, height)), {}, { blocks: true })
      return classifyWords((r.data.blocks ?? []).flatMap(b => b.paragraphs.flatMap(p => p.lines.flatMap(l => l.words))), width, height)
    },
    async close () { await worker.terminate() }
  }
}

const detector = createTextDetector()
const reference = await rawDetector()
const ours: DeidScore[] = []
const refs: DeidScore[] = []
for (let run = 0; run < RUNS; run++) {
  const opts = { seed0: 1 + run * 1000, count: COUNT, size: SIZE }
  ours.push(await scoreDetector(detector, opts))
  refs.push(await scoreDetector(reference, opts))
}
await detector.close()
await reference.close()

const pick = (xs: DeidScore[], k: keyof DeidScore): number[] => xs.map(x => x[k])
console.log(`runs: ${RUNS} × (${COUNT} burned-in + ${COUNT} clean phantoms, ${SIZE}×${SIZE}), ${ours[0].strings} burned-in strings a run`)
console.log(`burned-in recall: ${median(pick(ours, 'recall')).toFixed(3)}`)
console.log(`clean false blackout: ${median(pick(ours, 'falseBlackout')).toFixed(4)}`)
console.log(`burned-in recall spread: ${spread(pick(ours, 'recall'), 3)} (reference, raw frame: ${median(pick(refs, 'recall')).toFixed(3)}, ${spread(pick(refs, 'recall'), 3)})`)
console.log(`clean false blackout spread: ${spread(pick(ours, 'falseBlackout'), 4)} (reference, raw frame: ${median(pick(refs, 'falseBlackout')).toFixed(4)}, ${spread(pick(refs, 'falseBlackout'), 4)})`)
console.log(`uncertain, burned-in images: ${median(pick(ours, 'uncertainBurned'))} of ${COUNT} (reference: ${median(pick(refs, 'uncertainBurned'))})`)
console.log(`uncertain, clean images: ${median(pick(ours, 'uncertainClean'))} of ${COUNT} (reference: ${median(pick(refs, 'uncertainClean'))})`)
console.log(`OCR ms per image: ${median(pick(ours, 'msPerImage')).toFixed(0)} (${spread(pick(ours, 'msPerImage'), 0)}; reference: ${median(pick(refs, 'msPerImage')).toFixed(0)})`)
