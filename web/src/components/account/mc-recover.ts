// "Forgot your password?" (issue 16.2): the username, the recovery code from paper and a new
// password. The code opens the second copy of the key vault here, in the browser; the keys are
// sealed under the new password and under a new recovery code, which is shown next, and the code
// used stops working. A wrong code, a used code and too many attempts each get their own words.
import { LitElement, css, html } from 'lit'
import { MedichainError } from '../../../../protocol/errors.ts'
import { PASSWORD_MAX, PASSWORD_MIN } from '../../../../protocol/crypto/auth-secret.ts'
import { ActionController } from '../../services/action-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** `<mc-recover .session=${s}>`. */
export class McRecover extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared, css`form { max-width: 28rem; } #code { font-family: ui-monospace, monospace; text-transform: uppercase; }`]

  declare session: Session
  readonly #action = new ActionController(this)

  async #submit (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const data = new FormData(e.currentTarget as HTMLFormElement)
    const password = String(data.get('password') ?? '')
    const length = [...password.normalize('NFC')].length
    this.#action.error = null
    if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
      this.#action.error = new MedichainError('WEAK_PASSWORD', 'password length out of range')
      return
    }
    if (password !== String(data.get('confirm') ?? '')) {
      this.#action.error = new MedichainError('INVALID', 'the two passwords differ')
      return
    }
    await this.#action.run(async () => {
      await this.session.recover(String(data.get('username') ?? '').trim(), String(data.get('code') ?? ''), password)
    })
  }

  override render () {
    return html`
      <h1>Set a new password with your recovery code</h1>
      <p class="muted">The code was shown once when you created your account, to print or write down. It keeps your keys, images and consents.</p>
      <form @submit=${this.#submit}>
        <label for="username">Username</label>
        <input id="username" name="username" autocomplete="username" required autocapitalize="none" spellcheck="false">
        <label for="code">Recovery code</label>
        <input id="code" name="code" required autocomplete="off" autocapitalize="characters" spellcheck="false" aria-describedby="code-hint">
        <p id="code-hint" class="muted">20 letters and digits, as printed; dashes and spaces do not matter.</p>
        <label for="password">New password</label>
        <input id="password" name="password" type="password" autocomplete="new-password" required>
        <label for="confirm">Repeat the new password</label>
        <input id="confirm" name="confirm" type="password" autocomplete="new-password" required>
        <mc-error-note .error=${this.#action.error}></mc-error-note>
        <p><button type="submit" ?disabled=${this.#action.busy}>${this.#action.busy ? 'Opening your keys…' : 'Set the new password'}</button></p>
      </form>
      <p>Lost the code as well? Go to a hospital that holds your images with an identity document: two hospitals together can move your records to a new key (assisted recovery).</p>
      <p><a href="/app/sign-in">Back to sign in</a></p>
    `
  }
}
customElements.define('mc-recover', McRecover)
