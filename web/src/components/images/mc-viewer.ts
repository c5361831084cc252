// The image viewer: raw and result side by side on one shared zoom and pan, the result blended
// over the raw image with an opacity slider, window/level for DICOM, and what produced the result
// (score, model CID); for clinicians, the image's ground-truth label (mc-label-panel). A DICOM
// series opens as one record whose slices scroll (wheel, PageUp/PageDown, a slider) under the same
// zoom, pan and window. Images are decrypted in this page; nothing decrypted leaves it.
import { LitElement, css, html, nothing } from 'lit'
import type { ApiImage } from '../../../../protocol/client/client.ts'
import { MedichainError } from '../../../../protocol/errors.ts'
import { formatBytes, formatCardDate, formatScore, formatTime } from '../../lib/words/format.ts'
import { fitTransform, panBy, zoomAt } from '../../lib/images/view-transform.ts'
import type { ViewTransform } from '../../lib/images/view-transform.ts'
import { valueRange } from '../../lib/images/window-level.ts'
import { seriesOf } from '../../lib/images/series.ts'
import type { Window } from '../../lib/images/window-level.ts'
import { decodeForDisplay, drawable, release } from '../../services/display.ts'
import type { Displayable } from '../../services/display.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'
import './mc-label-panel.ts'

/** `<mc-viewer .session=${s} .patientId=${id|null} .cid=${rawCid}>`. */
export class McViewer extends LitElement {
  static override properties = {
    session: { attribute: false }, patientId: { attribute: false }, cid: {},
    opacity: { state: true }, window: { state: true }, range: { state: true }
  }

  static override styles = [shared, css`
    .panes { display: grid; grid-template-columns: 1fr 1fr; gap: 0.75rem; }
    @media (max-width: 760px) { .panes { grid-template-columns: 1fr; } }
    figure { margin: 0; }
    figcaption { font-weight: 600; margin-bottom: 0.25rem; }
    canvas { width: 100%; height: min(60vh, 520px); background: #000; border-radius: 6px; touch-action: none; cursor: grab; display: block; }
    .controls { display: flex; flex-wrap: wrap; gap: 0.5rem 1.25rem; align-items: end; margin: 0.75rem 0; }
    .controls label { margin: 0; }
    .controls input[type=number] { width: 7rem; }
  `]

  declare session: Session
  declare patientId: string | null
  declare cid: string
  declare opacity: number
  declare window: Window | null
  declare range: { min: number, max: number } | null

  #raw: Displayable | null = null
  #result: Displayable | null = null
  #rawSource: CanvasImageSource | null = null
  #rawCanvas: HTMLCanvasElement | null = null
  #view: ViewTransform | null = null
  #drag: { x: number, y: number } | null = null
  #resize: ResizeObserver | null = null
  /** When opening began, for the bench's measure. */
  #started = 0
  /** The image's listing entry (type, size, score, model): shown while its pixels download. */
  /** The shipped default model's card, to name the model that gave a score (null: none, or unreadable). */
  #defaultModel: { cid: string, name: string, intendedUse: string } | null = null
  #defaultModelAsked = false
  /** The slices of the open image's series, in order (just the image outside a series). */
  #slices: ApiImage[] = []
  /** Set when moving to another slice of the same series: zoom, pan and window stay. */
  #keepView = false

