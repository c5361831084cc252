// The sign-in page: username and password, which sign in and open the key vault in this browser
// (PBKDF2 in WebCrypto). A patient of another member hospital types `name@hospital` or picks the
// hospital from the list: the page then seals its proof to that hospital, and this one only
// relays it (docs/design.md §3 "The shared portal"). Wrong password, pending approval, lockout,
// rate limiting and an unreachable home hospital each get their own plain message (mc-error-note).
import { LitElement, css, html } from 'lit'
import { hospitalShortName } from '../../../../protocol/crypto/relay-sign-in.ts'
import type { ApiHome } from '../../../../protocol/client/client.ts'
import { ActionController } from '../../services/action-controller.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** `<mc-sign-in .session=${s}>`. */
export class McSignIn extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared, css`form { max-width: 28rem; } select { width: 100%; }`]

  declare session: Session
  readonly #action = new ActionController(this)
  /** The member hospitals; without them (an old peer, a network error) only local sign-in is offered. */
  readonly #homes = new LoadController<ApiHome[]>(this, { load: async () => await this.session.client.homes() })

  async #submit (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const data = new FormData(e.currentTarget as HTMLFormElement)
    const home = String(data.get('home') ?? '')
    await this.#action.run(async () => {
      await this.session.signIn(String(data.get('username') ?? '').trim(), String(data.get('password') ?? ''), home === '' ? undefined : home)
    })
  }

  #homeField () {
    const others = (this.#homes.value ?? []).filter(h => !h.self)
    if (others.length === 0) return html``
    const here = this.#homes.value?.find(h => h.self)
    return html`
      <label for="home">Your home hospital</label>
      <select id="home" name="home" aria-describedby="home-help">
        <option value="">${here === undefined ? 'This hospital' : `${here.name} (this hospital)`}</option>
        ${others.map(h => html`<option value=${h.key}>${h.name}</option>`)}
      </select>
      <p id="home-help" class="muted">Patients of another member hospital: pick it here, or type your username as
        <code>name@${hospitalShortName(others[0].name)}</code>. Your home hospital checks your password; this one never sees it.</p>
    `
  }

  /** With other hospitals to pick from, a wrong name or password here may be a patient of one of them. */
  #texts (): Record<string, string> {
    if ((this.#homes.value ?? []).every(h => h.self)) return {}
    return { BAD_CREDENTIALS: 'The username or the password is wrong. If your account is at another hospital, pick it under "Your home hospital" or type your username as name@hospital.' }
  }

  override render () {
    return html`
      <h1>Sign in</h1>
      <form @submit=${this.#submit} aria-busy=${this.#action.busy ? 'true' : 'false'}>
        <label for="username">Username</label>
        <input id="username" name="username" autocomplete="username" required autocapitalize="none" spellcheck="false">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        ${this.#homeField()}
        <mc-error-note .error=${this.#action.error} .texts=${this.#texts()}></mc-error-note>
        <p><button type="submit" ?disabled=${this.#action.busy}>${this.#action.busy ? 'Signing in…' : 'Sign in'}</button></p>
      </form>
      <p class="muted">Your password also opens your key vault in this browser; the hospital never sees your private keys.</p>
      <p>Forgot your password? <a href="/app/recover">Use your recovery code</a>.</p>
      <p>New here? <a href="/app/sign-up">Create an account</a>.</p>
    `
  }
}
customElements.define('mc-sign-in', McSignIn)
