// This hospital's accounts for its admin: approve clinicians and researchers waiting for approval
// (which registers their keys on the ledger), and lock or unlock accounts.
import { LitElement, html, nothing } from 'lit'
import { formatTime, shortHex } from '../../lib/words/format.ts'
import { labelOf } from '../../lib/words/names.ts'
import type { DisplayName } from '../../lib/words/names.ts'
import { api } from '../../services/api.ts'
import type { Account } from '../../services/api.ts'
import { ActionController } from '../../services/action-controller.ts'
import { LoadController } from '../../services/load-controller.ts'
import { namesOf } from '../../services/names.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

const DONE = { approve: 'approved and registered on the ledger', lock: 'locked', unlock: 'unlocked', 'end-sessions': 'signed out on every device' } as const

/** `<mc-accounts .session=${s}>`. */
export class McAccounts extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared]

  declare session: Session
  /** Approve, lock and unlock (the list's own failure is in `#lists.error`). */
  readonly #action = new ActionController(this, { fail: err => this.session.fail(err) })
  readonly #lists = new LoadController(this, {
    load: async () => {
      const a = api(this.session.client)
      const [pending, active, locked] = await Promise.all([a.accounts('pending'), a.accounts('active'), a.accounts('locked')])
      // Staff by the name they gave the directory, where they gave one.
      const names = await namesOf(this.session.client, [...active, ...locked].map(x => x.signPub))
      return { pending, active, locked, names }
    },
    fail: err => this.session.fail(err)
  })

  async #act (account: Account, action: 'approve' | 'lock' | 'unlock' | 'end-sessions'): Promise<void> {
    await this.#action.run(async () => {
      await api(this.session.client).accountAction(account.username, action)
      this.#action.done = `${account.username}: ${DONE[action]}.`
      await this.#lists.reload()
    })
  }

  #table (accounts: Account[], action: 'approve' | 'lock' | 'unlock' | null, label: string, names: Map<string, DisplayName> = new Map()) {
    if (accounts.length === 0) return html`<p>None.</p>`
    return html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">Username</th><th scope="col">Name in the directory</th><th scope="col">Role</th><th scope="col">Key</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
      <tbody>${accounts.map(a => html`<tr data-username=${a.username}>
        <td>${a.username}</td><td>${names.has(a.signPub) ? labelOf(names, a.signPub, { withHospital: false }) : '—'}</td><td>${a.role}</td><td class="mono" title=${a.signPub}>${shortHex(a.signPub)}</td><td>${formatTime(a.createdAt)}</td>
        <td>${action === null || a.username === this.session.user?.username ? nothing
          : html`<button type="button" class=${action === 'lock' ? 'danger' : ''} ?disabled=${this.#action.busy} @click=${async () => await this.#act(a, action)}
              aria-label="${label} ${a.username}">${label}</button>
            ${action === 'lock' ? html`<button type="button" class="secondary" ?disabled=${this.#action.busy} @click=${async () => await this.#act(a, 'end-sessions')}
              aria-label="End the sessions of ${a.username}">End sessions</button>` : nothing}`}</td>
      </tr>`)}</tbody>
    </table></div>`
  }

  override render () {
    return html`
      <h1>Accounts</h1>
      <mc-error-note .error=${this.#action.error ?? this.#lists.error}></mc-error-note>
      ${this.#action.done === null ? nothing : html`<p class="ok" role="status">${this.#action.done}</p>`}
      ${this.#lists.render(l => html`
        <h2>Waiting for approval</h2>
        <p class="muted">Check who the person is before approving: approval puts their key on the ledger as a clinician or researcher of this hospital.</p>
        ${this.#table(l.pending, 'approve', 'Approve')}
        <h2>Active</h2>${this.#table(l.active, 'lock', 'Lock', l.names)}
        <h2>Locked</h2>${this.#table(l.locked, 'unlock', 'Unlock', l.names)}
      `)}
    `
  }
}
customElements.define('mc-accounts', McAccounts)
