// "Training data at this hospital" for the admin's FL page: how many of this hospital's images
// clinicians labelled (for training, or held out for validation), how many the patients' training
// consents let federated learning use now, and why the rest are left out — counts only, never
// which images (`GET /api/labels/summary`).
import { LitElement, html, nothing } from 'lit'
import { exclusions, parseTrainingData } from '../../lib/words/labels.ts'
import type { TrainingData, UseCounts } from '../../lib/words/labels.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** `<mc-training-data .session=${s}>`. */
export class McTrainingData extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared]

  declare session: Session
  readonly #data = new LoadController(this, {
    load: async () => parseTrainingData(await this.session.client.labelSummary()),
    fail: err => this.session.fail(err)
  })

  #row (name: string, u: UseCounts, id: string) {
    return html`<tr data-use=${id}><th scope="row">${name}</th><td data-testid="${id}-labelled">${u.total}</td><td data-testid="${id}-usable">${u.kept}</td><td>${u.excluded}</td></tr>`
  }

  #table (d: TrainingData) {
    const all = { total: d.train.total + d.validation.total, kept: d.train.kept + d.validation.kept, excluded: d.train.excluded + d.validation.excluded, reasons: {} }
    const why = exclusions(d)
    return html`<div class="table-wrap"><table>
        <thead><tr><th scope="col">Labelled as</th><th scope="col">Labelled</th><th scope="col">May be used now</th><th scope="col">Left out</th></tr></thead>
        <tbody>${this.#row('Training', d.train, 'train')}${this.#row('Held out for validation', d.validation, 'validation')}${this.#row('All', all, 'all')}</tbody>
      </table></div>
      ${why.length === 0 ? nothing : html`<p>Left out because:</p><ul>${why.map(([text, n]) => html`<li>${text}: ${n}</li>`)}</ul>`}
      ${d.validation.kept > 0 ? nothing : html`<p class="warn" data-testid="no-validation">A task this hospital starts needs usable images held out for validation, or it fails (NO_VALIDATION_SET). Clinicians label them in the viewer.</p>`}`
  }

  override render () {
    return html`
      <h2>Training data at this hospital</h2>
      <p class="muted">Images labelled with a lesion mask here. Training reads only those whose patient gave this hospital a live training consent (checked every round).</p>
      <mc-error-note .error=${this.#data.error}></mc-error-note>
      ${this.#data.render(d => this.#table(d))}
      <p><button type="button" class="secondary" @click=${async () => await this.#data.reload()}>Refresh the counts</button></p>`
  }
}
customElements.define('mc-training-data', McTrainingData)
