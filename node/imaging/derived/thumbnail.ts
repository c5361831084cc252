// The thumbnail of an image card (protocol/image-meta.ts): the decoded frame scaled down by area
// averaging to fit THUMBNAIL_SIDE, shown through the file's display window (or, without one, a
// stretch between the 1st and 99th percentiles, so a 16-bit study is not a flat grey), and
// encoded as an 8-bit grey PNG: at most 160 × 160 samples, so never more than about 26 KB, and made
// in about 5 ms where jpeg-js took 50–120 ms for the same 160 pixels (it rebuilds its tables on
// every call). Made in the decode worker at upload; it is sealed with the card and never stored or
// logged in clear.
import { THUMBNAIL_SIDE } from '../../../protocol/image-meta.ts'
import type { ImageThumbnail } from '../../../protocol/image-meta.ts'
import { encodePng } from '../raster/encode.ts'
import type { DecodedImage } from '../types.ts'

/** Histogram bins for the percentile stretch. */
const BINS = 1024

/** The [low, high] intensities mapped to black and white. */
function displayRange (image: DecodedImage): [number, number] {
  if (image.window !== undefined && image.window.width > 0) {
    return [image.window.center - image.window.width / 2, image.window.center + image.window.width / 2]
  }
  const hist = new Uint32Array(BINS)
  const px = image.pixels
  for (let i = 0; i < px.length; i++) hist[Math.min(BINS - 1, Math.max(0, Math.floor((px[i] || 0) * BINS)))]++
  const at = (q: number): number => {
    let seen = 0
    const target = q * px.length
    for (let b = 0; b < BINS; b++) {
      seen += hist[b]
      if (seen >= target) return b / BINS
    }
    return 1
  }
  const low = at(0.01)
  const high = at(0.99) + 1 / BINS
  return high - low > 1e-6 ? [low, high] : [0, 1]
}

/** Scales `image` to fit `side` × `side` by averaging each target pixel's source area, as 8-bit gray. */
function downscale (image: DecodedImage, side: number): { gray: Uint8Array, width: number, height: number } {
  const k = Math.min(1, side / Math.max(image.width, image.height))
  const width = Math.max(1, Math.round(image.width * k))
  const height = Math.max(1, Math.round(image.height * k))
  const [low, high] = displayRange(image)
  const span = high - low
  const gray = new Uint8Array(width * height)
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor(y * image.height / height)
    const y1 = Math.max(y0 + 1, Math.floor((y + 1) * image.height / height))
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor(x * image.width / width)
      const x1 = Math.max(x0 + 1, Math.floor((x + 1) * image.width / width))
      let sum = 0
      for (let sy = y0; sy < y1; sy++) {
        const row = sy * image.width
        for (let sx = x0; sx < x1; sx++) sum += image.pixels[row + sx] || 0
      }
      const v = (sum / ((y1 - y0) * (x1 - x0)) - low) / span
      gray[y * width + x] = Math.round(Math.min(1, Math.max(0, v)) * 255)
    }
  }
  return { gray, width, height }
}

/**
 * The card thumbnail of a decoded frame: at most `side` pixels on its longer side, a grey PNG
 * (within MAX_THUMBNAIL_BYTES for any content at the default side: 160 × 160 bytes plus framing).
 */
export function makeThumbnail (image: DecodedImage, side = THUMBNAIL_SIDE): ImageThumbnail {
  const { gray, width, height } = downscale(image, side)
  return { type: 'image/png', width, height, bytes: encodePng(gray, width, height) }
}
