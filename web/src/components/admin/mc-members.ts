// The consortium's members as this peer's ledger sees them, with flags and the equivocation
// evidence held against any of them (two signed blocks at one height: transferable proof), and
// the admin's membership changes: propose admitting or removing a hospital, or resolving an
// equivocation by keeping one of its two blocks, and approve proposals.
import { LitElement, html, nothing } from 'lit'
import { decodeBlock } from '../../../../protocol/chain/block.ts'
import { fromHex, toHex } from '../../../../protocol/bytes.ts'
import type { ApiProposal } from '../../../../protocol/client/client.ts'
import { formatTime, shortHex } from '../../lib/words/format.ts'
import { api } from '../../services/api.ts'
import type { Member } from '../../services/api.ts'
import { ActionController } from '../../services/action-controller.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** An Ed25519 public key in hex: what the peer's `member` field accepts. */
const KEY_HEX = /^[0-9a-fA-F]{64}$/

/** `<mc-members .session=${s}>`. */
export class McMembers extends LitElement {
  static override properties = {
    session: { attribute: false },
    action: { state: true },
    fieldError: { state: true }
  }

  static override styles = [shared]

  declare session: Session
  declare action: 'add' | 'remove'
  declare fieldError: string | null
  /** Proposals and approvals (the listing's own failure is in `#data.error`). */
  readonly #action = new ActionController(this, { fail: err => this.session.fail(err) })
  readonly #data = new LoadController(this, {
    load: async () => {
      const a = api(this.session.client)
      const [members, evidence, proposals] = await Promise.all([a.members(), a.evidence(), this.session.client.proposals()])
      return { members, evidence, proposals }
    },
    fail: err => this.session.fail(err)
  })

  constructor () {
    super()
    this.action = 'add'
    this.fieldError = null
  }

  /** Runs one write, then reloads: the new proposal or approval is on this peer's ledger at once. */
  async #write (fn: () => Promise<string>): Promise<void> {
    await this.#action.run(async () => {
      this.#action.done = await fn()
      await this.#data.reload()
    })
  }

  async #propose (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    // Taken now: a shadow-tree event's target is cleared once dispatch ends (DOM §2.9).
    const form = e.target as HTMLFormElement
    const data = new FormData(form)
    const text = (k: string): string => String(data.get(k) ?? '').trim()
    this.fieldError = null
    if (this.action === 'remove') {
      const member = text('remove-member')
      if (member === '') { this.fieldError = 'Choose the member to remove.'; return }
      await this.#write(async () => { await this.session.client.propose({ action: 'remove', member }); return `Removal of ${this.#name(member)} proposed.` })
      return
    }
    const member = text('member')
    const name = text('name')
    const addrs = text('addrs').split(/\s+/).filter(a => a !== '')
    if (!KEY_HEX.test(member)) { this.fieldError = 'The member key is 64 hexadecimal digits (its Ed25519 public key).'; return }
    if (name === '') { this.fieldError = 'Give the hospital a name.'; return }
    await this.#write(async () => {
      await this.session.client.propose({ action: 'add', member: member.toLowerCase(), name, addrs })
      form.reset()
      return `Admission of ${name} proposed. Other members' admins must now approve it.`
    })
  }

  #name (key: string): string {
    return this.#data.value?.members.find(x => x.key === key)?.name ?? shortHex(key)
  }

  #proposeForm () {
    const members = this.#data.value?.members ?? []
    const self = members.find(m => m.self)?.key
    const removable = members.filter(m => m.status === 'active' && m.key !== self)
    return html`<form class="card" aria-label="Propose a membership change" @submit=${async (e: SubmitEvent) => await this.#propose(e)}>
      <label for="action">Change</label>
      <select id="action" name="action" .value=${this.action} @change=${(e: Event) => { this.action = (e.target as HTMLSelectElement).value === 'remove' ? 'remove' : 'add'; this.fieldError = null }}>
        <option value="add">Admit a hospital</option>
        <option value="remove">Remove a member</option>
      </select>
      ${this.action === 'add' ? html`
        <label for="member">Member key (hex)</label>
        <input id="member" name="member" class="mono" autocomplete="off" spellcheck="false" aria-describedby="member-help" required>
        <p id="member-help" class="muted">The new hospital's Ed25519 public key, 64 hexadecimal digits.</p>
        <label for="name">Name</label>
        <input id="name" name="name" maxlength="128" required>
        <label for="addrs">Multiaddrs (one per line)</label>
        <textarea id="addrs" name="addrs" rows="2" class="mono" placeholder="/dns4/peer.example.org/tcp/4001"></textarea>`
      : html`
        <label for="remove-member">Member</label>
        <select id="remove-member" name="remove-member">
          ${removable.map(m => html`<option value=${m.key}>${m.name} (${shortHex(m.key)})</option>`)}
        </select>`}
      ${this.fieldError === null ? nothing : html`<p class="field-error" role="alert">${this.fieldError}</p>`}
      <p><button type="submit" ?disabled=${this.#action.busy}>Propose</button></p>
    </form>`
  }

  /** What a proposal changes, in words. */
  #change (p: ApiProposal): string {
    if (p.action === 'resolve') return `resolve equivocation at height ${String(p.height)}, keep block ${shortHex(p.keep ?? '')}`
    return p.action === 'add' ? 'admit' : 'remove'
  }

  /** The accessible name of a proposal's Approve button. */
  #approveLabel (p: ApiProposal): string {
    const who = p.name === '' ? this.#name(p.member) : p.name
    if (p.action === 'resolve') return `Approve keeping block ${shortHex(p.keep ?? '')} of ${who} at height ${String(p.height)}`
    return `Approve ${p.action === 'add' ? 'admitting' : 'removing'} ${p.name === '' ? shortHex(p.member) : p.name}`
  }

  /** The member's standing after equivocation evidence: refused, or resolved. */
  #flag (x: Member) {
    if (!x.flagged) return nothing
    if (x.refusedAbove !== null) {
      return html` <span class="bad">⚠ flagged: signed two blocks at height ${x.refusedAbove}; its later blocks are refused until the consortium resolves it</span>`
    }
    return html` <span class="muted">equivocation resolved: ${x.resolutions.map(r => `height ${r.height} keeps ${shortHex(r.keep)}`).join('; ')}</span>`
  }

  /** One block of an equivocation, with a button to propose keeping it (while unresolved). */
  #variant (author: string, height: number, hex: string) {
    const hash = toHex(decodeBlock(fromHex(hex)).hash)
    const member = this.#data.value?.members.find(m => m.key === author)
    const open = member !== undefined && !member.resolutions.some(r => r.height === height) && member.status === 'active'
    return html`<li><span class="mono" title=${hash}>${shortHex(hash)}</span>
      ${!open ? nothing : html`<button type="button" ?disabled=${this.#action.busy} aria-label="Propose keeping block ${shortHex(hash)} of ${this.#name(author)} at height ${height}"
        @click=${async () => await this.#write(async () => {
          await this.session.client.propose({ action: 'resolve', member: author, height, keep: hash })
          return 'Resolution proposed. Other members\' admins must now approve it.'
        })}>Keep this block</button>`}
      <details><summary>Signed block (hex)</summary><p class="mono">${hex}</p></details></li>`
  }

  #proposalTable (list: ApiProposal[], pending: boolean) {
    if (list.length === 0) return html`<p>None.</p>`
    const self = this.#data.value?.members.find(m => m.self)?.key
    return html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">Change</th><th scope="col">Member</th><th scope="col">Proposed by</th><th scope="col">Approved by</th><th scope="col">When</th>
        ${pending ? html`<th scope="col"><span class="visually-hidden">Action</span></th>` : nothing}</tr></thead>
      <tbody>${list.map(p => html`<tr data-proposal=${p.id}>
        <td>${this.#change(p)}</td>
        <td>${p.name === '' ? nothing : html`${p.name} `}<span class="mono" title=${p.member}>${shortHex(p.member)}</span></td>
        <td>${p.proposerName ?? shortHex(p.proposer)}</td>
        <td>${p.approvers.length === 0 ? '—' : p.approvers.map(a => this.#name(a)).join(', ')}</td>
        <td>${formatTime(p.time)}</td>
        ${!pending ? nothing : html`<td>${p.proposer === self || (self !== undefined && p.approvers.includes(self)) ? html`<span class="muted">voted</span>`
          : html`<button type="button" ?disabled=${this.#action.busy} aria-label=${this.#approveLabel(p)}
              @click=${async () => await this.#write(async () => { await this.session.client.approveProposal(p.id); return 'Approval recorded.' })}>Approve</button>`}</td>`}
      </tr>`)}</tbody>
    </table></div>`
  }

  override render () {
    const evidence = this.#data.value?.evidence ?? []
    const proposals = this.#data.value?.proposals ?? []
    return html`
      <h1>Members</h1>
      <mc-error-note .error=${this.#action.error ?? this.#data.error}></mc-error-note>
      ${this.#action.done === null ? nothing : html`<p class="ok" role="status">${this.#action.done}</p>`}
      ${this.#data.render(({ members: m }) => html`<div class="table-wrap"><table>
        <thead><tr><th scope="col">Hospital</th><th scope="col">Key</th><th scope="col">Status</th><th scope="col">Connected</th><th scope="col">Addresses</th><th scope="col">Admitted by</th></tr></thead>
        <tbody>${m.map(x => html`<tr data-member=${x.key}>
          <td>${x.name}${x.self ? html` <strong>(this peer)</strong>` : nothing}</td>
          <td class="mono" title=${x.key}>${shortHex(x.key)}</td>
          <td>${x.status}${this.#flag(x)}</td>
          <td>${x.self ? '—' : x.connected ? 'yes' : 'no'}</td>
          <td class="mono">${x.addrs.join(' ')}</td>
          <td>${x.admittedBy === null ? 'founding member' : this.#name(x.admittedBy)}</td>
        </tr>`)}</tbody>
      </table></div>`)}
      <h2>Equivocation evidence</h2>
      ${evidence.length === 0 ? html`<p>No member has signed two different blocks at the same height.</p>` : html`<ul>
        ${evidence.map(e => html`<li><strong>${this.#name(e.author)}</strong> signed two blocks at height ${e.height}.
          Its later blocks are refused until the consortium removes it or a quorum approves keeping one of them:
          <ul>${e.blocks.map(b => this.#variant(e.author, e.height, b))}</ul></li>`)}
      </ul>`}
      <h2>Pending proposals</h2>
      <p class="note">A change takes effect once the proposer and approving members reach the consortium's quorum (docs/design.md §3).
        Proposals made at other hospitals appear here once they have replicated to this peer.</p>
      ${this.#proposalTable(proposals.filter(p => !p.enacted), true)}
      <h2>Propose a change</h2>
      ${this.#proposeForm()}
      <h2>Changes in effect</h2>
      ${this.#proposalTable(proposals.filter(p => p.enacted), false)}
    `
  }
}
customElements.define('mc-members', McMembers)
