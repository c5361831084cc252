// The ledger explorer: each member's chain head, then the chosen member's blocks, newest first,
// with their transactions; each transaction opens its detail page, where its inclusion proof is
// checked in this browser. A transaction id can also be looked up directly.
import { LitElement, css, html, nothing } from 'lit'
import { formatTime, shortHex } from '../lib/format.ts'
import { api } from '../services/api.ts'
import type { BlockSummary, Head, Member } from '../services/api.ts'
import { navigate } from '../services/navigate.ts'
import type { Session } from '../services/session.ts'
import { shared } from '../styles/shared.ts'
import './mc-error-note.ts'

/** Blocks per page of the explorer. */
const PAGE = 20

/** `<mc-ledger-explorer .session=${s}>`. */
export class McLedgerExplorer extends LitElement {
  static override properties = {
    session: { attribute: false }, heads: { state: true }, members: { state: true }, author: { state: true },
    blocks: { state: true }, top: { state: true }, error: { state: true }, badId: { state: true }
  }

  static override styles = [shared, css`
    .chains { display: flex; flex-wrap: wrap; gap: 0.5rem; }
    .chains button[aria-pressed=true] { background: #0b2e4f; }
    details { border-bottom: 1px solid #d8dee4; padding: 0.4rem 0; }
    summary { cursor: pointer; }
    ul { margin: 0.4rem 0; }
  `]

  declare session: Session
  declare heads: Head[]
  declare members: Member[]
  declare author: string | null
  declare blocks: BlockSummary[]
  declare top: number
  declare error: unknown
  declare badId: boolean

  constructor () {
    super()
    this.heads = []
    this.members = []
    this.author = null
    this.blocks = []
    this.top = 0
    this.error = null
    this.badId = false
  }

  override connectedCallback (): void {
    super.connectedCallback()
    void this.#load()
  }

  async #load (): Promise<void> {
    try {
      const a = api(this.session.client)
      const [heads, members] = await Promise.all([a.heads(), a.members()])
      this.heads = heads
      this.members = members
      const first = heads.find(h => members.some(m => m.self && m.key === h.author)) ?? heads[0]
      if (first !== undefined && this.author === null) await this.#show(first.author, first.height)
    } catch (err) {
      this.error = this.session.fail(err)
    }
  }

  async #show (author: string, top: number): Promise<void> {
    this.error = null
    try {
      const from = Math.max(0, top - PAGE + 1)
      const blocks = await api(this.session.client).blocks(author, from, top - from + 1)
      this.author = author
      this.top = top
      this.blocks = blocks.reverse()
    } catch (err) {
      this.error = this.session.fail(err)
    }
  }

  #name (key: string): string {
    return this.members.find(m => m.key === key)?.name ?? shortHex(key)
  }

  #lookup (e: SubmitEvent): void {
    e.preventDefault()
    const id = String(new FormData(e.currentTarget as HTMLFormElement).get('txid') ?? '').trim().toLowerCase()
    this.badId = !/^[0-9a-f]{64}$/.test(id)
    if (!this.badId) navigate(this, `/app/admin/ledger/tx/${id}`)
  }

  override render () {
    const author = this.author
    return html`
      <h1>Ledger</h1>
      <form @submit=${this.#lookup} novalidate class="row">
        <div><label for="txid">Transaction id</label><input id="txid" name="txid" class="mono" spellcheck="false" autocomplete="off" aria-invalid=${this.badId ? 'true' : 'false'}></div>
        <button type="submit">Look up</button>
      </form>
      ${this.badId ? html`<p class="field-error" role="alert">A transaction id is 64 characters of 0–9 and a–f.</p>` : nothing}
      <mc-error-note .error=${this.error}></mc-error-note>
      <h2>Chains</h2>
      <div class="chains" role="group" aria-label="Member chains">
        ${this.heads.map(h => html`<button type="button" class="secondary" aria-pressed=${h.author === author ? 'true' : 'false'} @click=${async () => await this.#show(h.author, h.height)}>
          ${this.#name(h.author)}: ${h.height + 1} blocks</button>`)}
      </div>
      ${author === null ? nothing : html`
        <h2>Blocks of ${this.#name(author)}</h2>
        ${this.blocks.map(b => html`<details data-height=${b.header.height}>
          <summary>Block ${b.header.height} · ${formatTime(b.header.time)} · ${b.header.txCount} transaction${b.header.txCount === 1 ? '' : 's'}</summary>
          <p class="mono">hash ${b.hash}</p>
          <ul>${b.txs.map(t => html`<li><a href="/app/admin/ledger/tx/${t.id}" data-type=${t.type}>${t.type}</a> <span class="mono">${shortHex(t.id)}</span></li>`)}</ul>
        </details>`)}
        <p class="row">
          ${this.top + 1 < (this.heads.find(h => h.author === author)?.height ?? 0) + 1 ? html`<button type="button" class="secondary" @click=${async () => await this.#show(author, Math.min(this.top + PAGE, this.heads.find(h => h.author === author)?.height ?? 0))}>Newer</button>` : nothing}
          ${this.top - PAGE >= 0 ? html`<button type="button" class="secondary" @click=${async () => await this.#show(author, this.top - PAGE)}>Older</button>` : nothing}
        </p>`}
    `
  }
}
customElements.define('mc-ledger-explorer', McLedgerExplorer)
