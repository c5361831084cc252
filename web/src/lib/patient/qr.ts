// The patient's QR code as an SVG path, drawn by Lit as markup: no canvas, no data: URL (the
// peer's Content-Security-Policy allows neither inline images nor scripts). The QR matrix comes
// from the qrcode package (ISO/IEC 18004), with error correction level M.
import QRCode from 'qrcode'

/** A QR code ready to draw: `size` modules per side, dark modules as one path in module units. */
export interface QrPath { size: number, d: string }

/** Encodes `text` and merges each row's runs of dark modules into one rectangle each. */
export function qrPath (text: string): QrPath {
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' })
  const { size, data } = qr.modules
  const parts: string[] = []
  for (let y = 0; y < size; y++) {
    let x = 0
    while (x < size) {
      if (data[y * size + x] === 0) { x++; continue }
      const start = x
      while (x < size && data[y * size + x] !== 0) x++
      parts.push(`M${start} ${y}h${x - start}v1h${start - x}z`)
    }
  }
  return { size, d: parts.join('') }
}