  #modelName (cid: string | null): string {
    if (cid === null) return 'no model'
    if (!this.#defaultModelAsked) {
      this.#defaultModelAsked = true
      void this.session.client.request('GET', '/api/models/default')
        .then(async r => r.ok ? await r.json() as { cid: string, name: string, intendedUse: string } : null)
        .catch(() => null)
        .then(card => { this.#defaultModel = card; this.requestUpdate() })
    }
    return this.#defaultModel?.cid === cid ? `${this.#defaultModel.name}. ${this.#defaultModel.intendedUse}` : `the federated model ${cid.slice(0, 12)}…`
  }

  readonly #entry = new LoadController(this, {
    args: () => [this.cid, this.patientId],
    load: async () => {
      this.#started = performance.now()
      const image = await this.session.images.find(this.patientId, this.cid)
      if (image === undefined) throw new MedichainError('NOT_FOUND', 'no such image among those you may open')
      this.#slices = seriesOf(image, await this.session.images.list(this.patientId))
      return image
    },
    fail: err => this.session.fail(err)
  })

  /** Its card (file name, date taken, description), opened in this page; null without one. */
  readonly #card = new LoadController(this, {
    args: () => [this.#entry.value],
    load: async () => {
      const image = this.#entry.value
      return image === undefined ? null : await this.session.images.card(image)
    }
    // A card that does not open leaves the viewer as it was before cards: the image still shows.
  })

  /** Its raw and result images, decrypted and decoded in this page. */
  readonly #pixels = new LoadController(this, {
    args: () => [this.#entry.value],
    load: async (signal) => {
      const image = this.#entry.value
      if (image === undefined) return null
      const [raw, result] = await Promise.all([
        this.session.images.open(image, 'raw').then(decodeForDisplay),
        image.result === null ? Promise.resolve(null) : this.session.images.open(image, 'result').then(decodeForDisplay)
      ])
      // Another image was asked for meanwhile: this one will never be drawn.
      if (signal.aborted) { release(raw); release(result) }
      return { raw, result }
    },
    fail: err => this.session.fail(err),
    settled: () => { void this.#show() }
  })

  constructor () {
    super()
    this.patientId = null
    this.opacity = 0.6
    this.window = null
    this.range = null
  }

  override updated (): void {
    this.#resize ??= new ResizeObserver(() => { this.#draw() })
    // Observing an element twice is a no-op, so panes that appear later (the result) are added here.
    for (const c of this.#canvases()) this.#resize.observe(c)
  }

  override disconnectedCallback (): void {
    super.disconnectedCallback()
    this.#resize?.disconnect()
    this.#forget()
  }

  /** Drops the decoded images (their bitmaps hold memory until closed). */
  #forget (): void {
    release(this.#raw)
    release(this.#result)
    this.#raw = this.#result = this.#rawSource = null
  }

  /** Takes a newly loaded image: window/level for DICOM, then the first draw once the panes exist. */
  async #show (): Promise<void> {
    const loaded = this.#pixels.value
    if (loaded === null || loaded === undefined || this.#pixels.error !== null) return
    this.#forget()
    this.#raw = loaded.raw
    this.#result = loaded.result
    const dicom = loaded.raw.kind === 'dicom' ? loaded.raw : null
    const keep = this.#keepView && dicom !== null && this.window !== null
    this.#keepView = false
    this.range = dicom === null ? null : valueRange(dicom.dicom)
    if (!keep) this.window = dicom === null ? null : dicom.window
    this.#render()
    await this.updateComplete
    if (!keep) this.#view = null
    this.#draw()
    this.#prefetchNeighbours()
    // scripts/bench/users/bench-web.ts reads this measure: open + decrypt + decode + first draw.
    performance.measure('mc:viewer-open', { start: this.#started, end: performance.now() })
  }

  /** 'loading', 'shown' or 'failed', for the page and its tests (`data-state`). */
  #phase (): 'loading' | 'shown' | 'failed' {
    if (this.#entry.error !== null || this.#pixels.error !== null) return 'failed'
    const pixels = this.#pixels.value
    return this.#pixels.loading || pixels === null || pixels === undefined ? 'loading' : 'shown'
  }

  /** Whether the image has a result (detect-strange overlay) pane. */
  #hasResult (): boolean {
    return (this.#pixels.value?.result ?? null) !== null
  }

  /** Re-renders the raw image under the current window (DICOM) into a reusable canvas. */
  #render (): void {
    if (this.#raw === null) return
    if (this.#raw.kind === 'dicom') {
      this.#rawCanvas ??= document.createElement('canvas')
      this.#rawSource = drawable(this.#raw, this.window ?? undefined, this.#rawCanvas)
    } else {
      this.#rawSource = drawable(this.#raw)
    }
  }

  #canvases (): HTMLCanvasElement[] {
    return [...this.renderRoot.querySelectorAll('canvas')]
  }

  #draw (): void {
    const raw = this.#raw
    const source = this.#rawSource
    if (raw === null || source === null) return
    const ratio = window.devicePixelRatio || 1
    for (const canvas of this.#canvases()) {
      const w = Math.max(1, Math.round(canvas.clientWidth * ratio))
      const h = Math.max(1, Math.round(canvas.clientHeight * ratio))
      if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h }
      this.#view ??= fitTransform(raw.width, raw.height, canvas.clientWidth, canvas.clientHeight)
      const ctx = canvas.getContext('2d')
      if (ctx === null) continue
      const t = this.#view
      ctx.setTransform(1, 0, 0, 1, 0, 0)
      ctx.clearRect(0, 0, w, h)
      ctx.imageSmoothingEnabled = t.scale < 2
      ctx.setTransform(t.scale * ratio, 0, 0, t.scale * ratio, t.x * ratio, t.y * ratio)
      ctx.drawImage(source, 0, 0, raw.width, raw.height)
      if (canvas.dataset.pane === 'result' && this.#result !== null) {
        ctx.globalAlpha = this.opacity
        ctx.drawImage(drawable(this.#result), 0, 0, raw.width, raw.height)
        ctx.globalAlpha = 1
      }
    }
  }

  #zoom (factor: number, px?: number, py?: number): void {
    const canvas = this.#canvases()[0]
    if (this.#view === null || canvas === undefined) return
    this.#view = zoomAt(this.#view, factor, px ?? canvas.clientWidth / 2, py ?? canvas.clientHeight / 2)
    this.#draw()
  }

  #fit (): void {
    this.#view = null
    this.#draw()
  }

  readonly #onWheel = (e: WheelEvent): void => {
    e.preventDefault()
    // In a series the wheel scrolls the slices, as in PACS viewers; Ctrl (or a pinch) zooms.
    if (this.#slices.length > 1 && !e.ctrlKey) {
      if (e.deltaY !== 0) this.#step(Math.sign(e.deltaY))
      return
    }
    this.#zoom(Math.exp(-e.deltaY * 0.0015), e.offsetX, e.offsetY)
  }

  /** Index of the open image among its series' slices. */
  #sliceIndex (): number {
    return this.#slices.findIndex(i => i.raw === this.cid)
  }

  /** Opens slice `k` of the series (clamped), keeping zoom, pan and window. */
  #goSlice (k: number): void {
    const n = this.#slices.length
    const next = this.#slices[Math.max(0, Math.min(n - 1, k))]
    if (next === undefined || next.raw === this.cid) return
    this.#keepView = true
    this.cid = next.raw
    const base = this.patientId === null ? '/app/patient/images/' : `/app/clinician/patients/${this.patientId}/images/`
    history.replaceState(history.state, '', base + next.raw)
  }

  #step (delta: number): void {
    this.#goSlice(this.#sliceIndex() + delta)
  }

  /** Decrypts the slices either side in the background, so scrolling does not wait on the network. */
  #prefetchNeighbours (): void {
    const k = this.#sliceIndex()
    for (const j of [k + 1, k - 1]) {
      const img = this.#slices[j]
      if (img !== undefined) void this.session.images.open(img, 'raw').catch(() => {})
    }
  }

  #sliceControls () {
    const n = this.#slices.length
    if (n < 2) return nothing
    const k = this.#sliceIndex()
    return html`<fieldset class="controls" aria-label="Slices of the series">
      <button type="button" class="secondary" @click=${() => this.#step(-1)} ?disabled=${k <= 0}>Previous slice</button>
      <label>Slice <input type="range" name="slice" min="1" max=${n} step="1" .value=${String(k + 1)}
        @input=${(e: Event) => this.#goSlice(Number((e.target as HTMLInputElement).value) - 1)}></label>
      <button type="button" class="secondary" @click=${() => this.#step(1)} ?disabled=${k >= n - 1}>Next slice</button>
      <span role="status" data-testid="slice">Slice ${k + 1} of ${n}</span>
    </fieldset>`
  }

  readonly #onDown = (e: PointerEvent): void => {
    (e.currentTarget as HTMLCanvasElement).setPointerCapture(e.pointerId)
    this.#drag = { x: e.clientX, y: e.clientY }
  }

  readonly #onMove = (e: PointerEvent): void => {
    if (this.#drag === null || this.#view === null) return
    this.#view = panBy(this.#view, e.clientX - this.#drag.x, e.clientY - this.#drag.y)
    this.#drag = { x: e.clientX, y: e.clientY }
    this.#draw()
  }

  readonly #onKey = (e: KeyboardEvent): void => {
    const step = 40
    const moves: Record<string, () => void> = {
      '+': () => this.#zoom(1.25), '=': () => this.#zoom(1.25), '-': () => this.#zoom(0.8), 0: () => this.#fit(),
      ArrowLeft: () => this.#pan(step, 0), ArrowRight: () => this.#pan(-step, 0), ArrowUp: () => this.#pan(0, step), ArrowDown: () => this.#pan(0, -step),
      PageUp: () => this.#step(-1), PageDown: () => this.#step(1)
    }
    const act = moves[e.key]
    if (act === undefined) return
    e.preventDefault()
    act()
  }

  #pan (dx: number, dy: number): void {
    if (this.#view === null) return
    this.#view = panBy(this.#view, dx, dy)
    this.#draw()
  }

  #setWindow (patch: Partial<Window>): void {
    if (this.window === null) return
    const next = { ...this.window, ...patch }
    if (!Number.isFinite(next.center) || !Number.isFinite(next.width) || next.width < 1) return
    this.window = next
    this.#render()
    this.#draw()
  }

  #windowControls () {
    const w = this.window
    const r = this.range
    if (w === null || r === null || this.#raw?.kind !== 'dicom') return nothing
    const span = Math.max(1, r.max - r.min)
    const dicom = this.#raw
    return html`<fieldset class="controls" aria-label="Window and level">
      <label>Level (centre)
        <input type="range" min=${r.min} max=${r.max} step="1" .value=${String(w.center)} @input=${(e: Event) => this.#setWindow({ center: Number((e.target as HTMLInputElement).value) })}></label>
      <label>Level value <input type="number" name="center" .value=${String(Math.round(w.center))} @change=${(e: Event) => this.#setWindow({ center: Number((e.target as HTMLInputElement).value) })}></label>
      <label>Window (width)
        <input type="range" min="1" max=${span * 2} step="1" .value=${String(w.width)} @input=${(e: Event) => this.#setWindow({ width: Number((e.target as HTMLInputElement).value) })}></label>
      <label>Width value <input type="number" name="width" min="1" .value=${String(Math.round(w.width))} @change=${(e: Event) => this.#setWindow({ width: Number((e.target as HTMLInputElement).value) })}></label>
      <button type="button" class="secondary" @click=${() => { this.#setWindow(dicom.window) }}>File window</button>
      <button type="button" class="secondary" @click=${() => { this.#setWindow({ center: (r.min + r.max) / 2, width: span + 1 }) }}>Full range</button>
    </fieldset>`
  }

  #pane (name: 'raw' | 'result', caption: string) {
    return html`<figure><figcaption id="cap-${name}">${caption}</figcaption>
      <canvas data-pane=${name} tabindex="0" role="img" aria-labelledby="cap-${name}" aria-describedby="view-help"
        @wheel=${this.#onWheel} @pointerdown=${this.#onDown} @pointermove=${this.#onMove}
        @pointerup=${() => { this.#drag = null }} @pointercancel=${() => { this.#drag = null }} @keydown=${this.#onKey}></canvas></figure>`
  }

  /** The ground-truth panel: clinicians only (researchers and patients do not label). */
  #labels (img: ApiImage | null) {
    if (img === null || this.patientId === null || this.session.role !== 'clinician') return nothing
    const raw = this.#pixels.value?.raw
    return html`<mc-label-panel .session=${this.session} .image=${img} .dims=${raw === undefined ? null : `${raw.width}×${raw.height}`}></mc-label-panel>`
  }

  override render () {
    const img = this.#entry.value ?? null
    const phase = this.#phase()
    const back = this.patientId === null ? '/app/patient/images' : `/app/clinician/patients/${this.patientId}`
    return html`
      <p><a href=${back}>← Back to the images</a></p>
      <h1 data-testid="viewer-title">${this.#card.value?.name ?? 'Viewer'}</h1>
      ${this.#card.value?.description === undefined ? nothing : html`<p data-testid="viewer-description">${this.#card.value.description}</p>`}
      <mc-error-note .error=${this.#entry.error ?? this.#pixels.error}></mc-error-note>
      ${phase === 'loading' ? html`<p role="status">Downloading and decrypting in this browser…</p>` : nothing}
      ${img === null ? nothing : html`<dl class="facts">
        ${this.#card.value?.date === undefined ? nothing : html`<dt>Taken</dt><dd>${formatCardDate(this.#card.value.date)}</dd>`}
        <dt>Type</dt><dd>${img.modality}</dd>
        <dt>Size</dt><dd>${formatBytes(img.size)}</dd>
        <dt>Added</dt><dd>${formatTime(img.time)} at ${img.custodianName ?? img.custodian.slice(0, 12)}</dd>
        <dt>Abnormality score</dt><dd data-testid="score">${formatScore(img.score)}${img.score === null ? nothing : html`<br><span class="muted" data-testid="score-meaning">the probability that this image holds an abnormal region, according to ${this.#modelName(img.model)}</span>`}</dd>
        <dt>Model</dt><dd class="mono" data-testid="model">${img.model ?? 'none (no model was loaded at upload)'}</dd>
      </dl>`}
      <div class="controls" ?hidden=${phase !== 'shown'}>
        <button type="button" class="secondary" @click=${() => this.#zoom(1.25)} aria-label="Zoom in">+</button>
        <button type="button" class="secondary" @click=${() => this.#zoom(0.8)} aria-label="Zoom out">−</button>
        <button type="button" class="secondary" @click=${() => this.#fit()}>Fit</button>
        ${this.#hasResult() ? html`<label>Overlay opacity
          <input type="range" name="opacity" min="0" max="100" .value=${String(Math.round(this.opacity * 100))}
            @input=${(e: Event) => { this.opacity = Number((e.target as HTMLInputElement).value) / 100; this.#draw() }}></label>` : nothing}
      </div>
      ${this.#sliceControls()}
      ${this.#windowControls()}
      <div class="panes" data-state=${phase} ?hidden=${phase === 'failed'}>
        ${this.#pane('raw', 'Raw image')}
        ${this.#hasResult() ? this.#pane('result', 'Result (detect-strange overlay)') : html`<p class="note">No result image: no model was loaded when this image was uploaded.</p>`}
      </div>
      <p id="view-help" class="muted">${this.#slices.length > 1
        ? 'Scroll or use Page Up and Page Down to move through the slices; Ctrl and scroll, or + and −, to zoom; drag or use the arrow keys to pan, 0 to fit. Both panes move together.'
        : 'Scroll or use + and − to zoom, drag or use the arrow keys to pan, 0 to fit. Both panes move together.'}</p>
      ${this.#labels(img)}
    `
  }
}
customElements.define('mc-viewer', McViewer)
