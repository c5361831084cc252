// "My account", for every role (issue 16.1): change the password. The keys are re-sealed here,
// in the browser, under the new password before anything is sent; the peer checks the current
// password and ends every other session of the account, so a device left signed in elsewhere
// is signed out.
import { LitElement, css, html, nothing } from 'lit'
import { MedichainError } from '../../../../protocol/errors.ts'
import { PASSWORD_MAX, PASSWORD_MIN } from '../../../../protocol/crypto/auth-secret.ts'
import { ActionController } from '../../services/action-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** `<mc-account .session=${s}>`. */
export class McAccount extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared, css`form { max-width: 28rem; }`]

  declare session: Session
  readonly #action = new ActionController(this, { fail: err => this.session.fail(err) })

  async #submit (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const data = new FormData(form)
    const current = String(data.get('current') ?? '')
    const next = String(data.get('password') ?? '')
    const length = [...next.normalize('NFC')].length
    this.#action.error = null
    if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
      this.#action.error = new MedichainError('WEAK_PASSWORD', 'password length out of range')
      return
    }
    if (next !== String(data.get('confirm') ?? '')) {
      this.#action.error = new MedichainError('INVALID', 'the two passwords differ')
      return
    }
    await this.#action.run(async () => {
      await this.session.client.changePassword(current, next)
      form.reset()
      this.#action.done = 'Your password is changed, and your keys are sealed under it. Every other device signed in to this account was signed out.'
    })
  }

  override render () {
    const remote = this.session.user?.remote
    // A patient signed in through their home hospital has no account here (HOME_ONLY at the peer).
    if (remote !== undefined) {
      return html`
        <h1>My account</h1>
        <p class="note" role="status" data-testid="home-only">Your account lives at your home hospital, <strong>${remote.hospitalName}</strong>. Change your password there; it signs you out here too.</p>
      `
    }
    return html`
      <h1>My account</h1>
      <h2>Change the password</h2>
      <p class="muted">Your keys are sealed again under the new password in this browser. Your recovery code stays valid.</p>
      ${this.#action.done === null ? nothing : html`<p class="ok" role="status">${this.#action.done}</p>`}
      <form @submit=${this.#submit}>
        <input type="text" name="username" autocomplete="username" value=${this.session.user?.username ?? ''} hidden>
        <label for="current">Current password</label>
        <input id="current" name="current" type="password" autocomplete="current-password" required>
        <label for="password">New password</label>
        <input id="password" name="password" type="password" autocomplete="new-password" required aria-describedby="password-hint">
        <p id="password-hint" class="muted">12 to 128 characters.</p>
        <label for="confirm">Repeat the new password</label>
        <input id="confirm" name="confirm" type="password" autocomplete="new-password" required>
        <mc-error-note .error=${this.#action.error}></mc-error-note>
        <p><button type="submit" ?disabled=${this.#action.busy}>${this.#action.busy ? 'Sealing keys…' : 'Change the password'}</button></p>
      </form>
    `
  }
}
customElements.define('mc-account', McAccount)
