// Shown while signed in with the vault locked: after 30 minutes idle, after "Lock", or after a
// reload (the session cookie survives; the private keys never do). The password opens the vault
// again in this browser.
import { LitElement, css, html } from 'lit'
import { ActionController } from '../../services/action-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** `<mc-unlock .session=${s}>`. */
export class McUnlock extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared, css`form { max-width: 28rem; }`]

  declare session: Session
  readonly #action = new ActionController(this, { fail: err => this.session.fail(err) })

  async #submit (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const data = new FormData(e.currentTarget as HTMLFormElement)
    await this.#action.run(async () => { await this.session.unlock(String(data.get('password') ?? '')) })
  }

  override render () {
    return html`
      <h1>Your vault is locked</h1>
      <p class="note" role="status">Your private keys were removed from this page (after 30 minutes without activity, a reload, or because you locked it). Enter your password to open it again.</p>
      <form @submit=${this.#submit}>
        <input type="text" name="username" autocomplete="username" value=${this.session.user?.username ?? ''} hidden>
        <label for="password">Password for ${this.session.user?.username ?? 'your account'}</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <mc-error-note .error=${this.#action.error}></mc-error-note>
        <p class="row">
          <button type="submit" ?disabled=${this.#action.busy}>${this.#action.busy ? 'Unlocking…' : 'Unlock'}</button>
          <button type="button" class="secondary" @click=${async () => await this.session.signOut()}>Sign out</button>
        </p>
      </form>
    `
  }
}
customElements.define('mc-unlock', McUnlock)
