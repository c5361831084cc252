// The patient redeems the enrolment code their hospital printed (issue 13 item 4): the images the
// hospital received for them before they enrolled, held in its custody, are attached to their
// records and appear in "My images". Emits 'mc-enrolled' with how many were attached.
import { LitElement, html } from 'lit'
import { enrolWithCode } from '../../../../protocol/client/desk.ts'
import { ActionController } from '../../services/action-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** Words for the codes this form meets. */
const TEXTS = {
  UNKNOWN_ENROLMENT_CODE: 'That code is unknown, already used or expired. Check it, or ask the hospital for a new one.',
  MRN_LINKED: 'The hospital has already linked these images to another account. Please ask the hospital.'
}

/** `<mc-enrol-code .session=${s} @mc-enrolled=${…}>`. */
export class McEnrolCode extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared]

  declare session: Session
  readonly #action = new ActionController(this, { fail: err => this.session.fail(err) })

  async #submit (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const code = String(new FormData(form).get('code') ?? '')
    const attached = await this.#action.run(async () => await enrolWithCode(this.session.client, code))
    if (attached === undefined) return
    form.reset()
    this.#action.done = `Done: ${attached} image${attached === 1 ? '' : 's'} from the hospital ${attached === 1 ? 'is' : 'are'} now in your records.`
    this.dispatchEvent(new CustomEvent('mc-enrolled', { detail: { attached }, bubbles: true, composed: true }))
  }

  override render () {
    return html`<details class="card"><summary>Enrol with a code from your hospital</summary>
      <p>If your hospital gave you an enrolment code, enter it here: the images it took before you signed up are added to your records.</p>
      <form class="row" @submit=${this.#submit}>
        <div><label for="code">Enrolment code</label><input id="code" name="code" required autocomplete="off" spellcheck="false" placeholder="XXXX-XXXX-XXXX"></div>
        <button type="submit" ?disabled=${this.#action.busy}>Enrol</button>
      </form>
      <mc-error-note .error=${this.#action.error} .texts=${TEXTS}></mc-error-note>
      <p role="status">${this.#action.done ?? ''}</p>
    </details>`
  }
}
customElements.define('mc-enrol-code', McEnrolCode)
