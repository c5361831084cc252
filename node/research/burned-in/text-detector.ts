// Finds burned-in text in an image's pixels (issue 15: ultrasound, secondary captures and screen
// shots carry names, dates and MRNs as pixels). tesseract.js with the packaged English
// traineddata (@tesseract.js-data/eng) runs offline on its own worker thread. Machines burn text
// in near-white over the image, so the frame is first thresholded at 80 % of its range into dark
// text on white, which leaves the anatomy out of the OCR's way. Words the OCR split on one line
// are joined; a group of text-like height, at least four characters and twice as wide as tall is
// blacked out; a three-character group of that shape makes the image uncertain, and it then waits
// for a person's check before any export.
import { createRequire } from 'node:module'
import { createWorker, OEM } from 'tesseract.js'
import type { Worker } from 'tesseract.js'
import { encodePng } from '../../imaging/raster/encode.ts'

/** A rectangle in image pixels. */
export interface PixelBox { x: number, y: number, width: number, height: number }

/** What the detector found in one frame. */
export interface TextFindings {
  /** Boxes to black out (each grown by BOX_PADDING). */
  boxes: PixelBox[]
  /** True when a text-like remnant was found that is too short to black out with confidence. */
  uncertain: boolean
}

/** Share of the frame's range above which a pixel may be burned-in text (near-white). */
export const TEXT_THRESHOLD = 0.8
/** A word is blacked out when it has at least this many characters and is this much wider than tall. */
export const MIN_WORD_CHARS = 4
export const MIN_WORD_ASPECT = 2
/** Text-like heights in pixels: below, specks; above, anatomy. */
export const MIN_TEXT_HEIGHT = 6
export const MAX_TEXT_HEIGHT = 64
/** Pixels added around each box, so antialiased or misaligned glyph edges go too. */
export const BOX_PADDING = 2

/** Thresholds an 8-bit frame into dark text (0) on white (255). */
export function textMask (gray: Uint8Array): Uint8Array {
  let lo = 255
  let hi = 0
  for (const v of gray) { if (v < lo) lo = v; if (v > hi) hi = v }
  const cut = lo + TEXT_THRESHOLD * (hi - lo)
  return Uint8Array.from(gray, v => hi > lo && v >= cut ? 0 : 255)
}

interface Word { text: string, bbox: { x0: number, y0: number, x1: number, y1: number } }

/** OCR often splits one stamped string into words: neighbours on one line (gap under a text height) are joined. */
function joinNeighbours (words: Word[]): Word[] {
  const sorted = [...words].sort((a, b) => a.bbox.y0 - b.bbox.y0 || a.bbox.x0 - b.bbox.x0)
  const out: Word[] = []
  for (const w of sorted) {
    const h = w.bbox.y1 - w.bbox.y0
    const prev = out.find(o => {
      const oh = o.bbox.y1 - o.bbox.y0
      const overlap = Math.min(o.bbox.y1, w.bbox.y1) - Math.max(o.bbox.y0, w.bbox.y0)
      const gap = w.bbox.x0 - o.bbox.x1
      return overlap >= 0.5 * Math.min(h, oh) && gap >= -h && gap <= 1.5 * Math.max(h, oh)
    })
    if (prev === undefined) { out.push({ text: w.text, bbox: { ...w.bbox } }); continue }
    prev.text += w.text
    prev.bbox = { x0: Math.min(prev.bbox.x0, w.bbox.x0), y0: Math.min(prev.bbox.y0, w.bbox.y0), x1: Math.max(prev.bbox.x1, w.bbox.x1), y1: Math.max(prev.bbox.y1, w.bbox.y1) }
  }
  return out
}

/** Sorts OCR words into boxes to black out and the uncertain remnants. Pure. */
export function classifyWords (words: Word[], width: number, height: number): TextFindings {
  const boxes: PixelBox[] = []
  let uncertain = false
  for (const w of joinNeighbours(words)) {
    const chars = w.text.replace(/\s/g, '').length
    const bw = w.bbox.x1 - w.bbox.x0
    const bh = w.bbox.y1 - w.bbox.y0
    const textHigh = bh >= MIN_TEXT_HEIGHT && bh <= MAX_TEXT_HEIGHT
    if (textHigh && chars >= MIN_WORD_CHARS && bw >= MIN_WORD_ASPECT * bh) {
      const x = Math.max(0, w.bbox.x0 - BOX_PADDING)
      const y = Math.max(0, w.bbox.y0 - BOX_PADDING)
      boxes.push({ x, y, width: Math.min(width, w.bbox.x1 + BOX_PADDING) - x, height: Math.min(height, w.bbox.y1 + BOX_PADDING) - y })
    } else if (textHigh && chars === MIN_WORD_CHARS - 1 && bw >= MIN_WORD_ASPECT * bh) {
      // Three characters in a text-shaped box: maybe a short stamp (an age, initials), maybe noise.
      uncertain = true
    }
  }
  return { boxes, uncertain }
}

/** The OCR, one tesseract worker thread, started on first use. */
export interface TextDetector {
  /** Finds burned-in text in an 8-bit grayscale frame. */
  detect (gray: Uint8Array, width: number, height: number): Promise<TextFindings>
  close (): Promise<void>
}

/** Creates the detector; the traineddata comes from the installed @tesseract.js-data/eng, never the network. */
export function createTextDetector (): TextDetector {
  let worker: Promise<Worker> | null = null
  const start = async (): Promise<Worker> => {
    const eng = createRequire(import.meta.url)('@tesseract.js-data/eng') as { langPath: string, gzip: boolean }
    return await createWorker('eng', OEM.LSTM_ONLY, { langPath: eng.langPath, gzip: eng.gzip, cacheMethod: 'none' })
  }
  return {
    async detect (gray, width, height) {
      worker ??= start()
      const w = await worker
      const png = encodePng(textMask(gray), width, height)
      const result = await w.recognize(Buffer.from(png), {}, { blocks: true })
      const words = (result.data.blocks ?? []).flatMap(b => b.paragraphs.flatMap(p => p.lines.flatMap(l => l.words)))
      return classifyWords(words, width, height)
    },
    async close () {
      const w = worker
      worker = null
      if (w !== null) await (await w).terminate()
    }
  }
}
