// Scans the patient's QR code with the device camera (getUserMedia) and decodes frames with jsQR,
// loaded only when a scan starts so the decoder stays out of the main bundle. Without a camera
// or permission it says so and points to the paste fallback. Emits 'mc-scanned' with the text.
import { LitElement, css, html, nothing } from 'lit'
import { parsePatientId } from '../../lib/patient/patient-id.ts'
import { shared } from '../../styles/shared.ts'

/** Longest side of the frame handed to the decoder: enough for a phone-held QR, cheap to scan. */
const SCAN_SIDE = 480

/** `<mc-qr-scanner @mc-scanned=${(e) => e.detail}>`: starts the camera when connected. */
export class McQrScanner extends LitElement {
  static override properties = { problem: { state: true }, status: { state: true } }
  static override styles = [shared, css`
    video { width: 100%; max-width: 28rem; border-radius: 8px; background: #000; display: block; }
  `]

  declare problem: string | null
  declare status: string
  #stream: MediaStream | null = null
  #frame = 0
  #stopped = false

  constructor () {
    super()
    this.problem = null
    this.status = 'Starting the camera…'
  }

  override connectedCallback (): void {
    super.connectedCallback()
    this.#stopped = false
    void this.#start()
  }

  override disconnectedCallback (): void {
    super.disconnectedCallback()
    this.#stop()
  }

  async #start (): Promise<void> {
    if (navigator.mediaDevices?.getUserMedia === undefined) {
      this.problem = 'This browser offers no camera here (a camera needs https or localhost).'
      return
    }
    try {
      const [stream, decoder] = await Promise.all([
        navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false }),
        import('jsqr')
      ])
      if (this.#stopped) { stream.getTracks().forEach(t => t.stop()); return }
      this.#stream = stream
      await this.updateComplete
      const video = this.renderRoot.querySelector('video')
      if (video === null) return
      video.srcObject = stream
      await video.play()
      this.status = 'Hold the patient\'s QR code in front of the camera.'
      // jsqr is a UMD bundle: its CommonJS export object carries the function again as `default`.
      const jsQR = decoder.default.default
      const canvas = document.createElement('canvas')
      const ctx = canvas.getContext('2d', { willReadFrequently: true })
      const tick = (): void => {
        if (this.#stopped || ctx === null) return
        if (video.videoWidth > 0) {
          const k = Math.min(1, SCAN_SIDE / Math.max(video.videoWidth, video.videoHeight))
          canvas.width = Math.round(video.videoWidth * k)
          canvas.height = Math.round(video.videoHeight * k)
          ctx.drawImage(video, 0, 0, canvas.width, canvas.height)
          const frame = ctx.getImageData(0, 0, canvas.width, canvas.height)
          const found = jsQR(frame.data, frame.width, frame.height, { inversionAttempts: 'dontInvert' })
          if (found !== null && parsePatientId(found.data) !== null) {
            this.#stop()
            this.dispatchEvent(new CustomEvent('mc-scanned', { detail: found.data, bubbles: true, composed: true }))
            return
          }
          if (found !== null) this.status = 'That QR code is not a Medichain patient id.'
        }
        this.#frame = requestAnimationFrame(tick)
      }
      tick()
    } catch (err) {
      this.problem = err instanceof DOMException && err.name === 'NotAllowedError'
        ? 'The camera is blocked for this page. Allow it in the browser, or paste the id instead.'
        : 'No camera could be started. Paste the patient id instead.'
    }
  }

  #stop (): void {
    this.#stopped = true
    cancelAnimationFrame(this.#frame)
    this.#stream?.getTracks().forEach(t => t.stop())
    this.#stream = null
  }

  override render () {
    if (this.problem !== null) return html`<p class="warn" role="alert" data-code="NO_CAMERA">${this.problem}</p>`
    return html`
      <video muted playsinline aria-label="Camera preview for scanning the QR code"></video>
      <p role="status" class="muted">${this.status}</p>
      ${nothing}
    `
  }
}
customElements.define('mc-qr-scanner', McQrScanner)
