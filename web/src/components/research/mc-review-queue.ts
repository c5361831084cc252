// The admin's queue of images held back from research exports until a person checks them for
// burned-in text (marked Burned In Annotation YES, text the OCR was unsure of, or pixels it could
// not read). The admin sees the image after the automatic blackout, then releases it into later
// exports or keeps it out.
import { LitElement, html } from 'lit'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

interface Held { project: string, image: string, reason: string, preview: boolean }

const REASONS: Record<string, string> = {
  'burned-in-annotation': 'the file says it has burned-in annotation',
  'uncertain-text': 'the text detector was unsure',
  'unreadable-pixels': 'the text detector cannot read these pixels'
}

/** `<mc-review-queue .session=${s} .titles=${map}>`. */
export class McReviewQueue extends LitElement {
  static override properties = { session: { attribute: false }, titles: { attribute: false }, error: { state: true } }
  static override styles = [shared]

  declare session: Session
  declare titles: ReadonlyMap<string, string>
  declare error: unknown
  readonly #held = new LoadController(this, {
    load: async () => (await (await this.session.client.request('GET', '/api/research/reviews')).json() as { reviews: Held[] }).reviews,
    fail: err => this.session.fail(err)
  })

  constructor () {
    super()
    this.error = null
    this.titles = new Map()
  }

  async #decide (h: Held, release: boolean): Promise<void> {
    this.error = null
    try {
      await this.session.client.request('POST', `/api/research/reviews/${h.project}/${h.image}`, { release })
      this.#held.reload()
    } catch (err) {
      this.error = this.session.fail(err)
    }
  }

  override render () {
    return html`<section class="card" aria-labelledby="held-title">
      <h2 id="held-title">Waiting for a burned-in text check</h2>
      <mc-error-note .error=${this.error ?? this.#held.error}></mc-error-note>
      ${this.#held.render(list => list.length === 0 ? html`<p>No image is waiting.</p>` : html`<ul data-testid="held">${list.map(h => html`<li class="card" data-image=${h.image}>
        <p>${this.titles.get(h.project) ?? 'A project'}: held because ${REASONS[h.reason] ?? h.reason}.</p>
        ${h.preview ? html`<img src=${`/api/research/reviews/${h.project}/${h.image}/preview`} alt="The image after automatic blackout of burned-in text" width="256">` : html`<p class="muted">No preview here; the next export of the project makes one.</p>`}
        <div class="row">
          <button type="button" @click=${async () => await this.#decide(h, true)}>No identifying text: release</button>
          <button type="button" class="danger" @click=${async () => await this.#decide(h, false)}>Keep out of exports</button>
        </div>
      </li>`)}</ul>`)}
    </section>`
  }
}
customElements.define('mc-review-queue', McReviewQueue)
