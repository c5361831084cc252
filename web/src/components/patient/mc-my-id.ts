// The patient's id: as a short code to read out at a desk (protocol/patient-code.ts), as a QR code
// for a clinician to scan, and as the full text to copy. The id is a hash of the patient's public
// key (docs/design.md §5): it names no one, but it links their records, so it is shown only here, to
// its owner.
import { LitElement, css, html, svg } from 'lit'
import { patientCodeOf } from '../../../../protocol/patient-code.ts'
import { patientQrPayload } from '../../lib/patient/patient-id.ts'
import { qrPath } from '../../lib/patient/qr.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'

/** Quiet zone around the symbol, in modules (ISO/IEC 18004 §6.3.8 asks for 4). */
const QUIET = 4

/** `<mc-my-id .session=${s}>`. */
export class McMyId extends LitElement {
  static override properties = { session: { attribute: false }, copied: { state: true } }
  static override styles = [shared, css`
    svg { width: min(100%, 280px); height: auto; display: block; background: #fff; border: 1px solid #c9d1d9; border-radius: 6px; }
    .code { font-family: ui-monospace, Menlo, monospace; font-size: 2rem; letter-spacing: 0.15em; margin: 0.25rem 0 0.75rem; }
  `]

  declare session: Session
  declare copied: boolean

  constructor () {
    super()
    this.copied = false
  }

  async #copy (id: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(id)
      this.copied = true
    } catch {
      this.copied = false
    }
  }

  override render () {
    const id = this.session.user?.patientId
    if (id === undefined) return html`<p role="alert">This account has no patient id.</p>`
    const qr = qrPath(patientQrPayload(id))
    const side = qr.size + QUIET * 2
    return html`
      <h1>My patient id</h1>
      <p>Read this code out to the clinician or the desk, or show them the QR code. It lets them find your records; it does not let them open your images unless you or your hospital allow it.</p>
      <h2>Your patient code</h2>
      <p class="code" data-testid="patient-code">${patientCodeOf(id)}</p>
      <p class="muted">Ten letters and digits; there is no I, L, O or U in a code. The last one is a check, so a misheard character is caught.</p>
      <h2>Your QR code</h2>
      ${svg`<svg viewBox="${-QUIET} ${-QUIET} ${side} ${side}" role="img" aria-label="QR code of your patient id" shape-rendering="crispEdges">
        <rect x=${-QUIET} y=${-QUIET} width=${side} height=${side} fill="#fff"></rect><path d=${qr.d} fill="#000"></path></svg>`}
      <p class="mono" data-testid="patient-id">${id}</p>
      <p><button type="button" class="secondary" @click=${async () => await this.#copy(id)}>Copy the id</button>
        <span role="status">${this.copied ? 'Copied.' : ''}</span></p>
    `
  }
}
customElements.define('mc-my-id', McMyId)
