// The patient portal: one of its tabs (my images, my id and QR code, consents, who viewed my
// images, credit score), chosen by the route; the header navigation switches between them.
import { LitElement, html } from 'lit'
import type { PatientTab } from '../../lib/routes.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import './mc-audit.ts'
import './mc-consents.ts'
import './mc-credit.ts'
import './mc-enrol-code.ts'
import '../images/mc-image-grid.ts'
import './mc-sign-ins.ts'
import '../research/mc-research-uses.ts'
import './mc-patient-alerts.ts'

/** `<mc-patient-page .session=${s} .tab=${tab}>`. */
export class McPatientPage extends LitElement {
  static override properties = { session: { attribute: false }, tab: {}, refresh: { state: true } }
  static override styles = [shared]

  declare session: Session
  declare tab: PatientTab
  /** Bumped when an enrolment code attached images: the grid lists again. */
  declare refresh: number

  constructor () {
    super()
    this.refresh = 0
  }

  override render () {
    const remote = this.session.user?.remote
    // A patient signed in through their home hospital: say where the account lives.
    const banner = remote === undefined
      ? html``
      : html`<p class="note" role="status" data-testid="remote-banner">You are signed in here through your home hospital, <strong>${remote.hospitalName}</strong>. Everything below comes from the consortium's ledger and its hospitals; signing out ends this session only.</p>`
    return html`${banner}<mc-patient-alerts .session=${this.session}></mc-patient-alerts>${this.#tab()}`
  }

  #tab () {
    switch (this.tab) {
      case 'images': return html`<h1>My images</h1>
        <p>Your images are decrypted here, in your browser, with your own key.</p>
        <mc-image-grid .session=${this.session} .patientId=${null} .refresh=${this.refresh}></mc-image-grid>
        <mc-enrol-code .session=${this.session} @mc-enrolled=${() => { this.refresh++ }}></mc-enrol-code>`
      case 'id':
        // The QR encoder loads only when the patient opens this tab.
        void import('./mc-my-id.ts')
        return html`<mc-my-id .session=${this.session}></mc-my-id>`
      case 'consents': return html`<mc-consents .session=${this.session}></mc-consents>`
      case 'audit': return html`<mc-audit .session=${this.session}></mc-audit><mc-sign-ins .session=${this.session}></mc-sign-ins>`
      case 'research': return html`<mc-research-uses .session=${this.session}></mc-research-uses>`
      case 'credit': return html`<mc-credit .session=${this.session}></mc-credit>`
    }
  }
}
customElements.define('mc-patient-page', McPatientPage)
