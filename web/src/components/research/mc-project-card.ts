// One research project: its approval per hospital, and for its researcher the cohort counts
// (small cells shown as "<5"), an export with a progress bar, the same export prepared for a
// DICOMweb viewer (its root URL and token), and the download history; for an admin, Approve and
// Refuse for the admin's own hospital.
import { LitElement, css, html, nothing } from 'lit'
import { ResearchClient } from '../../../../protocol/client/research.ts'
import type { ApiCohort, ApiExport, ApiProject, PreparedDicomwebExport } from '../../../../protocol/client/research.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

const DECISION_WORDS = { approved: 'approved', refused: 'refused', pending: 'not decided yet' } as const

/** `<mc-project-card .session=${s} .project=${p} .names=${map}>`; fires `project:changed` after a decision. */
export class McProjectCard extends LitElement {
  static override properties = {
    session: { attribute: false }, project: { attribute: false }, names: { attribute: false },
    cohort: { state: true }, history: { state: true }, progress: { state: true }, error: { state: true }, busy: { state: true }, done: { state: true }, pull: { state: true }
  }

  static override styles = [shared, css`
    progress { width: 100%; max-width: 32rem; height: 1.2rem; }
    .facts dd { margin: 0; }
  `]

  declare session: Session
  declare project: ApiProject
  declare names: ReadonlyMap<string, string>
  declare cohort: ApiCohort | null
  declare history: ApiExport[] | null
  declare progress: { received: number, total: number } | null
  declare error: unknown
  declare busy: boolean
  declare done: string | null
  declare pull: PreparedDicomwebExport | null

  constructor () {
    super()
    this.cohort = null
    this.history = null
    this.progress = null
    this.error = null
    this.busy = false
    this.done = null
    this.pull = null
    this.names = new Map()
  }

  get #research (): ResearchClient { return new ResearchClient(this.session.client) }
  get #mine (): boolean { return this.session.user?.signPub === this.project.researcher }

  override connectedCallback (): void {
    super.connectedCallback()
    if (this.#mine) void this.#refresh()
  }

  async #run (fn: () => Promise<void>): Promise<void> {
    this.busy = true
    this.error = null
    try { await fn() } catch (err) { this.error = this.session.fail(err) } finally { this.busy = false }
  }

