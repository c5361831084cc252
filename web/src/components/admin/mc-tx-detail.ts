// One transaction with its place on the ledger, and its inclusion proof checked here, in the
// browser (web/src/lib/proof-check.ts): the Merkle path, the member's signature on the block, and
// that the proven bytes are this transaction. The result is shown in words, not only colour.
import { LitElement, css, html, nothing } from 'lit'
import type { PropertyValues } from 'lit'
import { formatTime, shortHex } from '../../lib/words/format.ts'
import { labelOf } from '../../lib/words/names.ts'
import { checkTxProof } from '../../lib/proof-check.ts'
import type { ProofOutcome } from '../../lib/proof-check.ts'
import { api } from '../../services/api.ts'
import { LoadController } from '../../services/load-controller.ts'
import { namesOf } from '../../services/names.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** The body's top-level fields that hold a 64-hex key (a person or a hospital), to show by name. */
function keysIn (body: unknown): Array<{ field: string, key: string }> {
  if (typeof body !== 'object' || body === null) return []
  return Object.entries(body as Record<string, unknown>).flatMap(([field, v]) =>
    typeof v === 'string' && /^[0-9a-f]{64}$/.test(v) && ['accessor', 'grantee', 'subject', 'member', 'user', 'hospital'].includes(field) ? [{ field, key: v }] : [])
}

/** `<mc-tx-detail .session=${s} .txId=${id}>`. */
export class McTxDetail extends LitElement {
  static override properties = { session: { attribute: false }, txId: {}, outcome: { state: true } }
  static override styles = [shared, css`
    .result { font-size: 1.1rem; padding: 0.75rem 1rem; border-radius: 8px; margin: 0.75rem 0; }
    .result.ok { background: #e6f4ea; border: 2px solid #0a6b2d; }
    .result.bad { background: #fdecee; border: 2px solid #a4000f; }
    pre { white-space: pre-wrap; word-break: break-all; font-size: 0.8rem; background: #f3f5f7; padding: 0.6rem; border-radius: 6px; max-height: 24rem; overflow: auto; }
  `]

  declare session: Session
  declare txId: string
  declare outcome: ProofOutcome | null
  /** The transaction with its proof, the members whose keys may sign blocks, and this ledger's id. */
  readonly #tx = new LoadController(this, {
    args: () => [this.txId],
    load: async () => {
      const a = api(this.session.client)
      const [answer, members, health] = await Promise.all([a.tx(this.txId), a.members(), a.health()])
      // The signer and every key the body names (accessor, grantee, subject…), by directory name.
      const keys = [answer.tx.signer, ...keysIn(answer.tx.body).map(k => k.key)]
      return { answer, members, ledgerId: health.ledger, names: await namesOf(this.session.client, keys) }
    },
    fail: err => this.session.fail(err)
  })

  constructor () {
    super()
    this.outcome = null
  }

  override willUpdate (changed: PropertyValues<this>): void {
    if (changed.has('txId')) this.outcome = null
  }

  #verify (): void {
    const v = this.#tx.value
    if (v === undefined) return
    // Every member ever admitted, removed ones too: their old blocks remain valid history.
    this.outcome = checkTxProof(this.txId, v.answer.proof, { ledgerId: v.ledgerId, members: v.members.map(m => m.key) })
  }

  #name (key: string): string {
    return this.#tx.value?.members.find(m => m.key === key)?.name ?? shortHex(key)
  }

  #outcome () {
    const o = this.outcome
    if (o === null) return nothing
    if (o.ok) {
      return html`<div class="result ok" role="status" data-result="verified">✓ Verified in this browser: this ${o.type} transaction is in block ${o.height} of ${this.#name(o.author)}, whose signature checks out, under ledger <span class="mono">${shortHex(this.#tx.value?.ledgerId ?? '')}</span>.</div>`
    }
    return html`<div class="result bad" role="alert" data-result="failed" data-code=${o.code}>✗ Not verified: ${o.text}</div>`
  }

  override render () {
    return html`
      <p><a href="/app/admin/ledger">← Ledger</a></p>
      <h1>Transaction</h1>
      <p class="mono">${this.txId}</p>
      <mc-error-note .error=${this.#tx.error}></mc-error-note>
      ${this.#tx.render(({ answer: a }) => html`
        <dl class="card facts">
          <dt>Type</dt><dd>${a.tx.type}</dd>
          <dt>Signed by</dt><dd><span data-testid="signer-name">${labelOf(this.#tx.value?.names ?? new Map(), a.tx.signer)}</span><br><span class="mono">${a.tx.signer}</span></dd>
          ${keysIn(a.tx.body).map(k => html`<dt>${k.field}</dt><dd>${labelOf(this.#tx.value?.names ?? new Map(), k.key)} <span class="mono" title=${k.key}>${shortHex(k.key)}</span></dd>`)}
          <dt>Sequence</dt><dd>${a.tx.seq}</dd>
          <dt>Time</dt><dd>${formatTime(a.tx.time)}</dd>
          <dt>In block</dt><dd>${a.location.height} of ${this.#name(a.location.author)}, position ${a.location.index}<br><span class="mono">${a.location.blockHash}</span></dd>
        </dl>
        <h2>Inclusion proof</h2>
        <p>The check uses only code in this page: the transaction's Merkle path (RFC 6962) must lead to the root in the block header, and the header must carry a valid signature of a member of this ledger.
          The ledger id and member keys come from this peer; compare the ledger id with the one your consortium published.</p>
        <p><button type="button" @click=${() => this.#verify()}>Verify inclusion proof</button></p>
        ${this.#outcome()}
        <details><summary>Transaction body</summary><pre>${JSON.stringify(a.tx.body, null, 2)}</pre></details>
      `)}
    `
  }
}
customElements.define('mc-tx-detail', McTxDetail)
