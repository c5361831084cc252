// The consortium's members as this peer's ledger sees them, with flags and the equivocation
// evidence held against any of them (two signed blocks at one height: transferable proof).
import { LitElement, html, nothing } from 'lit'
import { shortHex } from '../lib/format.ts'
import { api } from '../services/api.ts'
import type { Evidence, Member } from '../services/api.ts'
import type { Session } from '../services/session.ts'
import { shared } from '../styles/shared.ts'
import './mc-error-note.ts'

/** `<mc-members .session=${s}>`. */
export class McMembers extends LitElement {
  static override properties = { session: { attribute: false }, members: { state: true }, evidence: { state: true }, error: { state: true } }
  static override styles = [shared]

  declare session: Session
  declare members: Member[] | null
  declare evidence: Evidence[]
  declare error: unknown

  constructor () {
    super()
    this.members = null
    this.evidence = []
    this.error = null
  }

  override connectedCallback (): void {
    super.connectedCallback()
    const a = api(this.session.client)
    Promise.all([a.members(), a.evidence()]).then(([m, e]) => { this.members = m; this.evidence = e }, err => { this.error = this.session.fail(err) })
  }

  override render () {
    const m = this.members
    const name = (key: string): string => m?.find(x => x.key === key)?.name ?? shortHex(key)
    return html`
      <h1>Members</h1>
      <mc-error-note .error=${this.error}></mc-error-note>
      ${m === null ? html`<p role="status">Loading…</p>` : html`<div class="table-wrap"><table>
        <thead><tr><th scope="col">Hospital</th><th scope="col">Key</th><th scope="col">Status</th><th scope="col">Connected</th><th scope="col">Addresses</th><th scope="col">Admitted by</th></tr></thead>
        <tbody>${m.map(x => html`<tr data-member=${x.key}>
          <td>${x.name}${x.self ? html` <strong>(this peer)</strong>` : nothing}</td>
          <td class="mono" title=${x.key}>${shortHex(x.key)}</td>
          <td>${x.status}${x.flagged ? html` <span class="bad">⚠ flagged: equivocation</span>` : nothing}</td>
          <td>${x.self ? '—' : x.connected ? 'yes' : 'no'}</td>
          <td class="mono">${x.addrs.join(' ')}</td>
          <td class="mono">${x.admittedBy === null ? 'founding member' : shortHex(x.admittedBy)}</td>
        </tr>`)}</tbody>
      </table></div>`}
      <h2>Equivocation evidence</h2>
      ${this.evidence.length === 0 ? html`<p>No member has signed two different blocks at the same height.</p>` : html`<ul>
        ${this.evidence.map(e => html`<li><strong>${name(e.author)}</strong> signed two blocks at height ${e.height}
          <details><summary>The two signed blocks (hex)</summary><p class="mono">${e.blocks[0]}</p><p class="mono">${e.blocks[1]}</p></details></li>`)}
      </ul>`}
      <h2>Change membership</h2>
      <p class="note">Admitting or removing a hospital takes a <code>member.propose</code> and approvals from a quorum of members (DESIGN §3).
        This peer does not offer HTTP routes for them yet, so it cannot be done from this page.</p>
    `
  }
}
// TODO(issue 5): propose, approve and remove members here once the peer has routes for
// member.propose / member.approve (today only the ledger API and tests can submit them).
customElements.define('mc-members', McMembers)
