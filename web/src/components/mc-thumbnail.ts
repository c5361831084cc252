// One thumbnail: decrypts the image in this page (through the session's image store), decodes it
// and draws it scaled into a small canvas. Decryption starts only when the thumbnail scrolls into
// view, since each open is a logged read and a download.
import { LitElement, css, html } from 'lit'
import type { ApiImage } from '../../../protocol/client.ts'
import { decodeForDisplay, drawable, release } from '../services/display.ts'
import type { Session } from '../services/session.ts'
import { shared } from '../styles/shared.ts'

/** Side of the thumbnail canvas in CSS pixels. */
const SIDE = 160

/** `<mc-thumbnail .session=${s} .image=${img} which="raw|result">`. */
export class McThumbnail extends LitElement {
  static override properties = { session: { attribute: false }, image: { attribute: false }, which: {}, state: { state: true } }
  static override styles = [shared, css`
    :host { display: block; width: ${SIDE}px; height: ${SIDE}px; background: #111; border-radius: 6px; overflow: hidden; position: relative; }
    canvas { width: 100%; height: 100%; display: block; }
    span { position: absolute; inset: auto 0 0 0; color: #fff; background: rgba(0,0,0,0.6); font-size: 0.8rem; padding: 0.2rem 0.4rem; }
  `]

  declare session: Session
  declare image: ApiImage
  declare which: 'raw' | 'result'
  declare state: 'idle' | 'loading' | 'shown' | 'failed'
  #observer: IntersectionObserver | null = null

  constructor () {
    super()
    this.which = 'raw'
    this.state = 'idle'
  }

  override firstUpdated (): void {
    this.#observer = new IntersectionObserver((entries) => {
      if (entries.some(e => e.isIntersecting)) {
        this.#observer?.disconnect()
        void this.#load()
      }
    })
    this.#observer.observe(this)
  }

  override disconnectedCallback (): void {
    super.disconnectedCallback()
    this.#observer?.disconnect()
  }

  async #load (): Promise<void> {
    this.state = 'loading'
    try {
      const bytes = await this.session.images.open(this.image, this.which)
      const decoded = await decodeForDisplay(bytes)
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
      this.state = 'shown'
    } catch (err) {
      this.session.fail(err)
      this.state = 'failed'
    }
  }

  override render () {
    const label = this.state === 'loading' ? 'Decrypting…' : this.state === 'failed' ? 'Cannot show' : ''
    return html`<canvas role="img" aria-label="Thumbnail of a ${this.image.modality} image" data-state=${this.state}></canvas>${label === '' ? '' : html`<span>${label}</span>`}`
  }
}
customElements.define('mc-thumbnail', McThumbnail)
