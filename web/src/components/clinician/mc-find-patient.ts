// Finds a patient by what they give at the desk: the short patient code they read out (checked
// here, then resolved by the peer), their id typed or pasted (the bare id or the QR payload), or
// the QR code they show in their portal, scanned. Emits the navigation to that patient's page.
import { LitElement, css, html, nothing } from 'lit'
import { MedichainError } from '../../../../protocol/errors.ts'
import { parsePatientCode } from '../../../../protocol/patient-code.ts'
import { parsePatientInput } from '../../lib/patient/patient-id.ts'
import { navigate } from '../../services/navigate.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import './mc-qr-scanner.ts'

/** Why the box's value did not lead to a patient, in words for the person at the desk. */
const PROBLEMS: Record<string, string> = {
  shape: 'That is not a patient id (64 characters of 0–9 and a–f) or a patient code (ten letters and digits, like K7QM2-XD9HF).',
  BAD_PATIENT_CODE: 'That code does not check: a character is wrong, or two are swapped. Ask the patient to read it again.',
  UNKNOWN_PATIENT: 'No patient has this code. Check it with the patient, or scan their QR code.',
  PATIENT_CODE_AMBIGUOUS: 'More than one patient has this code. Scan their QR code or use their full patient id.'
}

/** `<mc-find-patient .session=${s} .value=${id}>`. */
export class McFindPatient extends LitElement {
  static override properties = { session: { attribute: false }, value: { attribute: false }, problem: { state: true }, scanning: { state: true }, busy: { state: true } }
  static override styles = [shared, css`input { font-family: ui-monospace, Menlo, monospace; max-width: 40rem; }`]

  declare session: Session
  declare value: string | null
  /** The code of what went wrong (a key of PROBLEMS, or another error's code), or null. */
  declare problem: string | null
  declare scanning: boolean
  declare busy: boolean

  constructor () {
    super()
    this.value = null
    this.problem = null
    this.scanning = false
    this.busy = false
  }

  async #open (text: string): Promise<void> {
    const input = parsePatientInput(text)
    if (input === null) { this.problem = 'shape'; return }
    if (input.kind === 'id') { this.#go(input.id); return }
    this.busy = true
    try {
      // Checked here first: a typo is refused without asking the peer.
      parsePatientCode(input.code)
      const found = await this.session.client.patientByCode(input.code)
      this.#go(found.patientId)
    } catch (err) {
      this.problem = err instanceof MedichainError ? err.code : 'INTERNAL'
      if (!(this.problem in PROBLEMS)) this.session.fail(err)
    } finally {
      this.busy = false
    }
  }

  #go (id: string): void {
    this.problem = null
    this.scanning = false
    navigate(this, `/app/clinician/patients/${id}`)
  }

  #submit (e: SubmitEvent): void {
    e.preventDefault()
    void this.#open(String(new FormData(e.currentTarget as HTMLFormElement).get('patient') ?? ''))
  }

  override render () {
    const message = this.problem === null ? null : PROBLEMS[this.problem] ?? 'The patient could not be looked up. Try again.'
    return html`
      <form @submit=${this.#submit} novalidate>
        <label for="patient">Patient id or code</label>
        <input id="patient" name="patient" .value=${this.value ?? ''} autocomplete="off" spellcheck="false" autocapitalize="characters"
          aria-describedby="patient-hint ${message === null ? '' : 'patient-error'}" aria-invalid=${message === null ? 'false' : 'true'}>
        <p id="patient-hint" class="muted">The code the patient reads out from "My id" (ten letters and digits, like K7QM2-XD9HF), or their 64-character id. You can paste the text of their QR code too.</p>
        ${message === null ? nothing : html`<p id="patient-error" class="field-error" role="alert" data-code=${this.problem ?? ''}>${message}</p>`}
        <p class="row">
          <button type="submit" ?disabled=${this.busy}>Find patient</button>
          <button type="button" class="secondary" aria-expanded=${this.scanning ? 'true' : 'false'} @click=${() => { this.scanning = !this.scanning }}>
            ${this.scanning ? 'Stop scanning' : 'Scan QR code'}
          </button>
        </p>
      </form>
      ${this.scanning ? html`<mc-qr-scanner @mc-scanned=${(e: CustomEvent<string>) => { void this.#open(e.detail) }}></mc-qr-scanner>` : nothing}
    `
  }
}
customElements.define('mc-find-patient', McFindPatient)
