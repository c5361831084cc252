// The recovery code, shown once (issue 16.2): right after a patient's sign-up and after each use
// of the previous code. It is kept only in this page's memory until the patient says they saved
// it; the printed sheet holds the code and the username, nothing else, since the code opens the
// second copy of the key vault that the hospital stores.
import { LitElement, css, html } from 'lit'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'

/** `<mc-recovery-code .session=${s}>`: shown by mc-app while `session.recoveryCode` is set. */
export class McRecoveryCode extends LitElement {
  static override properties = { session: { attribute: false }, saved: { state: true } }
  static override styles = [shared, css`
    .code { font: 700 1.6rem/1.4 ui-monospace, monospace; letter-spacing: 0.08em; padding: 0.75rem 1rem; border: 2px dashed #0b2e4f; display: inline-block; background: #fff; }
    @media print { .screen-only { display: none; } .code { border-color: #000; } }
  `]

  declare session: Session
  declare saved: boolean

  constructor () {
    super()
    this.saved = false
  }

  override render () {
    const code = this.session.recoveryCode ?? ''
    return html`
      <h1>Your recovery code</h1>
      <p class="warn screen-only" role="alert">Write this code down or print it now. It is shown only once.</p>
      <p>Account: <strong>${this.session.user?.username ?? ''}</strong></p>
      <p class="code" data-testid="recovery-code" aria-label="Recovery code ${code.split('').join(' ')}">${code}</p>
      <p>If you forget your password, this code lets you set a new one and keeps your keys, your images and your consents. Keep it somewhere safe, apart from your password; anyone holding it and your username can reset your password.</p>
      <div class="screen-only">
        <p><button type="button" class="secondary" @click=${() => window.print()}>Print the code</button></p>
        <label class="choice"><input type="checkbox" .checked=${this.saved} @change=${(e: Event) => { this.saved = (e.target as HTMLInputElement).checked }}> I have written down or printed this code</label>
        <p><button type="button" ?disabled=${!this.saved} @click=${() => this.session.acknowledgeRecoveryCode()}>Continue</button></p>
      </div>
    `
  }
}
customElements.define('mc-recovery-code', McRecoveryCode)
