// One image, or one series of slices (lib/images/series.ts), as a person recognises it: the thumbnail,
// file name, date taken and description from the lead image's sealed card (protocol/image-meta.ts), decrypted in this page when the card scrolls
// into view, beside what the listing says (type, size, when added, hospital, score, access). An
// image from before cards, or whose card does not open, shows its decrypted image as the
// thumbnail instead (a logged open).
import { LitElement, css, html, nothing } from 'lit'
import type { ApiImage } from '../../../../protocol/client/client.ts'
import type { ImageMeta } from '../../../../protocol/image-meta.ts'
import { formatBytes, formatCardDate, formatScore, formatTime } from '../../lib/words/format.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import './mc-thumbnail.ts'

const BASIS: Record<string, string> = { patient: 'yours', custodian: 'this hospital holds it', consent: 'by the patient\'s consent', emergency: 'emergency access' }

/** `<mc-image-card .session=${s} .image=${lead} .slices=${images} href="…" ?access=${true}>`; `slices` defaults to the image alone. */
export class McImageCard extends LitElement {
  static override properties = {
    session: { attribute: false },
    image: { attribute: false },
    slices: { attribute: false },
    href: {},
    access: { type: Boolean },
    card: { state: true },
    failed: { state: true }
  }

  static override styles = [shared, css`
    :host { display: block; background: #fff; border: 1px solid #c9d1d9; border-radius: 8px; padding: 0.5rem; }
    a.open { display: block; text-decoration: none; color: inherit; border-radius: 6px; }
    .name { font-weight: 600; margin: 0.4rem 0 0; word-break: break-word; }
    .about { margin: 0.1rem 0 0; font-size: 0.9rem; word-break: break-word; }
    dl { margin: 0.4rem 0 0; font-size: 0.85rem; display: grid; grid-template-columns: auto 1fr; gap: 0 0.4rem; }
    dt { color: #4a5560; } dd { margin: 0; word-break: break-word; }
  `]

  declare session: Session
  declare image: ApiImage
  /** Every image the entry stands for: a series' slices, in order, or the image alone. */
  declare slices: ApiImage[] | undefined
  declare href: string
  declare access: boolean
  /** undefined: not opened yet; null: the image has no card. */
  declare card: ImageMeta | null | undefined
  declare failed: boolean
  #observer: IntersectionObserver | null = null

  constructor () {
    super()
    this.access = false
    this.card = undefined
    this.failed = false
  }

  override firstUpdated (): void {
    if (this.image.meta === null) { this.card = null; return }
    // Opened a screen ahead of the view: a card is a few KiB and logs no read, so a scrolled
    // list shows its thumbnails at once.
    this.#observer = new IntersectionObserver((entries) => {
      if (entries.some(e => e.isIntersecting)) {
        this.#observer?.disconnect()
        void this.#load()
      }
    }, { rootMargin: '100% 0px' })
    this.#observer.observe(this)
  }

  override disconnectedCallback (): void {
    super.disconnectedCallback()
    this.#observer?.disconnect()
  }

  async #load (): Promise<void> {
    try {
      this.card = await this.session.images.card(this.image)
    } catch (err) {
      this.session.fail(err)
      this.failed = true
    }
  }

  #title (): string {
    return this.card?.name ?? `${this.image.modality} image`
  }

  /** "Open the CT image knee.dcm, taken 6 Dec 2026, 14:15, added …, in the viewer" (or "the CT series of 12 slices …"). */
  #label (): string {
    const card = this.card ?? undefined
    const n = this.#count()
    const what = n > 1 ? `series of ${n} slices` : 'image'
    const name = card?.name === undefined ? '' : ` ${card.name}`
    const taken = card?.date === undefined ? '' : `, taken ${formatCardDate(card.date)}`
    return `Open the ${this.image.modality} ${what}${name}${taken}, added ${formatTime(this.image.time)}, in the viewer`
  }

  #count (): number {
    return this.slices?.length ?? 1
  }

  override render () {
    const img = this.image
    const card = this.card ?? undefined
    return html`
      <a class="open" href=${this.href} aria-label=${this.#label()}>
        <mc-thumbnail .session=${this.session} .image=${img} .card=${this.failed ? null : this.card}></mc-thumbnail>
      </a>
      <p class="name" data-testid="card-name">${this.#title()}</p>
      ${card?.description === undefined ? nothing : html`<p class="about" data-testid="card-description">${card.description}</p>`}
      <dl>
        ${card?.date === undefined ? nothing : html`<dt>Taken</dt><dd data-testid="card-date">${formatCardDate(card.date)}</dd>`}
        <dt>Type</dt><dd>${img.modality}${this.#count() > 1 ? ` series · ${this.#count()} slices` : ''}</dd>
        <dt>Size</dt><dd>${formatBytes((this.slices ?? [img]).reduce((n, i) => n + i.size, 0))}</dd>
        <dt>Added</dt><dd>${formatTime(img.time)}</dd>
        <dt>Hospital</dt><dd>${img.custodianName ?? img.custodian.slice(0, 12)}</dd>
        <dt>Score</dt><dd>${formatScore(img.score)}</dd>
        ${this.access ? html`<dt>Access</dt><dd>${BASIS[img.basis] ?? img.basis}</dd>` : nothing}
      </dl>`
  }
}
customElements.define('mc-image-card', McImageCard)
