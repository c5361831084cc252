// Break-glass access (docs/design.md §5): a clinician declares an emergency with a reason, where hospital
// policy allows it. The page says up front that it is logged, flagged and shown to the patient.
import { LitElement, css, html, nothing } from 'lit'
import { ActionController } from '../../services/action-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** `<mc-emergency .session=${s} .patientId=${id}>`; emits 'mc-emergency-declared' with `{ until }`. */
export class McEmergency extends LitElement {
  static override properties = { session: { attribute: false }, patientId: { attribute: false }, open: { state: true }, until: { state: true } }
  static override styles = [shared, css`
    .box { border: 2px solid #a4000f; border-radius: 8px; padding: 0.75rem 1rem; background: #fff; margin-top: 0.75rem; }
    textarea { min-height: 5rem; }
  `]

  declare session: Session
  declare patientId: string
  declare open: boolean
  declare until: number | null
  readonly #action = new ActionController(this, { fail: err => this.session.fail(err) })

  constructor () {
    super()
    this.open = false
    this.until = null
  }

  async #submit (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const reason = String(new FormData(e.currentTarget as HTMLFormElement).get('reason') ?? '').trim()
    await this.#action.run(async () => {
      const { until } = await this.session.client.emergency(this.patientId, reason)
      this.until = until
      this.open = false
      this.dispatchEvent(new CustomEvent('mc-emergency-declared', { detail: { until }, bubbles: true, composed: true }))
    })
  }

  override render () {
    if (this.until !== null) {
      return html`<p class="warn" role="status">Emergency access is open until ${new Date(this.until).toLocaleTimeString()}. Every image you open is logged as emergency access and shown to the patient.</p>`
    }
    if (!this.open) return html`<p><button type="button" class="danger" @click=${() => { this.open = true }}>Emergency access…</button></p>`
    return html`<div class="box">
      <h3>Emergency access</h3>
      <p>Use this only when the patient cannot consent and care cannot wait. Your name, the time and the fact that it was an emergency go on the ledger and to the patient; your reason stays in this hospital's own log.</p>
      <form @submit=${this.#submit}>
        <label for="reason">Reason (at least 10 characters)</label>
        <textarea id="reason" name="reason" required minlength="10" maxlength="1000"></textarea>
        <mc-error-note .error=${this.#action.error}></mc-error-note>
        <p class="row">
          <button type="submit" class="danger" ?disabled=${this.#action.busy}>Declare emergency</button>
          <button type="button" class="secondary" @click=${() => { this.open = false }}>Cancel</button>
        </p>
      </form>
      ${nothing}
    </div>`
  }
}
customElements.define('mc-emergency', McEmergency)
