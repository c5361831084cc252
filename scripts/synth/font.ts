// A 5×7 bitmap font for burning text into synthetic images, the way ultrasound machines and
// screen captures stamp names, dates and MRNs into the pixels. Each glyph is seven rows of five
// columns, '#' for ink; drawn here by hand for this project.

/** Glyph rows by character: upper-case letters, digits and the punctuation of names, dates and MRNs. */
export const GLYPHS: Readonly<Record<string, readonly string[]>> = {
  A: ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  B: ['####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.'],
  C: ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'],
  D: ['####.', '#...#', '#...#', '#...#', '#...#', '#...#', '####.'],
  E: ['#####', '#....', '#....', '####.', '#....', '#....', '#####'],
  F: ['#####', '#....', '#....', '####.', '#....', '#....', '#....'],
  G: ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.####'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  I: ['.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  J: ['..###', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..'],
  K: ['#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#'],
  L: ['#....', '#....', '#....', '#....', '#....', '#....', '#####'],
  M: ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'],
  N: ['#...#', '#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#'],
  O: ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  P: ['####.', '#...#', '#...#', '####.', '#....', '#....', '#....'],
  Q: ['.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#'],
  R: ['####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#'],
  S: ['.####', '#....', '#....', '.###.', '....#', '....#', '####.'],
  T: ['#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'],
  U: ['#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  V: ['#...#', '#...#', '#...#', '#...#', '#...#', '.#.#.', '..#..'],
  W: ['#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.'],
  X: ['#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#'],
  Y: ['#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..'],
  Z: ['#####', '....#', '...#.', '..#..', '.#...', '#....', '#####'],
  0: ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'],
  1: ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  2: ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  3: ['####.', '....#', '....#', '.###.', '....#', '....#', '####.'],
  4: ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  5: ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  6: ['.###.', '#....', '#....', '####.', '#...#', '#...#', '.###.'],
  7: ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  8: ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  9: ['.###.', '#...#', '#...#', '.####', '....#', '....#', '.###.'],
  '^': ['..#..', '.#.#.', '#...#', '.....', '.....', '.....', '.....'],
  '-': ['.....', '.....', '.....', '#####', '.....', '.....', '.....'],
  '/': ['....#', '....#', '...#.', '..#..', '.#...', '#....', '#....'],
  ':': ['.....', '..#..', '..#..', '.....', '..#..', '..#..', '.....'],
  '.': ['.....', '.....', '.....', '.....', '.....', '.##..', '.##..'],
  ' ': ['.....', '.....', '.....', '.....', '.....', '.....', '.....']
}

/** Glyph size in font pixels, and the gap after each glyph. */
export const GLYPH_WIDTH = 5
export const GLYPH_HEIGHT = 7
export const GLYPH_GAP = 1

/** A rectangle in image pixels. */
export interface TextBox { x: number, y: number, width: number, height: number }

/** Width and height in image pixels of `text` drawn at `scale`. */
export function textSize (text: string, scale: number): { width: number, height: number } {
  return { width: (text.length * (GLYPH_WIDTH + GLYPH_GAP) - GLYPH_GAP) * scale, height: GLYPH_HEIGHT * scale }
}

/**
 * Draws `text` into a row-major image of `width` columns with its top-left corner at (x, y), each
 * font pixel a `scale`×`scale` square of `value`. Returns the text's box, clipped to the image.
 */
export function drawText (img: Float32Array, width: number, text: string, x: number, y: number, scale: number, value: number): TextBox {
  const height = img.length / width
  for (const [i, ch] of [...text.toUpperCase()].entries()) {
    const glyph = GLYPHS[ch]
    if (glyph === undefined) throw new RangeError(`no glyph for ${JSON.stringify(ch)}`)
    const gx = x + i * (GLYPH_WIDTH + GLYPH_GAP) * scale
    for (let r = 0; r < GLYPH_HEIGHT; r++) {
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        if (glyph[r][c] !== '#') continue
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = gx + c * scale + dx
            const py = y + r * scale + dy
            if (px >= 0 && px < width && py >= 0 && py < height) img[py * width + px] = value
          }
        }
      }
    }
  }
  const size = textSize(text, scale)
  const x0 = Math.max(0, x)
  const y0 = Math.max(0, y)
  return { x: x0, y: y0, width: Math.min(width, x + size.width) - x0, height: Math.min(height, y + size.height) - y0 }
}
