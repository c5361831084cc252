// The desk's search of this hospital's patient index (issue 13 item 4): a clinician finds a
// patient by MRN or name, as the hospital's own imaging named them. An enrolled patient opens; one
// not enrolled yet, whose images the hospital holds in custody, is enrolled here by the QR code on
// their phone (or the patient code they read out, or their id), or given a printed enrolment code
// to enter in their portal.
import { LitElement, css, html, nothing } from 'lit'
import type { ApiHospitalPatient } from '../../../../protocol/client/desk.ts'
import { findHospitalPatients, issueEnrolmentCode, linkMrn } from '../../../../protocol/client/desk.ts'
import { parsePatientInput } from '../../lib/patient/patient-id.ts'
import { ActionController } from '../../services/action-controller.ts'
import { navigate } from '../../services/navigate.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'
import './mc-qr-scanner.ts'

/** A DICOM person name (`FAMILY^GIVEN^MIDDLE`) as people read it. */
function personName (pn: string): string {
  const [family = '', given = '', middle = ''] = pn.split('=')[0].split('^')
  return [given, middle, family].filter(s => s !== '').join(' ') || '(no name)'
}

/** A DICOM date (YYYYMMDD) as YYYY-MM-DD, or an empty string. */
function isoDate (da: string): string {
  return /^\d{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6)}` : da
}

/** `<mc-hospital-patients .session=${s}>`. */
export class McHospitalPatients extends LitElement {
  static override properties = {
    session: { attribute: false }, found: { state: true }, enrolling: { state: true }, scanning: { state: true }, code: { state: true }, invalid: { state: true }
  }

  static override styles = [shared, css`
    .print { border: 2px dashed #1b1f24; padding: 1rem; max-width: 28rem; }
    .print .code { font: 700 1.6rem/1.2 ui-monospace, Menlo, monospace; letter-spacing: 0.1em; }
    @media print { .no-print { display: none; } }
  `]

  declare session: Session
  declare found: ApiHospitalPatient[] | null
  /** The MRN being enrolled (its row's actions are open). */
  declare enrolling: string | null
  declare scanning: boolean
  declare code: { mrn: string, code: string, expires: number } | null
  declare invalid: boolean
  readonly #search = new ActionController(this, { fail: err => this.session.fail(err) })
  readonly #enrol = new ActionController(this, { fail: err => this.session.fail(err) })

  constructor () {
    super()
    this.found = null
    this.enrolling = null
    this.scanning = false
    this.code = null
    this.invalid = false
  }

  async #find (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const q = String(new FormData(e.currentTarget as HTMLFormElement).get('q') ?? '').trim()
    this.enrolling = null
    this.code = null
    const found = await this.#search.run(async () => await findHospitalPatients(this.session.client, q))
    if (found !== undefined) this.found = found
  }

  async #link (p: ApiHospitalPatient, text: string): Promise<void> {
    const input = parsePatientInput(text)
    this.invalid = input === null
    if (input === null) return
    this.scanning = false
    let id = input.kind === 'id' ? input.id : ''
    const attached = await this.#enrol.run(async () => {
      // A code read out at the desk is checked in the SDK (BAD_PATIENT_CODE), then resolved by the peer.
      if (input.kind === 'code') id = (await this.session.client.patientByCode(input.code)).patientId
      return await linkMrn(this.session.client, p.mrn, id)
    })
    if (attached === undefined) return
    this.#enrol.done = `Enrolled. ${attached} image${attached === 1 ? '' : 's'} held for ${personName(p.name)} ${attached === 1 ? 'is' : 'are'} now in their records.`
    this.found = (this.found ?? []).map(x => x.mrn === p.mrn ? { ...x, patientId: id, held: 0 } : x)
    // Enrolled: the row's enrolment form closes; the row now opens the patient's records.
    this.enrolling = null
  }

  async #print (p: ApiHospitalPatient): Promise<void> {
    const issued = await this.#enrol.run(async () => await issueEnrolmentCode(this.session.client, p.mrn))
    if (issued !== undefined) this.code = { mrn: p.mrn, ...issued }
  }

  #row (p: ApiHospitalPatient) {
    const open = this.enrolling === p.mrn
    return html`<tr data-mrn=${p.mrn}>
      <td>${personName(p.name)}</td><td class="mono">${p.mrn}</td><td>${isoDate(p.birthDate)}</td>
      <td>${p.patientId !== null
        ? html`<a href=${`/app/clinician/patients/${p.patientId}`} @click=${(e: Event) => { e.preventDefault(); navigate(this, `/app/clinician/patients/${p.patientId ?? ''}`) }}>Open records</a>`
        : html`<span>Not enrolled · ${p.held} image${p.held === 1 ? '' : 's'} held</span>
          <button type="button" class="secondary" aria-expanded=${open ? 'true' : 'false'} @click=${() => { this.enrolling = open ? null : p.mrn; this.code = null; this.#enrol.done = null }}>Enrol…</button>`}</td>
    </tr>
    ${open ? html`<tr><td colspan="4">${this.#enrolForm(p)}</td></tr>` : nothing}`
  }

  #enrolForm (p: ApiHospitalPatient) {
    return html`<div class="card">
      <p>Scan the QR code in the patient's portal ("My id"), or type the patient code they read out from it (or their full id). Or print an enrolment code they enter in their portal after signing up.</p>
      <form class="row no-print" @submit=${async (e: SubmitEvent) => { e.preventDefault(); await this.#link(p, String(new FormData(e.currentTarget as HTMLFormElement).get('pid') ?? '')) }}>
        <div><label for="pid">Patient id or code</label><input id="pid" name="pid" autocomplete="off" spellcheck="false" aria-invalid=${this.invalid ? 'true' : 'false'}></div>
        <button type="submit" ?disabled=${this.#enrol.busy}>Enrol</button>
        <button type="button" class="secondary" @click=${() => { this.scanning = !this.scanning }}>${this.scanning ? 'Stop scanning' : 'Scan QR code'}</button>
        <button type="button" class="secondary" ?disabled=${this.#enrol.busy} @click=${async () => await this.#print(p)}>Print enrolment code</button>
      </form>
      ${this.invalid ? html`<p class="field-error" role="alert">That is not a patient id (64 characters of 0–9 and a–f) or a patient code (ten letters and digits, like K7QM2-XD9HF).</p>` : nothing}
      ${this.scanning ? html`<mc-qr-scanner @mc-scanned=${async (e: CustomEvent<string>) => await this.#link(p, e.detail)}></mc-qr-scanner>` : nothing}
      ${this.code !== null && this.code.mrn === p.mrn
        ? html`<div class="print" data-testid="enrolment-code"><p>${personName(p.name)}: to see your images, sign up in the patient portal, open "Enrol with a code" and enter</p>
          <p class="code">${this.code.code}</p><p class="muted">Valid until ${new Date(this.code.expires).toLocaleDateString()}, once.</p>
          <p class="no-print"><button type="button" @click=${() => window.print()}>Print</button></p></div>`
        : nothing}
      <mc-error-note .error=${this.#enrol.error}></mc-error-note>
    </div>`
  }

  override render () {
    return html`
      <form class="row" @submit=${this.#find} role="search">
        <div><label for="q">MRN or name</label><input id="q" name="q" required minlength="2" maxlength="64" autocomplete="off"></div>
        <button type="submit" ?disabled=${this.#search.busy}>Search this hospital</button>
      </form>
      <p class="muted">Searches this hospital's own imaging index, decrypted here; names and MRNs never leave this hospital.</p>
      <mc-error-note .error=${this.#search.error}></mc-error-note>
      <p role="status">${this.#enrol.done ?? ''}</p>
      ${this.found === null ? nothing : this.found.length === 0
        ? html`<p role="status">No patient of this hospital matches.</p>`
        : html`<div class="table-wrap"><table data-testid="hospital-patients">
            <thead><tr><th scope="col">Name</th><th scope="col">MRN</th><th scope="col">Born</th><th scope="col">Records</th></tr></thead>
            <tbody>${this.found.map(p => this.#row(p))}</tbody></table></div>`}
    `
  }
}
customElements.define('mc-hospital-patients', McHospitalPatients)
