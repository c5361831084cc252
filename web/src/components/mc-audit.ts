// "Who viewed my images": the access.logs on the ledger for this patient, newest first, a page at a
// time (the peer pages them: a patient's audit grows with every read), with the
// hospital, the basis (custodian, consent, emergency) and the purpose of the consent it used. A
// hospital's training use (purpose `training`) reads as such, apart from a clinician's view.
// Emergency access is marked in words and colour, never colour alone. Each entry's inclusion proof
// can be checked here, in the browser (web/src/lib/proof-check.ts), from `GET /api/me/tx/:id`.
import { LitElement, css, html, nothing } from 'lit'
import { formatTime, shortHex } from '../lib/format.ts'
import { checkTxProof } from '../lib/proof-check.ts'
import type { ProofOutcome } from '../lib/proof-check.ts'
import { api } from '../services/api.ts'
import { ActionController } from '../services/action-controller.ts'
import { LoadController } from '../services/load-controller.ts'
import type { Session } from '../services/session.ts'
import { shared } from '../styles/shared.ts'
import './mc-error-note.ts'

interface Entry { id: string, time: number, image: string, accessor: string, hospital: string, hospitalName: string | null, basis: string, consent: string | null, purpose: string | null, emergency: boolean }

const BASIS: Record<string, string> = { custodian: 'hospital that holds the image', consent: 'your consent', emergency: 'EMERGENCY access' }
/** A consent's basis by its purpose. */
const CONSENT: Record<string, string> = { treatment: 'your consent for treatment', research: 'your research consent' }

function asEntry (v: Record<string, unknown>): Entry | null {
  const s = (k: string): string | null => typeof v[k] === 'string' ? v[k] as string : null
  const [id, image, accessor, hospital, basis] = ['id', 'image', 'accessor', 'hospital', 'basis'].map(s)
  if (id === null || image === null || accessor === null || hospital === null || basis === null || typeof v.time !== 'number') return null
  return { id, time: v.time, image, accessor, hospital, hospitalName: s('hospitalName'), basis, consent: s('consent'), purpose: s('purpose'), emergency: v.emergency === true }
}

/** `<mc-audit .session=${s}>`. */
export class McAudit extends LitElement {
  static override properties = { session: { attribute: false }, proofs: { state: true } }
  static override styles = [shared, css`
    tr.emergency td { background: #fff1c2; }
    .flag { color: #8a1c00; font-weight: 700; }
  `]

  declare session: Session
  /** Proof outcomes by entry id, once the person asked for the check. */
  declare proofs: ReadonlyMap<string, ProofOutcome>

  constructor () {
    super()
    this.proofs = new Map()
  }

