// The research page (docs/design.md §10): a researcher creates projects and works on their own;
// an admin sees every project and approves or refuses each for their hospital.
import { LitElement, html } from 'lit'
import { ResearchClient } from '../../../../protocol/client/research.ts'
import type { ApiProject } from '../../../../protocol/client/research.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'
import './mc-project-card.ts'
import './mc-project-form.ts'
import './mc-review-queue.ts'
import './mc-model-card.ts'
import './mc-model-list.ts'

/** `<mc-research-page .session=${s}>`. */
export class McResearchPage extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared]

  declare session: Session
  readonly #data = new LoadController(this, {
    load: async () => {
      const projects = await new ResearchClient(this.session.client).projects()
      const members = await this.session.client.request('GET', '/api/members').then(async r => await r.json() as { members: Array<{ key: string, name: string, status: string }> })
      return { projects, names: new Map(members.members.filter(m => m.status === 'active').map(m => [m.key, m.name])) }
    },
    fail: err => this.session.fail(err)
  })

  override render () {
    const researcher = this.session.role === 'researcher'
    return html`
      <h1>Research</h1>
      <p class="muted">Only images of patients who gave a live research consent, from hospitals that approved the project, are exported, de-identified by DICOM PS3.15. Each use is logged on the ledger for the patient to see.</p>
      ${researcher ? html`<mc-project-form .session=${this.session} @project:changed=${() => this.#data.reload()}></mc-project-form>` : ''}
      <mc-error-note .error=${this.#data.error}></mc-error-note>
      ${researcher ? '' : this.#data.render(d => html`<mc-review-queue .session=${this.session} .titles=${new Map(d.projects.map(p => [p.id, p.title]))}></mc-review-queue>`)}
      ${this.#data.render(d => d.projects.length === 0
        ? html`<p>No research project yet.</p>`
        : html`<h2>${researcher ? 'My projects' : 'Projects to decide on'}</h2>
          ${d.projects.map((p: ApiProject) => html`<mc-project-card .session=${this.session} .project=${p} .names=${d.names} @project:changed=${() => this.#data.reload()}></mc-project-card>`)}`)}
      <mc-model-list .session=${this.session}></mc-model-list>
    `
  }
}
customElements.define('mc-research-page', McResearchPage)
