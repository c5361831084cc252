// A small line chart drawn as inline SVG (no chart library, no canvas): axes with round ticks,
// one polyline per series, a legend, and the numbers as an accessible description.
import { LitElement, css, html, svg } from 'lit'
import { layoutChart } from '../../lib/fl/chart.ts'
import type { ChartFrame, ChartSeries } from '../../lib/fl/chart.ts'
import { shared } from '../../styles/shared.ts'

const FRAME: ChartFrame = { width: 480, height: 220, left: 48, right: 12, top: 12, bottom: 32 }
/** Line colours with at least 3:1 contrast on white (WCAG 1.4.11); dashes tell them apart too. */
const COLOURS = ['#0b5cad', '#b5470b', '#0a6b2d']
const DASHES = ['', '6 4', '2 3']

/** `<mc-line-chart label="…" .series=${[…]} .yDomain=${[0, 1]}>`. */
export class McLineChart extends LitElement {
  static override properties = { label: {}, series: { attribute: false }, yDomain: { attribute: false }, xLabel: {} }
  static override styles = [shared, css`
    svg { width: 100%; max-width: 40rem; height: auto; display: block; background: #fff; border: 1px solid #c9d1d9; border-radius: 6px; }
    text { font-size: 11px; fill: #4a5560; }
    .legend { display: flex; gap: 1rem; font-size: 0.9rem; }
    .swatch { display: inline-block; width: 1.5rem; height: 0; border-top: 3px solid; vertical-align: middle; margin-right: 0.3rem; }
    /* Classes, not style attributes: the peer's CSP blocks inline styles (and Lit's styleMap starts as one). */
    .s0 { border-top-color: #0b5cad; } .s1 { border-top-color: #b5470b; border-top-style: dashed; } .s2 { border-top-color: #0a6b2d; border-top-style: dotted; }
  `]

  declare label: string
  declare xLabel: string
  declare series: ChartSeries[]
  declare yDomain: [number, number] | undefined

  constructor () {
    super()
    this.label = ''
    this.xLabel = 'round'
    this.series = []
    this.yDomain = undefined
  }

  override render () {
    const f = FRAME
    const l = layoutChart(this.series, f, this.yDomain)
    const summary = this.series.map(s => `${s.name}: ${s.points.map(p => `${this.xLabel} ${p.x} ${p.y === null ? 'none' : p.y.toFixed(3)}`).join(', ')}`).join('; ')
    return html`
      <figure>
        <figcaption><strong>${this.label}</strong></figcaption>
        ${svg`<svg viewBox="0 0 ${f.width} ${f.height}" role="img" aria-label="${this.label}. ${summary}">
          ${l.yTicks.map(t => svg`<line x1=${f.left} x2=${f.width - f.right} y1=${t.at} y2=${t.at} stroke="#e1e6eb"></line>
            <text x=${f.left - 6} y=${t.at + 4} text-anchor="end">${t.value}</text>`)}
          ${l.xTicks.map(t => svg`<text x=${t.at} y=${f.height - f.bottom + 16} text-anchor="middle">${t.value}</text>`)}
          <line x1=${f.left} x2=${f.left} y1=${f.top} y2=${f.height - f.bottom} stroke="#5f6b76"></line>
          <line x1=${f.left} x2=${f.width - f.right} y1=${f.height - f.bottom} y2=${f.height - f.bottom} stroke="#5f6b76"></line>
          <text x=${(f.left + f.width - f.right) / 2} y=${f.height - 4} text-anchor="middle">${this.xLabel}</text>
          ${l.lines.map((line, i) => line.segments.map(points => svg`<polyline points=${points} fill="none" stroke=${COLOURS[i % COLOURS.length]}
            stroke-width="2.5" stroke-dasharray=${DASHES[i % DASHES.length]} stroke-linejoin="round"></polyline>`))}
        </svg>`}
        <div class="legend">${this.series.map((s, i) => html`<span><span class="swatch s${i % COLOURS.length}"></span>${s.name}</span>`)}</div>
      </figure>
    `
  }
}
customElements.define('mc-line-chart', McLineChart)
