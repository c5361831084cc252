// One thumbnail, drawn scaled into a small canvas. An image with a card (protocol/image-meta.ts)
// shows the card's sealed thumbnail, a few KiB the card element decrypted in this page; an image
// from before cards is decrypted and decoded whole (through the session's image store), which
// starts only when the thumbnail scrolls into view, since each open is a logged read and a download.
import { LitElement, css, html } from 'lit'
import type { PropertyValues } from 'lit'
import type { ApiImage } from '../../../../protocol/client/client.ts'
import type { ImageMeta } from '../../../../protocol/image-meta.ts'
import { decodeForDisplay, drawable, release } from '../../services/display.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'

/** Side of the thumbnail canvas in CSS pixels. */
const SIDE = 160

/**
 * `<mc-thumbnail .session=${s} .image=${img} .card=${card} which="raw|result">`. `card`: the
 * image's opened card (undefined while it is being opened); images without one have `meta` null.
 */
export class McThumbnail extends LitElement {
  static override properties = { session: { attribute: false }, image: { attribute: false }, card: { attribute: false }, which: {}, state: { state: true }, source: { state: true } }
  static override styles = [shared, css`
    :host { display: block; width: ${SIDE}px; height: ${SIDE}px; background: #111; border-radius: 6px; overflow: hidden; position: relative; }
    canvas { width: 100%; height: 100%; display: block; }
    span { position: absolute; inset: auto 0 0 0; color: #fff; background: rgba(0,0,0,0.6); font-size: 0.8rem; padding: 0.2rem 0.4rem; }
  `]

  declare session: Session
  declare image: ApiImage
  declare card: ImageMeta | null | undefined
  declare which: 'raw' | 'result'
  declare state: 'idle' | 'loading' | 'shown' | 'failed'
  /** Where the pixels came from: the card's thumbnail, or the whole image. */
  declare source: 'card' | 'image' | null
  #observer: IntersectionObserver | null = null
  #visible = false

  constructor () {
    super()
    this.which = 'raw'
    this.state = 'idle'
    this.source = null
    this.card = undefined
  }

  override firstUpdated (): void {
    this.#observer = new IntersectionObserver((entries) => {
      if (entries.some(e => e.isIntersecting)) {
        this.#observer?.disconnect()
        this.#visible = true
        this.#maybeLoad()
      }
    })
    this.#observer.observe(this)
  }

  override updated (changed: PropertyValues<this>): void {
    if (changed.has('card')) this.#maybeLoad()
  }

  override disconnectedCallback (): void {
    super.disconnectedCallback()
    this.#observer?.disconnect()
  }

  /**
   * Draws the card's thumbnail as soon as the card is open (the card element opens it as it nears
   * the view); opens the whole image only once the thumbnail is in view and no card has one.
   */
  #maybeLoad (): void {
    if (this.state !== 'idle') return
    const thumb = this.which === 'raw' ? this.card?.thumbnail : undefined
    if (thumb !== undefined) void this.#draw('card', async () => thumb.bytes)
    else if (this.#visible && (this.image.meta === null || this.card !== undefined || this.which !== 'raw')) void this.#draw('image', async () => await this.session.images.open(this.image, this.which))
  }

  async #draw (source: 'card' | 'image', bytes: () => Promise<Uint8Array>): Promise<void> {
    this.state = 'loading'
    try {
      const decoded = await decodeForDisplay(await bytes())
      const canvas = this.renderRoot.querySelector('canvas')
      const ctx = canvas?.getContext('2d')
      if (canvas === null || canvas === undefined || ctx === null || ctx === undefined) return
      const ratio = window.devicePixelRatio || 1
      canvas.width = SIDE * ratio
      canvas.height = SIDE * ratio
      const k = Math.min(canvas.width / decoded.width, canvas.height / decoded.height)
      const w = decoded.width * k
      const h = decoded.height * k
      ctx.imageSmoothingQuality = 'high'
      ctx.drawImage(drawable(decoded), (canvas.width - w) / 2, (canvas.height - h) / 2, w, h)
      release(decoded)
      this.source = source
      this.state = 'shown'
    } catch (err) {
      this.session.fail(err)
      this.state = 'failed'
    }
  }

  override render () {
    const label = this.state === 'failed' ? 'Cannot show' : this.state === 'shown' ? '' : 'Decrypting…'
    const what = this.card?.name ?? `a ${this.image.modality} image`
    return html`<canvas role="img" aria-label="Thumbnail of ${what}" data-state=${this.state} data-source=${this.source ?? ''}></canvas>${label === '' ? '' : html`<span>${label}</span>`}`
  }
}
customElements.define('mc-thumbnail', McThumbnail)
