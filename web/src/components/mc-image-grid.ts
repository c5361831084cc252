// A patient's images as a grid of thumbnails with what a clinician needs at a glance: modality,
// size, date, custodian hospital, detect-strange score and the basis of access. Each opens the
// viewer. `patientId` null lists the signed-in patient's own images.
import { LitElement, css, html, nothing } from 'lit'
import type { PropertyValues } from 'lit'
import type { ApiImage } from '../../../protocol/client.ts'
import { formatBytes, formatScore, formatTime } from '../lib/format.ts'
import { LoadController } from '../services/load-controller.ts'
import type { Session } from '../services/session.ts'
import { groupImages } from '../lib/series.ts'
import { shared } from '../styles/shared.ts'
import './mc-error-note.ts'
import './mc-thumbnail.ts'

const BASIS: Record<string, string> = { patient: 'yours', custodian: 'this hospital holds it', consent: 'by the patient\'s consent', emergency: 'emergency access' }

/**
 * `<mc-image-grid .session=${s} .patientId=${id|null} .refresh=${n}>`: bump `refresh` to list again.
 * Emits 'mc-listed' with `{ count, code }` after each listing (code: the error code, or null).
 */
export class McImageGrid extends LitElement {
  static override properties = { session: { attribute: false }, patientId: { attribute: false }, refresh: { type: Number } }

  static override styles = [shared, css`
    ul { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 1rem; }
    li { background: #fff; border: 1px solid #c9d1d9; border-radius: 8px; padding: 0.5rem; }
    a.open { display: block; text-decoration: none; color: inherit; border-radius: 6px; }
    dl { margin: 0.4rem 0 0; font-size: 0.85rem; display: grid; grid-template-columns: auto 1fr; gap: 0 0.4rem; }
    dt { color: #4a5560; } dd { margin: 0; word-break: break-word; }
  `]

  declare session: Session
  declare patientId: string | null
  declare refresh: number
  // Always asks the peer again (never the session's cache): a consent may have changed since.
  readonly #images = new LoadController(this, {
    args: () => [this.patientId],
    load: async () => await this.session.images.list(this.patientId, true),
    fail: err => this.session.fail(err),
    settled: () => {
      const { value, error } = this.#images
      const code = (error as { code?: unknown } | null)?.code
      const detail = { count: error === null ? value?.length ?? 0 : 0, code: typeof code === 'string' ? code : null }
      this.dispatchEvent(new CustomEvent('mc-listed', { detail, bubbles: true, composed: true }))
    }
  })

  constructor () {
    super()
    this.patientId = null
    this.refresh = 0
  }

  override willUpdate (changed: PropertyValues<this>): void {
    // A new patient loads by itself (the controller's input); a bumped `refresh` lists again.
    if (changed.has('refresh') && !changed.has('patientId')) void this.#images.reload()
  }

  #href (image: ApiImage): string {
    return this.patientId === null ? `/app/patient/images/${image.raw}` : `/app/clinician/patients/${this.patientId}/images/${image.raw}`
  }

  override render () {
    const { loading, error } = this.#images
    return html`<p><button type="button" class="secondary" @click=${async () => await this.#images.reload()} ?disabled=${loading}>Refresh the list</button></p>
      ${error === null ? this.#images.render(images => this.#grid(images), 'Loading images…') : html`<mc-error-note .error=${error}></mc-error-note>`}`
  }

  #grid (images: ApiImage[]) {
    if (images.length === 0) return html`<p role="status">No images yet.</p>`
    // A series of slices is one entry that opens in the viewer and scrolls (lib/series.ts).
    return html`<ul aria-label="Images" aria-busy=${this.#images.loading ? 'true' : 'false'}>
      ${groupImages(images).map(({ lead: img, images: slices }) => html`<li data-slices=${slices.length}>
        <a class="open" href=${this.#href(img)} aria-label=${slices.length > 1
          ? `Open the ${img.modality} series of ${slices.length} slices of ${formatTime(img.time)} in the viewer`
          : `Open the ${img.modality} image of ${formatTime(img.time)} in the viewer`}>
          <mc-thumbnail .session=${this.session} .image=${img}></mc-thumbnail>
        </a>
        <dl>
          <dt>Type</dt><dd>${img.modality}${slices.length > 1 ? ` series · ${slices.length} slices` : ''}</dd>
          <dt>Size</dt><dd>${formatBytes(slices.reduce((n, i) => n + i.size, 0))}</dd>
          <dt>Added</dt><dd>${formatTime(img.time)}</dd>
          <dt>Hospital</dt><dd>${img.custodianName ?? img.custodian.slice(0, 12)}</dd>
          <dt>Score</dt><dd>${formatScore(img.score)}</dd>
          ${this.patientId === null ? nothing : html`<dt>Access</dt><dd>${BASIS[img.basis] ?? img.basis}</dd>`}
        </dl>
      </li>`)}
    </ul>`
  }
}
customElements.define('mc-image-grid', McImageGrid)
