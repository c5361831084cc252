// The published models, each linked to its card: for researchers on the Research page.
import { LitElement, html } from 'lit'
import { ResearchClient } from '../../../../protocol/client/research.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** `<mc-model-list .session=${s}>`. */
export class McModelList extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared]

  declare session: Session
  readonly #models = new LoadController(this, {
    load: async () => await new ResearchClient(this.session.client).models(),
    fail: err => this.session.fail(err)
  })

  override render () {
    return html`<h2>Published models</h2>
      <mc-error-note .error=${this.#models.error}></mc-error-note>
      ${this.#models.render(list => list.length === 0 ? html`<p>No model has been published on the ledger yet.</p>` : html`<ul data-testid="models">
        ${list.map(m => html`<li><a href=${`/app/models/${m.cid}`}>${m.task}, round ${m.round}</a>, published by ${m.hospitalName ?? 'a member'} on ${new Date(m.time).toLocaleDateString()}</li>`)}
      </ul>`)}`
  }
}
customElements.define('mc-model-list', McModelList)
