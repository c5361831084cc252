// Finds a patient by id: typed or pasted (the bare id or the QR payload), or scanned from the QR
// code the patient shows in their portal. Emits the navigation to that patient's page.
import { LitElement, css, html, nothing } from 'lit'
import { parsePatientId } from '../lib/patient-id.ts'
import { navigate } from '../services/navigate.ts'
import { shared } from '../styles/shared.ts'
import './mc-qr-scanner.ts'

/** `<mc-find-patient .value=${id}>`. */
export class McFindPatient extends LitElement {
  static override properties = { value: { attribute: false }, invalid: { state: true }, scanning: { state: true } }
  static override styles = [shared, css`input { font-family: ui-monospace, Menlo, monospace; max-width: 40rem; }`]

  declare value: string | null
  declare invalid: boolean
  declare scanning: boolean

  constructor () {
    super()
    this.value = null
    this.invalid = false
    this.scanning = false
  }

  #open (text: string): void {
    const id = parsePatientId(text)
    this.invalid = id === null
    if (id !== null) {
      this.scanning = false
      navigate(this, `/app/clinician/patients/${id}`)
    }
  }

  #submit (e: SubmitEvent): void {
    e.preventDefault()
    this.#open(String(new FormData(e.currentTarget as HTMLFormElement).get('patient') ?? ''))
  }

  override render () {
    return html`
      <form @submit=${this.#submit} novalidate>
        <label for="patient">Patient id</label>
        <input id="patient" name="patient" .value=${this.value ?? ''} autocomplete="off" spellcheck="false"
          aria-describedby="patient-hint ${this.invalid ? 'patient-error' : ''}" aria-invalid=${this.invalid ? 'true' : 'false'}>
        <p id="patient-hint" class="muted">64 characters, from the patient's portal ("My id"). You can paste the text of their QR code too.</p>
        ${this.invalid ? html`<p id="patient-error" class="field-error" role="alert">That is not a patient id: it must be 64 characters of 0–9 and a–f.</p>` : nothing}
        <p class="row">
          <button type="submit">Find patient</button>
          <button type="button" class="secondary" aria-expanded=${this.scanning ? 'true' : 'false'} @click=${() => { this.scanning = !this.scanning }}>
            ${this.scanning ? 'Stop scanning' : 'Scan QR code'}
          </button>
        </p>
      </form>
      ${this.scanning ? html`<mc-qr-scanner @mc-scanned=${(e: CustomEvent<string>) => this.#open(e.detail)}></mc-qr-scanner>` : nothing}
    `
  }
}
customElements.define('mc-find-patient', McFindPatient)
