// The card of a published model (issue 15 §5): its task, the round chosen, the hospital that
// published it, its metrics, how many images each hospital trained on, and the `model.publish`
// transaction whose inclusion proof the browser checks itself against the consortium's keys;
// with a download of the weights.
import { LitElement, html, nothing } from 'lit'
import { ResearchClient } from '../../../../protocol/client/research.ts'
import { checkTxProof } from '../../lib/proof-check.ts'
import type { ProofOutcome } from '../../lib/proof-check.ts'
import { api } from '../../services/api.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** `<mc-model-card .session=${s} .cid=${cid}>`. */
export class McModelCard extends LitElement {
  static override properties = { session: { attribute: false }, cid: {}, proof: { state: true }, error: { state: true } }
  static override styles = [shared]

  declare session: Session
  declare cid: string
  declare proof: ProofOutcome | null
  declare error: unknown
  readonly #card = new LoadController(this, {
    load: async () => await new ResearchClient(this.session.client).modelCard(this.cid),
    args: () => [this.cid],
    fail: err => this.session.fail(err)
  })

  constructor () {
    super()
    this.proof = null
    this.error = null
  }

  async #verify (id: string, proof: unknown): Promise<void> {
    const a = api(this.session.client)
    const [members, health] = await Promise.all([a.members(), a.health()])
    this.proof = checkTxProof(id, proof, { ledgerId: health.ledger, members: members.map(m => m.key) })
  }

  async #download (): Promise<void> {
    this.error = null
    try {
      const bytes = await new ResearchClient(this.session.client).modelWeights(this.cid)
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }))
      const a = document.createElement('a')
      a.href = url
      a.download = `model-${this.cid}.mcw`
      a.click()
      setTimeout(() => URL.revokeObjectURL(url), 60_000)
    } catch (err) {
      this.error = this.session.fail(err)
    }
  }

  override render () {
    const o = this.proof
    return html`
      <p><a href="/app/research">← Research</a></p>
      <h1>Model card</h1>
      <mc-error-note .error=${this.error ?? this.#card.error}></mc-error-note>
      ${this.#card.render(c => html`
        <dl class="facts">
          <dt>Weights</dt><dd class="mono" data-testid="model-cid">${c.cid}</dd>
          <dt>Task</dt><dd>${c.task}</dd>
          <dt>Round chosen</dt><dd>${c.round}</dd>
          <dt>Published by</dt><dd>${c.publisher.name ?? c.publisher.hospital.slice(0, 12)} on ${new Date(c.time).toLocaleString()}</dd>
        </dl>
        <div class="table-wrap"><table>
          <caption>Metrics on held-out images</caption>
          <thead><tr><th scope="col">Metric</th><th scope="col">Value</th></tr></thead>
          <tbody>${Object.entries(c.metrics).map(([k, v]) => html`<tr><td>${k}</td><td>${Number.isInteger(v) ? v : v.toFixed(3)}</td></tr>`)}</tbody>
        </table></div>
        <div class="table-wrap"><table data-testid="model-data">
          <caption>Training data per hospital</caption>
          <thead><tr><th scope="col">Hospital</th><th scope="col">Images</th></tr></thead>
          <tbody>${c.data.map(d => html`<tr><td>${d.name ?? d.hospital.slice(0, 12)}</td><td>${d.samples ?? 'not reported'}</td></tr>`)}</tbody>
        </table></div>
        <h2>Provenance</h2>
        <p>Published in transaction <span class="mono">${c.provenance.id}</span>, block ${c.provenance.location.height} of ${c.publisher.name ?? 'its hospital'}.</p>
        <div class="row">
          <button type="button" class="secondary" @click=${async () => await this.#verify(c.provenance.id, c.provenance.proof)}>Verify the inclusion proof</button>
          <button type="button" @click=${async () => await this.#download()}>Download the weights</button>
        </div>
        ${o === null ? nothing : o.ok
          ? html`<p role="status" class="ok" data-result="verified">✓ The publication is in block ${o.height}, signed by a member of this consortium.</p>`
          : html`<p role="alert" class="bad" data-result="failed" data-code=${o.code}>✗ ${o.text}</p>`}
      `)}
    `
  }
}
customElements.define('mc-model-card', McModelCard)
