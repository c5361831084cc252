// How patients and other hospitals see a staff member: their display name and department in the
// consortium directory (`PUT /api/me/directory`; their hospital signs the `directory.set`). A
// patient finds them by this name to grant a consent, and reads it in "who viewed my images".
import { LitElement, html, nothing } from 'lit'
import { ActionController } from '../../services/action-controller.ts'
import { LoadController } from '../../services/load-controller.ts'
import { forgetNames, namesOf } from '../../services/names.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** `<mc-directory-entry .session=${s}>`. */
export class McDirectoryEntry extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared]

  declare session: Session
  readonly #action = new ActionController(this, { fail: err => this.session.fail(err) })
  readonly #entry = new LoadController(this, {
    load: async () => {
      const key = this.session.user?.signPub ?? ''
      return (await namesOf(this.session.client, [key])).get(key) ?? null
    },
    fail: err => this.session.fail(err)
  })

  async #save (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const data = new FormData(e.currentTarget as HTMLFormElement)
    const name = String(data.get('displayName') ?? '').trim()
    const department = String(data.get('department') ?? '').trim()
    await this.#action.run(async () => {
      await this.session.client.setMyDirectoryEntry(name, department)
      forgetNames(this.session.client)
      this.#action.done = 'Saved. Patients now find you by this name.'
      await this.#entry.reload()
    })
  }

  override render () {
    return html`<section class="card" aria-labelledby="directory-title">
      <h2 id="directory-title">How patients see you</h2>
      <mc-error-note .error=${this.#action.error ?? this.#entry.error}></mc-error-note>
      ${this.#entry.render(entry => html`
        ${entry === null
          ? html`<p class="warn" data-testid="directory-missing">You are not in the consortium directory yet: patients see a key instead of your name, and cannot find you to grant you consent.</p>`
          : html`<p data-testid="directory-name">Patients read: <strong>${entry.name}${entry.department === '' ? nothing : `, ${entry.department}`}${entry.hospitalName === null ? nothing : `, ${entry.hospitalName}`}</strong></p>`}
        <form @submit=${this.#save} aria-label="Your name in the directory">
          <label for="displayName">Your name as patients read it</label>
          <input id="displayName" name="displayName" required maxlength="128" autocomplete="name" .value=${entry?.name ?? ''} placeholder="for example Dr Lee">
          <label for="department">Department</label>
          <input id="department" name="department" maxlength="64" .value=${entry?.department ?? ''} placeholder="for example Radiology">
          <p><button type="submit" ?disabled=${this.#action.busy}>${this.#action.busy ? 'Saving…' : 'Save'}</button></p>
        </form>`)}
      ${this.#action.done === null ? nothing : html`<p class="ok" role="status">${this.#action.done}</p>`}
    </section>`
  }
}
customElements.define('mc-directory-entry', McDirectoryEntry)
