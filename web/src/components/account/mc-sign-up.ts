// Sign-up, and the one-time admin setup (the peer's /setup#token=… link). Keys are made here and
// the vault is sealed here before anything is sent. Patients and the setup admin are signed in at
// once; clinicians and researchers wait for an admin's approval, and the page says so.
import { LitElement, css, html, nothing } from 'lit'
import { MedichainError } from '../../../../protocol/errors.ts'
import type { Role } from '../../../../protocol/chain/tx.ts'
import { ActionController } from '../../services/action-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** Password length bounds of the peer (docs/api.md: 12 to 128 code points after NFC). */
const MIN_PASSWORD = 12
const MAX_PASSWORD = 128

/** `<mc-sign-up .session=${s} .setupToken=${token|null} ?setup=${bool}>`. */
export class McSignUp extends LitElement {
  static override properties = {
    session: { attribute: false },
    setup: { type: Boolean },
    setupToken: { attribute: false },
    pending: { state: true }
  }

  static override styles = [shared, css`form { max-width: 28rem; } fieldset { border: 0; padding: 0; margin: 0.6rem 0; } legend { font-weight: 600; }
    .choice { display: flex; gap: 0.5rem; align-items: center; font-weight: 400; margin: 0.25rem 0; }`]

  declare session: Session
  declare setup: boolean
  declare setupToken: string | null
  declare pending: string | null
  readonly #action = new ActionController(this)

  constructor () {
    super()
    this.setup = false
    this.setupToken = null
    this.pending = null
  }

  async #submit (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const data = new FormData(e.currentTarget as HTMLFormElement)
    const username = String(data.get('username') ?? '').trim()
    const password = String(data.get('password') ?? '')
    const role = (this.setup ? 'admin' : String(data.get('role') ?? 'patient')) as Role
    const length = [...password.normalize('NFC')].length
    this.#action.error = null
    if (length < MIN_PASSWORD || length > MAX_PASSWORD) {
      this.#action.error = new MedichainError('WEAK_PASSWORD', 'password length out of range')
      return
    }
    if (password !== String(data.get('confirm') ?? '')) {
      this.#action.error = new MedichainError('INVALID', 'the two passwords differ')
      return
    }
    const hospital = String(data.get('hospital') ?? '').trim()
    if (this.setup && hospital === '') {
      this.#action.error = new MedichainError('INVALID', 'the hospital needs a name')
      return
    }
    await this.#action.run(async () => {
      const status = await this.session.signUp({ username, password, role, ...(this.setup && this.setupToken !== null ? { setupToken: this.setupToken } : {}) })
      if (status !== 'active') this.pending = username
      // The first admin names the hospital: patients read this name, never the data folder's.
      if (this.setup) await this.session.client.setHospitalName(hospital)
    })
  }

  override render () {
    if (this.pending !== null) {
      return html`<h1>Account created</h1>
        <p class="note" role="status">The account <strong>${this.pending}</strong> is waiting for an administrator of this hospital to approve it. You can sign in once they have.</p>
        <p><a href="/app/sign-in">Go to sign in</a></p>`
    }
    if (this.setup && this.setupToken === null) {
      return html`<h1>Set up this peer</h1><p class="warn" role="alert">This setup link has no token. Use the full link the peer printed when it started.</p>`
    }
    return html`
      <h1>${this.setup ? 'Create the administrator account' : 'Create an account'}</h1>
      ${this.setup ? html`<p class="note">This one-time link makes the first administrator of this hospital's peer.</p>` : nothing}
      <form @submit=${this.#submit}>
        ${this.setup
          ? html`<label for="hospital">Hospital name</label>
            <input id="hospital" name="hospital" required maxlength="128" autocomplete="organization" aria-describedby="hospital-hint">
            <p id="hospital-hint" class="muted">As patients and other hospitals will read it, for example "North Hospital".</p>`
          : nothing}
        <label for="username">Username</label>
        <input id="username" name="username" autocomplete="username" required minlength="3" maxlength="64"
          pattern="[A-Za-z0-9._\\-]{3,64}" autocapitalize="none" spellcheck="false" aria-describedby="username-hint">
        <p id="username-hint" class="muted">3 to 64 letters, digits, dots, dashes or underscores.</p>
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="new-password" required aria-describedby="password-hint">
        <p id="password-hint" class="muted">12 to 128 characters. It also seals your private keys. Patients also get a recovery code, shown once, to set a new password if this one is forgotten.</p>
        <label for="confirm">Repeat the password</label>
        <input id="confirm" name="confirm" type="password" autocomplete="new-password" required>
        ${this.setup ? nothing : html`
          <fieldset>
            <legend>I am a</legend>
            <label class="choice"><input type="radio" name="role" value="patient" checked> patient</label>
            <label class="choice"><input type="radio" name="role" value="clinician"> clinician (needs approval)</label>
            <label class="choice"><input type="radio" name="role" value="researcher"> researcher (needs approval)</label>
          </fieldset>`}
        <mc-error-note .error=${this.#action.error}></mc-error-note>
        <p><button type="submit" ?disabled=${this.#action.busy}>${this.#action.busy ? 'Creating keys…' : 'Create account'}</button></p>
      </form>
      ${this.setup ? nothing : html`<p>Have an account? <a href="/app/sign-in">Sign in</a>.</p>`}
    `
  }
}
customElements.define('mc-sign-up', McSignUp)
