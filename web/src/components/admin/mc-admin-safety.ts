// The admin's "Recovery and emergencies" tab (issue 16.3, 16.4): start an assisted recovery for a
// patient checked in person (the patient types the new password here; the keys are made and
// sealed in this page), co-sign or veto the requests about patients whose images this hospital
// holds, give clinicians the emergency role, and review every emergency release of this
// hospital's images with the reason given, recording a verdict on the ledger.
import { LitElement, css, html, nothing } from 'lit'
import { MedichainError } from '../../../../protocol/errors.ts'
import { PASSWORD_MAX, PASSWORD_MIN } from '../../../../protocol/crypto/auth-secret.ts'
import { cosignRekey, listRekeys, startAssistedRecovery, vetoRekey } from '../../../../protocol/client/recovery.ts'
import type { ApiRekey } from '../../../../protocol/client/recovery.ts'
import { formatTime, shortHex } from '../../lib/words/format.ts'
import { api } from '../../services/api.ts'
import { ActionController } from '../../services/action-controller.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** An emergency release as `GET /api/emergencies` lists it. */
interface Release { id: string, time: number, until: number, live: boolean, clinician: { key: string, name: string | null }, hospital: { key: string, name: string | null }, review: { verdict: string } | null, reason?: string }

const STATUS: Record<ApiRekey['status'], string> = { cosigning: 'waiting for co-signatures', waiting: 'in its waiting period', effective: 'in effect', vetoed: 'vetoed' }

/** `<mc-admin-safety .session=${s}>`. */
export class McAdminSafety extends LitElement {
  static override properties = { session: { attribute: false }, code: { state: true } }
  static override styles = [shared, css`.code { font: 700 1.3rem ui-monospace, monospace; border: 2px dashed #0b2e4f; padding: 0.5rem 0.75rem; display: inline-block; } form { max-width: 32rem; }`]

