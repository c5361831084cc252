// The patient's "Research use" tab: each time one of their images went into a research export,
// read from the ledger ("used in research project X"), with the hospital that exported it.
import { LitElement, html } from 'lit'
import { ResearchClient } from '../../../../protocol/client/research.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** `<mc-research-uses .session=${s}>`. */
export class McResearchUses extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared]

  declare session: Session
  readonly #uses = new LoadController(this, {
    load: async () => await new ResearchClient(this.session.client).myUses(),
    fail: err => this.session.fail(err)
  })

  override render () {
    return html`
      <h1>Research use of my images</h1>
      <p class="muted">Your images leave for research only de-identified, under a research consent you gave, from hospitals that approved the project. Revoking the consent keeps them out of later exports.</p>
      <mc-error-note .error=${this.#uses.error}></mc-error-note>
      ${this.#uses.render(uses => uses.length === 0 ? html`<p>Your images have not been used in research.</p>` : html`<ul data-testid="research-uses">
        ${uses.map(u => html`<li>Used in research project <strong>${u.title}</strong> on ${new Date(u.time).toLocaleDateString()}, exported by ${u.hospitalName ?? 'a member hospital'} <span class="muted mono">(image ${u.image.slice(0, 12)}…)</span></li>`)}
      </ul>`)}
    `
  }
}
customElements.define('mc-research-uses', McResearchUses)
