// A patient's images as a grid of cards (mc-image-card): thumbnail, file name, date taken and
// description from each image's sealed card, with modality, size, date added, custodian hospital,
// detect-strange score and the basis of access. Each opens the viewer; for a clinician, a DICOM
// entry also opens its study in the OHIF viewer at /viewer. `patientId` null lists the signed-in
// patient's own images.
import { LitElement, css, html, nothing } from 'lit'
import { repeat } from 'lit/directives/repeat.js'
import type { PropertyValues } from 'lit'
import type { ApiImage } from '../../../../protocol/client/client.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { groupImages } from '../../lib/images/series.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'
import './mc-image-card.ts'

/**
 * `<mc-image-grid .session=${s} .patientId=${id|null} .refresh=${n}>`: bump `refresh` to list again.
 * Emits 'mc-listed' with `{ count, code }` after each listing (code: the error code, or null).
 */
export class McImageGrid extends LitElement {
  static override properties = { session: { attribute: false }, patientId: { attribute: false }, refresh: { type: Number } }

  static override styles = [shared, css`
    ul { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 1rem; }
    .ohif { margin: 0.3rem 0 0; font-size: 0.9rem; }
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

  /**
   * For a clinician, a DICOM image's study in the OHIF viewer the peer serves (node/viewer): the
   * peer resolves the study's ledger id to its UID, checking access, and redirects to /viewer. A
   * new tab, so this page, its unlocked keys and the patient's list stay open.
   */
  #ohifLink (img: ApiImage) {
    if (this.patientId === null || img.dicom === null || img.record === null) return nothing
    return html`<p class="ohif"><a href=${`/api/viewer/studies/${img.record}`} target="_blank" rel="noopener" data-testid="open-in-ohif"
      aria-label=${`Open the study in OHIF (the ${img.modality} study, in a new tab)`}>Open the study in OHIF</a></p>`
  }

  override render () {
    const { loading, error } = this.#images
    return html`<p><button type="button" class="secondary" @click=${async () => await this.#images.reload()} ?disabled=${loading}>Refresh the list</button></p>
      ${error === null ? this.#images.render(images => this.#grid(images), 'Loading images…') : html`<mc-error-note .error=${error}></mc-error-note>`}`
  }

  #grid (images: ApiImage[]) {
    if (images.length === 0) return html`<p role="status">No images yet.</p>`
    // A series of slices is one entry that opens in the viewer and scrolls (lib/images/series.ts).
    return html`<ul aria-label="Images" aria-busy=${this.#images.loading ? 'true' : 'false'}>
      ${repeat(groupImages(images), group => group.key, ({ lead: img, images: slices }) => html`<li data-slices=${slices.length}>
        <mc-image-card .session=${this.session} .image=${img} .slices=${slices} href=${this.#href(img)} ?access=${this.patientId !== null}></mc-image-card>
        ${this.#ohifLink(img)}
      </li>`)}
    </ul>`
  }
}
customElements.define('mc-image-grid', McImageGrid)