  /** Fetches the entry's transaction with its proof and checks it against this ledger's members. */
  async #verify (id: string): Promise<void> {
    const a = api(this.session.client)
    let outcome: ProofOutcome
    try {
      const [answer, members, health] = await Promise.all([a.myTx(id), a.members(), a.health()])
      outcome = checkTxProof(id, answer.proof, { ledgerId: health.ledger, members: members.map(m => m.key) })
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code
      outcome = { ok: false, code: typeof code === 'string' ? code : 'NETWORK', text: 'The proof could not be fetched.' }
    }
    this.proofs = new Map([...this.proofs, [id, outcome]])
  }

  #proof (id: string) {
    const o = this.proofs.get(id)
    if (o === undefined) return html`<button type="button" class="secondary" @click=${async () => await this.#verify(id)} aria-label="Verify that this entry is on the ledger">Verify</button>`
    return o.ok
      ? html`<span role="status" data-result="verified">✓ in block ${o.height}</span>`
      : html`<span role="alert" data-result="failed" data-code=${o.code}>✗ ${o.text}</span>`
  }

  readonly #page = new LoadController(this, {
    load: async () => await this.#load(undefined),
    fail: err => this.session.fail(err)
  })

  /** Loading older pages ("Show older entries"). */
  readonly #more = new ActionController(this, { fail: err => this.session.fail(err) })

  /** One page from the peer, newest first, and the cursor of the next. */
  async #load (cursor: string | undefined): Promise<{ entries: Entry[], next: string | null }> {
    const page = await this.session.client.myAuditPage({ cursor })
    return { entries: page.entries.map(asEntry).filter(e => e !== null), next: page.next }
  }

  /** Appends the next page to the list shown. */
  async #showOlder (): Promise<void> {
    const shown = this.#page.value
    if (shown?.next == null) return
    await this.#more.run(async () => {
      const older = await this.#load(shown.next ?? undefined)
      this.#page.value = { entries: [...shown.entries, ...older.entries], next: older.next }
      this.requestUpdate()
    })
  }

  /** Who looked and what allowed it: two cells, or one sentence for a training use. */
  #who (x: Entry) {
    const hospital = x.hospitalName ?? shortHex(x.hospital)
    if (x.purpose === 'training' && !x.emergency) return html`<td colspan="2">${hospital} used this image to train the detect-strange model (your training consent)</td>`
    const basis = x.basis === 'consent' && x.purpose !== null ? CONSENT[x.purpose] ?? BASIS.consent : BASIS[x.basis] ?? x.basis
    return html`<td class="mono" title=${x.accessor}>${shortHex(x.accessor)}</td>
      <td>${x.emergency ? html`<span class="flag">⚠ ${BASIS.emergency}</span>` : basis}</td>`
  }

  override render () {
    const shown = this.#page.value?.entries
    const emergencies = shown?.filter(x => x.emergency).length ?? 0
    const trained = shown?.filter(x => x.purpose === 'training').length ?? 0
    return html`
      <h1>Who viewed my images</h1>
      <p>Every time someone other than you lists or opens one of your images, the hospital they use writes it on the ledger. Nobody can remove these entries. The newest come first.</p>
      <p><button type="button" class="secondary" @click=${async () => await this.#page.reload()}>Refresh</button></p>
      <mc-error-note .error=${this.#more.error ?? this.#page.error}></mc-error-note>
      ${emergencies > 0 ? html`<p class="warn" role="status"><span class="flag">Emergency access:</span> ${emergencies} ${emergencies === 1 ? 'entry was' : 'entries were'} made without your consent because a clinician declared an emergency. They are highlighted below.</p>` : nothing}
      ${trained > 0 ? html`<p class="note" role="status">${trained} ${trained === 1 ? 'entry is' : 'entries are'} model training under your training consent: it ran at the hospital, and only what the model learned was shared.</p>` : nothing}
      ${this.#page.render(({ entries: e }) => e.length === 0 ? html`<p role="status">Nobody else has viewed your images.</p>` : html`
        <div class="table-wrap"><table>
          <caption class="visually-hidden">Accesses to your images, newest first</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Hospital</th><th scope="col">Who</th><th scope="col">Allowed by</th><th scope="col">Image</th><th scope="col">On the ledger</th></tr></thead>
          <tbody>${e.map(x => html`<tr class=${x.emergency ? 'emergency' : ''} data-basis=${x.basis} data-purpose=${x.purpose ?? ''} data-hospital=${x.hospitalName ?? x.hospital}>
            <td>${formatTime(x.time)}</td>
            <td>${x.hospitalName ?? shortHex(x.hospital)}</td>
            ${this.#who(x)}
            <td class="mono" title=${x.image}>${shortHex(x.image, 10)}</td>
            <td>${this.#proof(x.id)}</td>
          </tr>`)}</tbody>
        </table></div>
        ${this.#page.value?.next == null ? nothing : html`<p><button type="button" class="secondary" ?disabled=${this.#more.busy} @click=${async () => await this.#showOlder()}>${this.#more.busy ? 'Loading…' : 'Show older entries'}</button></p>`}`)}
    `
  }
}
customElements.define('mc-audit', McAudit)