  declare session: Session
  declare code: string | null
  readonly #action = new ActionController(this, { fail: err => this.session.fail(err) })
  readonly #lists = new LoadController(this, {
    load: async () => {
      const c = this.session.client
      const [rekeys, emergencies, active] = await Promise.all([
        listRekeys(c),
        (await (await c.request('GET', '/api/emergencies')).json() as { emergencies: Release[] }).emergencies,
        api(c).accounts('active')
      ])
      return { rekeys, emergencies, clinicians: active.filter(a => a.role === 'clinician') }
    },
    fail: err => this.session.fail(err)
  })

  constructor () {
    super()
    this.code = null
  }

  async #start (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const data = new FormData(form)
    const password = String(data.get('password') ?? '')
    this.#action.error = null
    const length = [...password.normalize('NFC')].length
    if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
      this.#action.error = new MedichainError('WEAK_PASSWORD', 'password length out of range')
      return
    }
    if (password !== String(data.get('confirm') ?? '')) {
      this.#action.error = new MedichainError('INVALID', 'the two passwords differ')
      return
    }
    await this.#action.run(async () => {
      const made = await startAssistedRecovery(this.session.client, { username: String(data.get('username') ?? '').trim(), password, oldPatientId: String(data.get('old') ?? '').trim().toLowerCase() })
      form.reset()
      this.code = made.recoveryCode
      this.#action.done = 'The request is on the ledger. It takes effect once the hospitals holding the patient\'s images co-sign and the waiting period passes without a veto.'
      await this.#lists.reload()
    })
  }

  async #act (what: string, fn: () => Promise<unknown>): Promise<void> {
    await this.#action.run(async () => {
      await fn()
      this.#action.done = what
      await this.#lists.reload()
    })
  }

  #rekeys (rekeys: ApiRekey[]) {
    if (rekeys.length === 0) return html`<p>None.</p>`
    return html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">Started</th><th scope="col">Old patient id</th><th scope="col">At</th><th scope="col">Co-signed by</th><th scope="col">Status</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
      <tbody>${rekeys.map(r => html`<tr data-rekey=${r.id} data-status=${r.status}>
        <td>${formatTime(r.time)}</td><td class="mono">${shortHex(r.old)}</td><td>${r.hospital.name ?? shortHex(r.hospital.key)}</td>
        <td>${r.cosigners.map(c => c.name ?? shortHex(c.key)).join(', ')} (${r.neededCustodians} of the ${r.custodians.length} holding images needed)</td>
        <td>${STATUS[r.status]}${r.effectiveAt !== null && r.status === 'waiting' ? html`, until ${formatTime(r.effectiveAt)}` : nothing}</td>
        <td>${r.status === 'cosigning' || r.status === 'waiting'
          ? html`<button type="button" ?disabled=${this.#action.busy} aria-label="Co-sign the request for ${shortHex(r.old)}" @click=${async () => await this.#act('Co-signed.', async () => await cosignRekey(this.session.client, r.id))}>Co-sign (identity checked)</button>
            <button type="button" class="danger" ?disabled=${this.#action.busy} aria-label="Veto the request for ${shortHex(r.old)}" @click=${async () => await this.#act('Vetoed.', async () => await vetoRekey(this.session.client, r.id))}>Veto</button>`
          : nothing}</td>
      </tr>`)}</tbody></table></div>`
  }

  #releases (list: Release[]) {
    if (list.length === 0) return html`<p>None.</p>`
    const review = (r: Release, verdict: string) => async () => await this.#act(`Recorded: ${verdict}.`, async () => await this.session.client.request('POST', `/api/emergencies/${r.id}/review`, { verdict }))
    return html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">When</th><th scope="col">Clinician</th><th scope="col">Hospital</th><th scope="col">Reason</th><th scope="col">Window</th><th scope="col">Verdict</th></tr></thead>
      <tbody>${list.map(r => html`<tr data-release=${r.id}>
        <td>${formatTime(r.time)}</td><td>${r.clinician.name ?? shortHex(r.clinician.key)}</td><td>${r.hospital.name ?? shortHex(r.hospital.key)}</td>
        <td>${r.reason ?? ''}</td><td>${r.live ? html`open until ${formatTime(r.until)}` : 'ended'}</td>
        <td>${r.review !== null
          ? r.review.verdict
          : html`<button type="button" ?disabled=${this.#action.busy} @click=${review(r, 'justified')}>Justified</button>
            <button type="button" class="danger" ?disabled=${this.#action.busy} @click=${review(r, 'unjustified')}>Unjustified</button>`}</td>
      </tr>`)}</tbody></table></div>`
  }

  override render () {
    return html`
      <h1>Recovery and emergencies</h1>
      <mc-error-note .error=${this.#action.error ?? this.#lists.error}></mc-error-note>
      ${this.#action.done === null ? nothing : html`<p class="ok" role="status">${this.#action.done}</p>`}
      ${this.code === null ? nothing : html`<p>Recovery code for the patient's new account (shown once; print it for them): <span class="code" data-testid="assisted-code">${this.code}</span></p>`}
      <h2>Assisted recovery</h2>
      <p class="muted">For a patient who lost both their password and their recovery code. Check their identity in person first. The patient types the new password; the new keys are made in this page.</p>
      <form @submit=${this.#start}>
        <label for="old">The patient's old patient id</label>
        <input id="old" name="old" required pattern="[0-9a-fA-F]{64}" autocomplete="off" spellcheck="false">
        <label for="username">New username</label>
        <input id="username" name="username" required autocomplete="off" autocapitalize="none" spellcheck="false">
        <label for="password">New password</label>
        <input id="password" name="password" type="password" autocomplete="new-password" required>
        <label for="confirm">Repeat the new password</label>
        <input id="confirm" name="confirm" type="password" autocomplete="new-password" required>
        <p><button type="submit" ?disabled=${this.#action.busy}>Start assisted recovery</button></p>
      </form>
      ${this.#lists.render(l => html`
        <h2>Requests about our patients</h2>${this.#rekeys(l.rekeys)}
        <h2>Emergency releases of our images</h2>
        <p class="muted">Each was recorded on the ledger and shown to the patient at once. Review it and record a verdict.</p>
        ${this.#releases(l.emergencies)}
        <h2>Emergency role</h2>
        <p class="muted">Other hospitals release keys in an emergency only to clinicians of ours with this role.</p>
        ${l.clinicians.length === 0 ? html`<p>No clinicians.</p>` : html`<ul>${l.clinicians.map(c => html`<li>${c.username}
          <button type="button" ?disabled=${this.#action.busy} aria-label="Give ${c.username} the emergency role" @click=${async () => await this.#act(`${c.username} has the emergency role.`, async () => await this.session.client.request('PUT', `/api/emergency-roles/${c.signPub}`, { role: 'allow' }))}>Give the emergency role</button>
          <button type="button" class="secondary" ?disabled=${this.#action.busy} aria-label="Withdraw ${c.username}'s emergency role" @click=${async () => await this.#act(`${c.username} no longer has the emergency role.`, async () => await this.session.client.request('PUT', `/api/emergency-roles/${c.signPub}`, { role: 'deny' }))}>Withdraw</button></li>`)}</ul>`}
      `)}
    `
  }
}
customElements.define('mc-admin-safety', McAdminSafety)