  async #refresh (): Promise<void> {
    await this.#run(async () => {
      this.cohort = await this.#research.cohort(this.project.id)
      this.history = await this.#research.exports(this.project.id)
    })
  }

  async #export (): Promise<void> {
    await this.#run(async () => {
      this.progress = { received: 0, total: 0 }
      const out = await this.#research.export(this.project.id, (received, total) => { this.progress = { received, total } })
      const url = URL.createObjectURL(new Blob(out.parts as Array<Uint8Array<ArrayBuffer>>, { type: 'application/zip' }))
      const a = document.createElement('a')
      a.href = url
      a.download = `research-${out.exportId.slice(0, 16)}.zip`
      a.click()
      setTimeout(() => URL.revokeObjectURL(url), 60_000)
      this.done = `Exported ${out.images} image${out.images === 1 ? '' : 's'}${out.held > 0 ? `; ${out.held} held for a burned-in text check` : ''}${out.skipped > 0 ? `; ${out.skipped} skipped (see manifest.json)` : ''}.`
      this.history = await this.#research.exports(this.project.id)
    })
  }

  /** Prepares the export for a DICOMweb viewer; the token is shown once, here. */
  async #prepare (): Promise<void> {
    await this.#run(async () => {
      this.pull = await this.#research.prepareDicomweb(this.project.id)
      this.history = await this.#research.exports(this.project.id)
    })
  }

  #pullPart () {
    const p = this.pull
    if (p === null) return nothing
    return html`<dl class="facts" data-testid="dicomweb">
      <dt>DICOMweb root (QIDO-RS, WADO-RS)</dt><dd class="mono" data-testid="dicomweb-root">${location.origin}${p.base}</dd>
      <dt>Bearer token, shown once</dt><dd class="mono" data-testid="dicomweb-token">${p.token}</dd>
      <dt>Instances</dt><dd data-testid="dicomweb-instances">${p.instances}</dd>
      <dt>Until</dt><dd>${new Date(p.expires).toLocaleString()}</dd>
    </dl>`
  }

  async #decide (approve: boolean): Promise<void> {
    await this.#run(async () => {
      await this.#research.decide(this.project.id, approve)
      this.dispatchEvent(new CustomEvent('project:changed', { bubbles: true, composed: true }))
    })
  }

  #decisions () {
    const hospitals = this.cohort?.hospitals ?? [...this.names.keys()].map(h => {
      const d = this.project.decisions.find(x => x.hospital === h)
      return { hospital: h, decision: d === undefined ? 'pending' as const : d.approve ? 'approved' as const : 'refused' as const, count: null }
    })
    return html`<div class="table-wrap"><table>
      <caption>Approval per hospital${this.cohort === null ? '' : ' and cohort'}</caption>
      <thead><tr><th scope="col">Hospital</th><th scope="col">Decision</th>${this.cohort === null ? nothing : html`<th scope="col">Images</th>`}</tr></thead>
      <tbody>${hospitals.map(h => html`<tr data-hospital=${h.hospital}>
        <td>${this.names.get(h.hospital) ?? h.hospital.slice(0, 12)}</td>
        <td data-testid="decision">${DECISION_WORDS[h.decision]}</td>
        ${this.cohort === null ? nothing : html`<td data-testid="count">${h.count}</td>`}
      </tr>`)}</tbody>
    </table></div>
    ${this.cohort === null ? nothing : html`<p>Cohort: <strong data-testid="cohort-total">${this.cohort.total}</strong> images. Counts under 5 are shown as "&lt;5".</p>`}`
  }

  #researcherPart () {
    const p = this.progress
    return html`
      <div class="row">
        <button type="button" class="secondary" ?disabled=${this.busy} @click=${async () => await this.#refresh()}>Refresh counts</button>
        <button type="button" data-testid="export" ?disabled=${this.busy} @click=${async () => await this.#export()}>Export de-identified images</button>
        <button type="button" class="secondary" data-testid="prepare-dicomweb" ?disabled=${this.busy} @click=${async () => await this.#prepare()}>Prepare for a DICOMweb viewer</button>
      </div>
      ${this.#pullPart()}
      ${p === null ? nothing : html`<label for="progress">Download</label><progress id="progress" data-testid="progress" max=${p.total || 1} value=${p.received}></progress>
        <span class="muted">${p.received} of ${p.total} cohort image${p.total === 1 ? '' : 's'}</span>`}
      ${this.done === null ? nothing : html`<p role="status" class="ok" data-testid="export-done">${this.done}</p>`}
      <h3>Download history</h3>
      ${this.history === null || this.history.length === 0 ? html`<p class="muted">No export yet.</p>` : html`<ul data-testid="history">
        ${this.history.map(e => html`<li>${new Date(e.time).toLocaleString()}: ${e.images} image use${e.images === 1 ? '' : 's'} logged, export <span class="mono">${e.export.slice(0, 16)}</span></li>`)}
      </ul>`}`
  }

  override render () {
    const p = this.project
    const admin = this.session.role === 'admin'
    const own = this.session.user?.hospital ?? ''
    const mineDecided = p.decisions.find(d => d.hospital === own)
    return html`<article class="card" data-project=${p.id}>
      <h2>${p.title}</h2>
      <p>${p.purpose}</p>
      <dl class="facts">
        <dt>Modalities</dt><dd>${p.criteria.modalities.length === 0 ? 'any' : p.criteria.modalities.join(', ')}</dd>
        <dt>Labelled</dt><dd>${p.criteria.labelled === null ? 'either' : p.criteria.labelled ? 'only labelled' : 'only unlabelled'}</dd>
        <dt>De-identification</dt><dd>PS3.15 Basic Profile${p.options.modifiedDates ? ', modified dates' : ''}${p.options.cleanDescriptors ? ', clean descriptors' : ''}</dd>
      </dl>
      ${this.#decisions()}
      <mc-error-note .error=${this.error}></mc-error-note>
      ${admin ? html`<p>Your hospital: <strong>${mineDecided === undefined ? 'not decided yet' : mineDecided.approve ? 'approved' : 'refused'}</strong></p>
        <div class="row">
          <button type="button" data-testid="approve" ?disabled=${this.busy} @click=${async () => await this.#decide(true)}>Approve for my hospital</button>
          <button type="button" class="danger" data-testid="refuse" ?disabled=${this.busy} @click=${async () => await this.#decide(false)}>Refuse</button>
        </div>` : nothing}
      ${this.#mine ? this.#researcherPart() : nothing}
    </article>`
  }
}
customElements.define('mc-project-card', McProjectCard)
