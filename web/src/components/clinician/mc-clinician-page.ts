// The clinician's workspace: find a patient (id, paste or QR scan), then upload for them, see
// their images and, where consent is missing and policy allows, declare an emergency. Researchers
// see the same page without upload and emergency access.
import { LitElement, css, html, nothing } from 'lit'
import type { PropertyValues } from 'lit'
import { patientCodeOf } from '../../../../protocol/patient-code.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import './mc-directory-entry.ts'
import './mc-emergency.ts'
import './mc-find-patient.ts'
import './mc-hospital-patients.ts'
import '../images/mc-image-grid.ts'
import './mc-upload.ts'

/** `<mc-clinician-page .session=${s} .patientId=${id|null}>`. */
export class McClinicianPage extends LitElement {
  static override properties = { session: { attribute: false }, patientId: { attribute: false }, refresh: { state: true }, refused: { state: true }, declared: { state: true } }
  static override styles = [shared, css`.key { max-width: 40rem; }`]

  declare session: Session
  declare patientId: string | null
  declare refresh: number
  /** The peer refused the listing for want of consent: the place to offer emergency access. */
  declare refused: boolean
  /** An emergency was declared here: its notice stays while the images show. */
  declare declared: boolean

  constructor () {
    super()
    this.patientId = null
    this.refresh = 0
    this.refused = false
    this.declared = false
  }

  override willUpdate (changed: PropertyValues<this>): void {
    if (changed.has('patientId')) {
      this.refused = false
      this.declared = false
    }
  }

  override render () {
    const user = this.session.user
    const clinician = user?.role === 'clinician'
    return html`
      <h1>${this.patientId === null ? 'Find a patient' : 'Patient'}</h1>
      <mc-find-patient .session=${this.session} .value=${this.patientId}></mc-find-patient>
      ${this.patientId === null
        ? html`${clinician ? html`<h2>Patients of this hospital</h2><mc-hospital-patients .session=${this.session}></mc-hospital-patients>` : nothing}
          <mc-directory-entry .session=${this.session}></mc-directory-entry>
          <details class="card key"><summary>Your key, for patients who paste a key rather than find you by name</summary>
            <p class="mono" data-testid="my-key">${user?.signPub ?? ''}</p></details>`
        : html`
          <p class="muted">Patient <strong class="mono" data-testid="patient-code">${patientCodeOf(this.patientId)}</strong> (id <span class="mono">${this.patientId}</span>)</p>
          ${clinician ? html`<h2>Upload images</h2>
            <mc-upload .session=${this.session} .patientId=${this.patientId} @mc-uploaded=${() => { this.refresh++ }}></mc-upload>` : nothing}
          <h2>Images</h2>
          <mc-image-grid .session=${this.session} .patientId=${this.patientId} .refresh=${this.refresh}
            @mc-listed=${(e: CustomEvent<{ code: string | null }>) => { this.refused = e.detail.code === 'NO_CONSENT' }}></mc-image-grid>
          ${clinician && (this.refused || this.declared) ? html`<mc-emergency .session=${this.session} .patientId=${this.patientId} @mc-emergency-declared=${() => { this.declared = true; this.refresh++ }}></mc-emergency>` : nothing}
        `}
    `
  }
}
customElements.define('mc-clinician-page', McClinicianPage)
