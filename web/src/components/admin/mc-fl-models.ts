// "Models at this hospital" on the admin's FL page: which published model the analyser uses now,
// and every other one as "available, not deployed" with the reason (worse on this hospital's
// held-out images, weights not fetched or malformed, pinned, superseded, rolled back) and the
// local comparison's figures. The admin pins a model, lifts the pin, or rolls back
// (`/api/fl/deployment`); the peer enforces it, this page only asks.
import { LitElement, html, nothing } from 'lit'
import { REASON_TEXT } from '../../lib/fl/deployment.ts'
import type { FlDeployedModel, FlDeployment } from '../../lib/fl/deployment.ts'
import { formatTime } from '../../lib/words/format.ts'
import { api } from '../../services/api.ts'
import { ActionController } from '../../services/action-controller.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** Loss and Dice as "loss 0.4812 · Dice 0.551", or a dash. */
function figures (f: { loss: number | null, dice: number | null } | null): string {
  if (f === null) return '—'
  return `loss ${f.loss?.toFixed(4) ?? '—'} · Dice ${f.dice?.toFixed(3) ?? '—'}`
}

/** `<mc-fl-models .session=${s}>`. */
export class McFlModels extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared]

  declare session: Session
  readonly #action = new ActionController(this, { fail: err => this.session.fail(err) })
  readonly #data = new LoadController(this, {
    load: async () => await api(this.session.client).flDeployment(),
    fail: err => this.session.fail(err)
  })

  async #do (action: 'pin' | 'unpin' | 'rollback', model?: string): Promise<void> {
    const done = await this.#action.run(async () => await api(this.session.client).flDeploy(action, model))
    if (done !== undefined) this.#action.done = action === 'rollback' ? 'Rolled back.' : action === 'pin' ? 'Model pinned.' : 'Pin lifted.'
    await this.#data.reload()
  }

  #check (m: FlDeployedModel) {
    const c = m.check
    if (c === null) return '—'
    if (c.candidate === null) return html`<span class="muted">not compared (${c.samples < c.minimum ? `${c.samples} held-out images, ${c.minimum} needed` : 'nothing deployed to compare with'})</span>`
    return html`this: ${figures(c.candidate)}<br>deployed: ${figures(c.deployed)}<br><span class="muted">on ${c.samples} held-out images</span>`
  }

  #row (d: FlDeployment, m: FlDeployedModel) {
    const deployed = m.state === 'deployed'
    return html`<tr data-testid="fl-model-row" data-cid=${m.cid} data-state=${m.state}>
      <td class="mono">${m.cid.slice(0, 16)}…</td>
      <td>${m.task}${m.round === null ? nothing : html` · round ${m.round}`}</td>
      <td><strong>${deployed ? (d.pinned ? 'deployed (pinned)' : 'deployed') : m.state === 'pending' ? 'being checked' : 'available, not deployed'}</strong>
        ${m.reason === null ? nothing : html`<br><span data-testid="fl-model-reason">${REASON_TEXT[m.reason.code] ?? m.reason.message} (<code>${m.reason.code}</code>)</span>`}</td>
      <td>${this.#check(m)}</td>
      <td>${m.decidedAt === null ? '—' : formatTime(m.decidedAt)}</td>
      <td>${deployed && d.pinned
        ? nothing
        : html`<button type="button" class="secondary" data-testid="fl-pin" aria-label="${deployed ? 'Pin' : 'Deploy and pin'} model ${m.cid}" ?disabled=${this.#action.busy} @click=${() => this.#do('pin', m.cid)}>${deployed ? 'Pin' : 'Deploy and pin'}</button>`}</td>
    </tr>`
  }

  #table (d: FlDeployment) {
    if (d.models.length === 0) return html`<p>No model has been published yet.</p>`
    return html`
      <p data-testid="fl-deployed">${d.deployed === null ? 'No model is deployed.' : html`Deployed: <span class="mono">${d.deployed}</span>${d.pinned ? ' (pinned: newer models wait until the pin is lifted)' : nothing}`}</p>
      <p>
        <button type="button" data-testid="fl-rollback" ?disabled=${this.#action.busy} @click=${() => this.#do('rollback')}>Roll back to the previous model</button>
        ${d.pinned ? html`<button type="button" class="secondary" data-testid="fl-unpin" ?disabled=${this.#action.busy} @click=${() => this.#do('unpin')}>Lift the pin</button>` : nothing}
      </p>
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">Model</th><th scope="col">Task</th><th scope="col">State</th><th scope="col">On this hospital's held-out images</th><th scope="col">Decided</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
        <tbody>${d.models.map(m => this.#row(d, m))}</tbody>
      </table></div>`
  }

  override render () {
    return html`
      <h2>Models at this hospital</h2>
      <p class="muted">A published model is deployed here only once its weights were fetched, pass the format checks, and it does no worse than the deployed model on this hospital's held-out images${this.#data.value?.minimumValidation == null ? '' : ` (when at least ${this.#data.value.minimumValidation} are labelled)`}. Newest first, in ledger order.</p>
      <mc-error-note .error=${this.#action.error ?? this.#data.error}></mc-error-note>
      ${this.#action.done === null ? nothing : html`<p role="status" data-testid="fl-deploy-done">${this.#action.done}</p>`}
      ${this.#data.render(d => this.#table(d))}`
  }
}
customElements.define('mc-fl-models', McFlModels)
