// The maths of the FL dashboard's line charts, kept pure so it is tested without a browser:
// "nice" axis ticks (1, 2, 5 × 10^k steps), linear scales and SVG polyline points. Missing values
// (a round without a validation figure) break the line instead of being drawn as zero.

/** One point of a series; y null means "no value for this x". */
export interface ChartPoint { x: number, y: number | null }

/** A named series. */
export interface ChartSeries { name: string, points: ChartPoint[] }

/** The drawing area inside an SVG of `width` × `height`, after margins for the axes. */
export interface ChartFrame { width: number, height: number, left: number, right: number, top: number, bottom: number }

/** What a chart needs to draw: ticks with their positions and each series as polyline segments. */
export interface ChartLayout {
  xTicks: Array<{ value: number, at: number }>
  yTicks: Array<{ value: number, at: number }>
  lines: Array<{ name: string, segments: string[] }>
}

/** About `count` round-numbered ticks covering [min, max] (steps of 1, 2 or 5 × 10^k). */
export function niceTicks (min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || count < 1) return []
  if (min === max) return [min]
  const lo = Math.min(min, max)
  const hi = Math.max(min, max)
  const raw = (hi - lo) / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map(m => m * mag).find(s => s >= raw) ?? 10 * mag
  const first = Math.ceil(lo / step - 1e-9) * step
  const out: number[] = []
  for (let v = first; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)))
  return out
}

/** A linear map from [d0, d1] onto [r0, r1]; a zero-width domain maps to the middle of the range. */
export function scaleLinear (d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  if (d1 === d0) return () => (r0 + r1) / 2
  return (v) => r0 + (v - d0) / (d1 - d0) * (r1 - r0)
}

function extent (values: number[], fallback: [number, number]): [number, number] {
  const finite = values.filter(Number.isFinite)
  if (finite.length === 0) return fallback
  return [Math.min(...finite), Math.max(...finite)]
}

/** Lays out `series` in `frame`; `yDomain` fixes the y axis (e.g. [0, 1] for Dice). */
export function layoutChart (series: ChartSeries[], frame: ChartFrame, yDomain?: [number, number]): ChartLayout {
  const xs = series.flatMap(s => s.points.map(p => p.x))
  const ys = series.flatMap(s => s.points.flatMap(p => p.y === null ? [] : [p.y]))
  const [x0, x1] = extent(xs, [0, 1])
  const [y0, y1] = yDomain ?? extent(ys, [0, 1])
  const x = scaleLinear(x0, x1, frame.left, frame.width - frame.right)
  const y = scaleLinear(y0, y1, frame.height - frame.bottom, frame.top)
  const fmt = (n: number): string => String(Math.round(n * 10) / 10)
  const lines = series.map(s => {
    const segments: string[] = []
    let current: string[] = []
    for (const p of [...s.points].sort((a, b) => a.x - b.x)) {
      if (p.y === null || !Number.isFinite(p.y)) {
        if (current.length > 0) segments.push(current.join(' '))
        current = []
        continue
      }
      current.push(`${fmt(x(p.x))},${fmt(y(p.y))}`)
    }
    if (current.length > 0) segments.push(current.join(' '))
    return { name: s.name, segments }
  })
  const integerX = xs.every(Number.isInteger)
  const xTicks = niceTicks(x0, x1, Math.min(6, Math.max(1, x1 - x0))).filter(v => !integerX || Number.isInteger(v))
  return {
    xTicks: xTicks.map(value => ({ value, at: x(value) })),
    yTicks: niceTicks(y0, y1, 4).map(value => ({ value, at: y(value) })),
    lines
  }
}
