// Burned-in text (issue 15): the word rules on their own (a text-shaped group is blacked out, a
// three-character one makes the image uncertain, a tall or short box is neither), then
// tesseract.js on synthetic phantoms: every burned-in name, date and MRN is covered, and a clean
// phantom keeps at least 98 % of its area.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { classifyWords, createTextDetector } from '../../node/research/burned-in/text-detector.ts'
import { blackOut, grayOf } from '../../node/research/burned-in/pixels.ts'
import { burnedInPhantom } from '../../scripts/synth/burn-in.ts'
import { generatePhantom } from '../../scripts/synth/phantom.ts'
import { toGray } from '../../scripts/bench/imaging/deid-score.ts'

const word = (text: string, x0: number, y0: number, x1: number, y1: number) => ({ text, bbox: { x0, y0, x1, y1 } })

test('word rules: black out text-shaped groups, flag three-character ones, ignore the rest', () => {
  const found = classifyWords([word('MRN1234567', 10, 10, 130, 24)], 256, 256)
  assert.equal(found.boxes, [{ x: 8, y: 8, width: 124, height: 18 }])
  assert.is(found.uncertain, false)
  assert.equal(classifyWords([word('DOE', 10, 10, 50, 24)], 256, 256), { boxes: [], uncertain: true }, 'three characters: a person checks')
  assert.equal(classifyWords([word('1', 10, 10, 14, 190)], 256, 256), { boxes: [], uncertain: false }, 'a tall box is anatomy')
  assert.equal(classifyWords([word('ABCD', 10, 10, 20, 24)], 256, 256), { boxes: [], uncertain: false }, 'not wider than tall: not text')
  assert.equal(classifyWords([word('..', 10, 10, 14, 12)], 256, 256), { boxes: [], uncertain: false }, 'a speck')
  const split = classifyWords([word('MRHTF', 4, 231, 68, 252), word('287386', 79, 231, 181, 252)], 256, 256)
  assert.equal(split.boxes, [{ x: 2, y: 229, width: 181, height: 25 }], 'words the OCR split on one line are joined')
})

test('blackOut sets the boxes to the frame\'s lowest value and nothing else', () => {
  const values = Uint16Array.from({ length: 16 }, (_, i) => 100 + i)
  blackOut({ rows: 4, columns: 4, values }, [{ x: 1, y: 1, width: 2, height: 2 }])
  assert.equal([...values], [100, 101, 102, 103, 104, 100, 100, 107, 108, 100, 100, 111, 112, 113, 114, 115])
  assert.equal([...grayOf({ rows: 1, columns: 3, values: Uint16Array.of(0, 50, 100) })], [0, 128, 255])
})

test('tesseract.js finds every burned-in name, date and MRN, and leaves clean phantoms alone', async () => {
  const detector = createTextDetector()
  try {
    for (const seed of [11, 12, 13]) {
      const p = burnedInPhantom(seed)
      const found = await detector.detect(toGray(p.pixels), p.size, p.size)
      const covered = new Uint8Array(p.size * p.size)
      for (const b of found.boxes) for (let y = b.y; y < b.y + b.height; y++) covered.fill(1, y * p.size + b.x, y * p.size + b.x + b.width)
      for (const t of p.texts) assert.ok([...t.ink].every(k => covered[k] === 1), `seed ${seed}: ${t.kind} ${t.text} not covered`)
      const clean = generatePhantom(seed + 500, { size: 256 })
      const none = await detector.detect(toGray(clean.pixels), 256, 256)
      const area = none.boxes.reduce((n, b) => n + b.width * b.height, 0) / (256 * 256)
      assert.ok(area <= 0.02, `seed ${seed + 500}: ${area} of a clean phantom blacked out`)
    }
  } finally {
    await detector.close()
  }
})

test.run()
