// The ledger explorer: each member's chain head, then the chosen member's blocks, newest first,
// with their transactions; each transaction opens its detail page, where its inclusion proof is
// checked in this browser. A transaction id can also be looked up directly.
import { LitElement, css, html, nothing } from 'lit'
import { formatTime, shortHex } from '../../lib/words/format.ts'
import { api } from '../../services/api.ts'
import { LoadController } from '../../services/load-controller.ts'
import { navigate } from '../../services/navigate.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** Blocks per page of the explorer. */
const PAGE = 20

/** `<mc-ledger-explorer .session=${s}>`. */
export class McLedgerExplorer extends LitElement {
  static override properties = { session: { attribute: false }, author: { state: true }, top: { state: true }, badId: { state: true } }

  static override styles = [shared, css`
    .chains { display: flex; flex-wrap: wrap; gap: 0.5rem; }
    /* The pressed chain: white on navy (12.6:1); the secondary button's blue text would have 2.1:1 here. */
    .chains button[aria-pressed=true] { background: #0b2e4f; border-color: #0b2e4f; color: #fff; }
    details { border-bottom: 1px solid #d8dee4; padding: 0.4rem 0; }
    summary { cursor: pointer; }
    ul { margin: 0.4rem 0; }
  `]

  declare session: Session
  /** The chain shown (its author's key), and the height of the newest block on show. */
  declare author: string | null
  declare top: number
  declare badId: boolean
  readonly #chains = new LoadController(this, {
    load: async () => {
      const a = api(this.session.client)
      const [heads, members] = await Promise.all([a.heads(), a.members()])
      return { heads, members }
    },
    fail: err => this.session.fail(err)
  })

  readonly #blocks = new LoadController(this, {
    args: () => [this.author, this.top],
    load: async () => {
      if (this.author === null) return []
      const from = Math.max(0, this.top - PAGE + 1)
      return (await api(this.session.client).blocks(this.author, from, this.top - from + 1)).reverse()
    },
    fail: err => this.session.fail(err)
  })

  constructor () {
    super()
    this.author = null
    this.top = 0
    this.badId = false
  }

  /** Once the chains are known, shows this peer's own chain first. */
  override willUpdate (): void {
    const chains = this.#chains.value
    if (this.author !== null || chains === undefined) return
    const first = chains.heads.find(h => chains.members.some(m => m.self && m.key === h.author)) ?? chains.heads[0]
    if (first !== undefined) this.#show(first.author, first.height)
  }

  #show (author: string, top: number): void {
    this.author = author
    this.top = top
  }

  #name (key: string): string {
    return this.#chains.value?.members.find(m => m.key === key)?.name ?? shortHex(key)
  }

  #lookup (e: SubmitEvent): void {
    e.preventDefault()
    const id = String(new FormData(e.currentTarget as HTMLFormElement).get('txid') ?? '').trim().toLowerCase()
    this.badId = !/^[0-9a-f]{64}$/.test(id)
    if (!this.badId) navigate(this, `/app/admin/ledger/tx/${id}`)
  }

  override render () {
    const author = this.author
    const heads = this.#chains.value?.heads ?? []
    const height = heads.find(h => h.author === author)?.height ?? 0
    return html`
      <h1>Ledger</h1>
      <form @submit=${this.#lookup} novalidate class="row">
        <div><label for="txid">Transaction id</label><input id="txid" name="txid" class="mono" spellcheck="false" autocomplete="off" aria-invalid=${this.badId ? 'true' : 'false'}></div>
        <button type="submit">Look up</button>
      </form>
      ${this.badId ? html`<p class="field-error" role="alert">A transaction id is 64 characters of 0–9 and a–f.</p>` : nothing}
      <mc-error-note .error=${this.#chains.error ?? this.#blocks.error}></mc-error-note>
      <h2>Chains</h2>
      <div class="chains" role="group" aria-label="Member chains">
        ${heads.map(h => html`<button type="button" class="secondary" aria-pressed=${h.author === author ? 'true' : 'false'} @click=${() => { this.#show(h.author, h.height) }}>
          ${this.#name(h.author)}: ${h.height + 1} blocks</button>`)}
      </div>
      ${author === null ? nothing : html`
        <h2>Blocks of ${this.#name(author)}</h2>
        ${(this.#blocks.value ?? []).map(b => html`<details data-height=${b.header.height}>
          <summary>Block ${b.header.height} · ${formatTime(b.header.time)} · ${b.header.txCount} transaction${b.header.txCount === 1 ? '' : 's'}</summary>
          <p class="mono">hash ${b.hash}</p>
          <ul>${b.txs.map(t => html`<li><a href="/app/admin/ledger/tx/${t.id}" data-type=${t.type}>${t.type}</a> <span class="mono">${shortHex(t.id)}</span></li>`)}</ul>
        </details>`)}
        <p class="row">
          ${this.top < height ? html`<button type="button" class="secondary" @click=${() => { this.#show(author, Math.min(this.top + PAGE, height)) }}>Newer</button>` : nothing}
          ${this.top - PAGE >= 0 ? html`<button type="button" class="secondary" @click=${() => { this.#show(author, this.top - PAGE) }}>Older</button>` : nothing}
        </p>`}
    `
  }
}
customElements.define('mc-ledger-explorer', McLedgerExplorer)
