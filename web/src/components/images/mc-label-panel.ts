// The viewer's "Ground truth" panel for clinicians (docs/api.md "Ground-truth labels"): the
// image's lesion mask label (its use, size, who and when) or "not labelled"; a form to attach or
// replace one from a PNG file, for training or held out for validation; and removal. Only the
// custodian hospital labels an image, so elsewhere the panel only says who can; the peer decides.
import { LitElement, html, nothing } from 'lit'
import type { PropertyValues } from 'lit'
import { ApiError } from '../../../../protocol/client/client.ts'
import type { ApiImage, ApiLabel, LabelUse } from '../../../../protocol/client/client.ts'
import { formatTime, shortHex } from '../../lib/words/format.ts'
import { USE_TEXT } from '../../lib/words/labels.ts'
import { ActionController } from '../../services/action-controller.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** `<mc-label-panel .session=${s} .image=${img} .dims=${'96×96' | null}>`, in the clinician's viewer. */
export class McLabelPanel extends LitElement {
  static override properties = {
    session: { attribute: false }, image: { attribute: false }, dims: { attribute: false }
  }

  static override styles = [shared]

  declare session: Session
  declare image: ApiImage
  /** The image's width×height once decoded, for the mask's required size. */
  declare dims: string | null
  /** Saving or removing the label (the label's own failure is in `#label.error`). */
  readonly #action = new ActionController(this, { fail: err => this.session.fail(err) })
  /** The current label; null when there is none (or the hospital is not the custodian: not asked). */
  readonly #label = new LoadController(this, {
    args: () => [this.image.raw],
    load: async (): Promise<ApiLabel | null> => {
      if (!this.#custodian()) return null
      try {
        return await this.session.client.label(this.image.raw)
      } catch (err) {
        if (err instanceof ApiError && err.code === 'NOT_FOUND') return null
        throw err
      }
    },
    fail: err => this.session.fail(err)
  })

  constructor () {
    super()
    this.dims = null
  }

  /** Another image: the last save's message or failure belonged to the old one. */
  override willUpdate (changed: PropertyValues<this>): void {
    const old = changed.get('image')
    if (old !== undefined && old.raw !== this.image.raw) this.#action.error = this.#action.done = null
  }

  /** Whether this user's hospital holds the image (only the custodian's clinicians label it). */
  #custodian (): boolean {
    return this.image.custodian.toLowerCase() === this.session.user?.hospital.toLowerCase()
  }

  /** Runs a write, showing its failure; `after` gets its answer and says what it did. */
  async #act<T> (write: () => Promise<T>, after: (v: T) => string): Promise<void> {
    await this.#action.run(async () => { this.#action.done = after(await write()) })
  }

  async #save (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const data = new FormData(form)
    const file = data.get('mask')
    const use = String(data.get('use') ?? '')
    if (!(file instanceof File) || file.size === 0) {
      this.#action.error = new ApiError(400, 'INVALID', 'choose the mask image first')
      return
    }
    await this.#act(async () => await this.session.client.putLabel(this.image.raw, new Uint8Array(await file.arrayBuffer()), use === '' ? undefined : use as LabelUse), saved => {
      this.#label.value = saved
      form.reset()
      return saved.use === 'validation' ? 'Saved: this image is held out for validation.' : `Saved: this image is used for ${USE_TEXT[saved.use]}.`
    })
  }

  async #remove (): Promise<void> {
    await this.#act(async () => await this.session.client.deleteLabel(this.image.raw), () => {
      this.#label.value = null
      return 'Removed: training no longer uses this image.'
    })
  }

  #facts (l: ApiLabel) {
    const share = l.width * l.height === 0 ? 0 : 100 * l.lesionPixels / (l.width * l.height)
    const by = l.author === this.session.user?.signPub
      ? 'you'
      : l.authorName !== null ? l.authorName : `a former clinician (key ${shortHex(l.author)})`
    return html`<dl class="facts">
      <dt>Used for</dt><dd data-testid="label-use">${USE_TEXT[l.use]}</dd>
      <dt>Lesion</dt><dd>${l.lesionPixels} of ${l.width}×${l.height} pixels (${share.toFixed(1)} %)</dd>
      <dt>Labelled</dt><dd>${formatTime(l.time)} by ${by}</dd>
    </dl>`
  }

  override render () {
    const own = this.#custodian()
    const label = this.#label.value ?? null
    const size = this.dims === null ? '' : `, ${this.dims} pixels`
    return html`<section aria-labelledby="gt" data-testid="label-panel" data-state=${!own ? 'not-custodian' : label === null ? 'unlabelled' : 'labelled'} data-use=${label?.use ?? ''}>
      <h2 id="gt">Ground truth</h2>
      ${!own ? html`<p class="muted">Only ${this.image.custodianName ?? 'the hospital that holds this image'} can label this image for training.</p>` : html`
      <p class="muted">A clinician's lesion mask. This hospital trains the model on it, or checks the model against it, only while the patient's training consent lasts. It never leaves this hospital.</p>
      <mc-error-note .error=${this.#action.error ?? this.#label.error} .texts=${{
        FORBIDDEN: 'Only the hospital that holds this image labels it.',
        UNSUPPORTED_FORMAT: 'A mask must be a PNG image.',
        ...(this.dims === null ? {} : { LABEL_MISMATCH: `The mask must be ${this.dims} pixels, like the image.` })
      }}></mc-error-note>
      ${this.#label.render(l => l === null ? html`<p>Not labelled.</p>` : this.#facts(l))}
      ${this.#action.done === null ? nothing : html`<p class="ok" role="status">${this.#action.done}</p>`}
      <form @submit=${this.#save} aria-label="Ground truth mask">
        <label for="mask">Mask image (PNG${size})</label>
        <input id="mask" name="mask" type="file" accept="image/png" aria-describedby="mask-hint">
        <p id="mask-hint" class="muted">The size of the image; pixels that are not black mark lesion.</p>
        <label for="use">Use for</label>
        <select id="use" name="use" aria-describedby="use-hint">
          <option value="">Let the hospital choose</option><option value="train">Training</option><option value="validation">Held out for validation</option>
        </select>
        <p id="use-hint" class="muted">Held-out images are not trained on: each round's model is checked against them. Left to the hospital, about 1 image in 5 is held out, always the same ones.</p>
        <p class="row"><button type="submit" ?disabled=${this.#action.busy}>${label === null ? 'Save' : 'Replace'} ground truth</button>
          ${label === null ? nothing : html`<button type="button" class="danger" ?disabled=${this.#action.busy} @click=${this.#remove}>Remove ground truth</button>`}</p>
      </form>`}
    </section>`
  }
}
customElements.define('mc-label-panel', McLabelPanel)
