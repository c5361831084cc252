// "Where you signed in": the patient's sign-ins at other member hospitals, as the home hospital
// recorded them (docs/design.md §3 "The shared portal"). Shown wherever the patient signs in, so a
// sign-in they do not recognise stands out; failed attempts are not recorded anywhere.
import { LitElement, html } from 'lit'
import { formatTime } from '../../lib/words/format.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

type SignIn = { hospital: string, hospitalName: string, time: number }

/** `<mc-sign-ins .session=${s}>`. */
export class McSignIns extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared]

  declare session: Session
  readonly #list = new LoadController<SignIn[]>(this, {
    load: async () => await this.session.client.mySignIns(),
    fail: err => this.session.fail(err)
  })

  override render () {
    return html`
      <h2>Sign-ins at other hospitals</h2>
      <mc-error-note .error=${this.#list.error}></mc-error-note>
      ${this.#list.render(list => list.length === 0
        ? html`<p class="muted">You have not signed in at another hospital.</p>`
        : html`<ul data-testid="sign-ins">${list.map(s => html`<li>Signed in at <strong>${s.hospitalName}</strong> on ${formatTime(s.time)}</li>`)}</ul>`)}
      <p class="muted">Your home hospital keeps this list. If you do not recognise a sign-in, change your password there.</p>
    `
  }
}
customElements.define('mc-sign-ins', McSignIns)
