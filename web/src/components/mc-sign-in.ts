// The sign-in page: username and password, which sign in at this hospital's peer and open the key
// vault in this browser (PBKDF2 in WebCrypto). Wrong password, pending approval, lockout and rate
// limiting each get their own plain message (mc-error-note).
import { LitElement, css, html } from 'lit'
import { ActionController } from '../services/action-controller.ts'
import type { Session } from '../services/session.ts'
import { shared } from '../styles/shared.ts'
import './mc-error-note.ts'

/** `<mc-sign-in .session=${s}>`. */
export class McSignIn extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared, css`form { max-width: 28rem; }`]

  declare session: Session
  readonly #action = new ActionController(this)

  async #submit (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const data = new FormData(e.currentTarget as HTMLFormElement)
    await this.#action.run(async () => { await this.session.signIn(String(data.get('username') ?? '').trim(), String(data.get('password') ?? '')) })
  }

  override render () {
    return html`
      <h1>Sign in</h1>
      <form @submit=${this.#submit} aria-busy=${this.#action.busy ? 'true' : 'false'}>
        <label for="username">Username</label>
        <input id="username" name="username" autocomplete="username" required autocapitalize="none" spellcheck="false">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <mc-error-note .error=${this.#action.error}></mc-error-note>
        <p><button type="submit" ?disabled=${this.#action.busy}>${this.#action.busy ? 'Signing in…' : 'Sign in'}</button></p>
      </form>
      <p class="muted">Your password also opens your key vault in this browser; the hospital never sees your private keys.</p>
      <p>Forgot your password? <a href="/app/recover">Use your recovery code</a>.</p>
      <p>New here? <a href="/app/sign-up">Create an account</a>.</p>
    `
  }
}
customElements.define('mc-sign-in', McSignIn)
