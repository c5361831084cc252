// What a patient must see at once, on every tab of their portal (issue 16.3, 16.4): a request to
// move their records to another key (assisted recovery), with a veto signed by this key while it
// can still stop it, and every emergency release of their images by a hospital, with the
// hospital's verdict once reviewed. Marked in words, never colour alone.
import { LitElement, css, html, nothing } from 'lit'
import { myRekeys, vetoMyRekey } from '../../../../protocol/client/recovery.ts'
import type { ApiRekey } from '../../../../protocol/client/recovery.ts'
import { formatTime, shortHex } from '../../lib/words/format.ts'
import { ActionController } from '../../services/action-controller.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** An emergency release as `GET /api/me/emergencies` lists it. */
interface Release { id: string, time: number, until: number, live: boolean, clinician: { key: string, name: string | null }, hospital: { key: string, name: string | null }, custodian: { key: string, name: string | null }, review: { verdict: string } | null }

/** `<mc-patient-alerts .session=${s}>`. */
export class McPatientAlerts extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared, css`section { border: 2px solid #a4000f; border-radius: 8px; padding: 0.5rem 1rem; margin-bottom: 1rem; background: #fff; }`]

  declare session: Session
  readonly #action = new ActionController(this, { fail: err => this.session.fail(err) })
  readonly #alerts = new LoadController(this, {
    load: async () => {
      const c = this.session.client
      const [rekeys, emergencies] = await Promise.all([myRekeys(c), (await (await c.request('GET', '/api/me/emergencies')).json() as { emergencies: Release[] }).emergencies])
      return { pending: rekeys.from.filter(r => r.status === 'cosigning' || r.status === 'waiting'), emergencies }
    },
    fail: err => this.session.fail(err)
  })

  #pending (r: ApiRekey) {
    return html`<li data-rekey=${r.id}><strong>Someone asked ${r.hospital.name ?? shortHex(r.hospital.key)} on ${formatTime(r.time)} to move your records to a new key.</strong>
      ${r.status === 'waiting' && r.effectiveAt !== null ? html`It takes effect on ${formatTime(r.effectiveAt)} unless vetoed.` : html`It is waiting for the hospitals holding your images to confirm.`}
      If this was not you, veto it now.
      <button type="button" class="danger" ?disabled=${this.#action.busy} @click=${async () => await this.#action.run(async () => {
        await vetoMyRekey(this.session.client, r.id)
        this.#action.done = 'Vetoed: your records stay with this key.'
        await this.#alerts.reload()
      })}>Veto this request</button></li>`
  }

  override render () {
    return this.#alerts.render(a => a.pending.length === 0 && a.emergencies.length === 0 && this.#action.done === null ? nothing : html`
      <mc-error-note .error=${this.#action.error}></mc-error-note>
      ${this.#action.done === null ? nothing : html`<p class="ok" role="status">${this.#action.done}</p>`}
      ${a.pending.length === 0 ? nothing : html`<section aria-labelledby="rekey-h"><h2 id="rekey-h">⚠ Request to move your records</h2><ul>${a.pending.map(r => this.#pending(r))}</ul></section>`}
      ${a.emergencies.length === 0 ? nothing : html`<section aria-labelledby="emergency-h" data-testid="emergency-alerts"><h2 id="emergency-h">⚠ Emergency access to your images</h2><ul>${a.emergencies.map(e => html`<li data-release=${e.id}>
        ${e.clinician.name ?? `A clinician (${shortHex(e.clinician.key)})`} of ${e.hospital.name ?? shortHex(e.hospital.key)} declared an emergency on ${formatTime(e.time)};
        ${e.custodian.name ?? shortHex(e.custodian.key)} released your images to them ${e.live ? html`until ${formatTime(e.until)}` : 'for a window that has ended'}.
        ${e.review === null ? 'Not reviewed yet.' : `Reviewed by ${e.custodian.name ?? 'the hospital'}: ${e.review.verdict}.`}</li>`)}</ul></section>`}
    `)
  }
}
customElements.define('mc-patient-alerts', McPatientAlerts)
