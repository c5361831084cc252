// Zoom and pan of the viewer as a pure value: image pixel (u, v) appears at screen point
// (x + u·scale, y + v·scale). Zooming keeps the point under the cursor fixed, so the raw and the
// result panes, which share one transform, stay aligned.

/** Screen = offset + image × scale. */
export interface ViewTransform { scale: number, x: number, y: number }

/** Zoom limits: from a whole 8192-pixel image on a phone to single pixels filling a screen. */
export const MIN_SCALE = 0.01
export const MAX_SCALE = 32

const clampScale = (s: number): number => Math.min(MAX_SCALE, Math.max(MIN_SCALE, s))

/** The transform that shows the whole image centred in the view. */
export function fitTransform (imageW: number, imageH: number, viewW: number, viewH: number): ViewTransform {
  if (imageW <= 0 || imageH <= 0 || viewW <= 0 || viewH <= 0) return { scale: 1, x: 0, y: 0 }
  const scale = clampScale(Math.min(viewW / imageW, viewH / imageH))
  return { scale, x: (viewW - imageW * scale) / 2, y: (viewH - imageH * scale) / 2 }
}

/** Multiplies the scale by `factor`, keeping screen point (px, py) over the same image pixel. */
export function zoomAt (t: ViewTransform, factor: number, px: number, py: number): ViewTransform {
  if (!Number.isFinite(factor) || factor <= 0) return t
  const scale = clampScale(t.scale * factor)
  const k = scale / t.scale
  return { scale, x: px - (px - t.x) * k, y: py - (py - t.y) * k }
}

/** Moves the image by (dx, dy) screen pixels. */
export function panBy (t: ViewTransform, dx: number, dy: number): ViewTransform {
  return { scale: t.scale, x: t.x + dx, y: t.y + dy }
}

/** The image pixel under screen point (px, py). */
export function toImage (t: ViewTransform, px: number, py: number): { u: number, v: number } {
  return { u: (px - t.x) / t.scale, v: (py - t.y) / t.scale }
}
