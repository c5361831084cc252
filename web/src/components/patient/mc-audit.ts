// "Who viewed my images": the access.logs on the ledger for this patient, grouped by person, day,
// use and basis, newest first, each group one sentence ("Dr Lee (Radiology, South Hospital) opened 3 of
// your images on 6 Dec, under your treatment consent to South Hospital"). Listing, opening,
// training, validation and emergency read apart; emergency is marked in words and colour, never
// colour alone. A group expands to its ledger entries, and each entry's inclusion proof can be
// checked here, in the browser (web/src/lib/proof-check.ts), from `GET /api/me/tx/:id`.
import { LitElement, css, html, nothing } from 'lit'
import { asAuditGroup, groupSentence, USE_WORDS } from '../../lib/words/audit-words.ts'
import type { AuditGroup } from '../../lib/words/audit-words.ts'
import { formatTime, shortHex } from '../../lib/words/format.ts'
import { checkTxProof } from '../../lib/proof-check.ts'
import type { ProofOutcome } from '../../lib/proof-check.ts'
import { api } from '../../services/api.ts'
import { ActionController } from '../../services/action-controller.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

interface Entry { id: string, time: number, image: string | null, use: string, inferred: boolean }

function asEntry (v: Record<string, unknown>): Entry | null {
  if (typeof v.id !== 'string' || typeof v.time !== 'number' || typeof v.use !== 'string') return null
  return { id: v.id, time: v.time, image: typeof v.image === 'string' ? v.image : null, use: v.use, inferred: v.inferred === true }
}

/** The page's offset from UTC in minutes (east positive): the peer groups by this local day. */
function localOffset (): number {
  return -new Date().getTimezoneOffset()
}

/** `<mc-audit .session=${s}>`. */
export class McAudit extends LitElement {
  static override properties = { session: { attribute: false }, proofs: { state: true }, open: { state: true } }
  static override styles = [shared, css`
    ol.groups { list-style: none; padding: 0; margin: 0; }
    ol.groups > li { border: 1px solid #c9d1d9; border-radius: 8px; padding: 0.6rem 0.8rem; margin: 0.5rem 0; }
    ol.groups > li.emergency { background: #fff1c2; border-color: #8a5a00; }
    .flag { color: #8a1c00; font-weight: 700; }
    .sentence { margin: 0 0 0.3rem; }
  `]

  declare session: Session
  /** Proof outcomes by entry id, once the person asked for the check. */
  declare proofs: ReadonlyMap<string, ProofOutcome>
  /** The groups expanded, with the entries loaded so far and the cursor of the rest. */
  declare open: ReadonlyMap<string, { entries: Entry[], next: string | null }>

  constructor () {
    super()
    this.proofs = new Map()
    this.open = new Map()
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

  /** Loading older groups, or a group's entries. */
  readonly #more = new ActionController(this, { fail: err => this.session.fail(err) })

  /** One page of groups from the peer, newest first, and the cursor of the next. */
  async #load (cursor: string | undefined): Promise<{ groups: AuditGroup[], next: string | null }> {
    const page = await this.session.client.myAuditGroups({ cursor, tz: localOffset() })
    return { groups: page.groups.map(asAuditGroup).filter(g => g !== null), next: page.next }
  }

  /** Appends the next page of groups to the list shown. */
  async #showOlder (): Promise<void> {
    const shown = this.#page.value
    if (shown?.next == null) return
    await this.#more.run(async () => {
      const older = await this.#load(shown.next ?? undefined)
      this.#page.value = { groups: [...shown.groups, ...older.groups], next: older.next }
      this.requestUpdate()
    })
  }

  /** Expands a group to its ledger entries (a page at a time), or folds it again. */
  async #toggle (g: AuditGroup, more = false): Promise<void> {
    const held = this.open.get(g.key)
    if (held !== undefined && !more) {
      const open = new Map(this.open)
      open.delete(g.key)
      this.open = open
      return
    }
    await this.#more.run(async () => {
      const page = await this.session.client.myAuditPage({ group: g.key, tz: localOffset(), cursor: more ? held?.next ?? undefined : undefined })
      const entries = page.entries.map(asEntry).filter(e => e !== null)
      this.open = new Map([...this.open, [g.key, { entries: [...(more ? held?.entries ?? [] : []), ...entries], next: page.next }]])
    })
  }

  #entries (g: AuditGroup) {
    const held = this.open.get(g.key)
    if (held === undefined) return nothing
    return html`<div class="table-wrap" id="entries-${g.key}"><table>
      <caption class="visually-hidden">Ledger entries of this group</caption>
      <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Image</th><th scope="col">Entry</th><th scope="col">On the ledger</th></tr></thead>
      <tbody>${held.entries.map(e => html`<tr data-entry=${e.id} data-use=${e.use}>
        <td>${formatTime(e.time)}</td>
        <td>${USE_WORDS[e.use] ?? e.use}${e.inferred ? html`<br><span class="muted">(written before listing, opening, training and validation were told apart)</span>` : nothing}</td>
        <td class="mono" title=${e.image ?? ''}>${e.image === null ? '— (a listing names no image)' : shortHex(e.image, 10)}</td>
        <td class="mono" title=${e.id}>${shortHex(e.id)}</td>
        <td>${this.#proof(e.id)}</td>
      </tr>`)}</tbody>
    </table></div>
    ${held.next === null ? nothing : html`<p><button type="button" class="secondary" ?disabled=${this.#more.busy} @click=${async () => await this.#toggle(g, true)}>More entries</button></p>`}`
  }

  #group (g: AuditGroup, thisYear: number) {
    const expanded = this.open.has(g.key)
    return html`<li class=${g.emergency ? 'emergency' : ''} data-use=${g.use} data-basis=${g.basis} data-purpose=${g.purpose ?? ''} data-accessor=${g.accessor} data-hospital=${g.hospitalName ?? g.hospital}>
      <p class="sentence">${g.emergency ? html`<span class="flag">⚠ Emergency: </span>` : nothing}${groupSentence(g, thisYear)}</p>
      <button type="button" class="secondary" aria-expanded=${expanded ? 'true' : 'false'} aria-controls="entries-${g.key}" ?disabled=${this.#more.busy}
        @click=${async () => await this.#toggle(g)}>${expanded ? 'Hide' : 'Show'} the ${g.entries === 1 ? 'ledger entry' : `${g.entries} ledger entries`}</button>
      ${this.#entries(g)}
    </li>`
  }

  override render () {
    const shown = this.#page.value?.groups
    const emergencies = shown?.filter(g => g.emergency).length ?? 0
    const trained = shown?.filter(g => g.use === 'train' || g.use === 'validate').length ?? 0
    const thisYear = new Date().getFullYear()
    return html`
      <h1>Who viewed my images</h1>
      <p>Every time someone other than you lists your images, opens one, or a hospital trains or checks the model on one, the hospital writes it on the ledger. Nobody can remove these entries. They are grouped by person and day, the newest first; show a group's entries to check each one on the ledger.</p>
      <p><button type="button" class="secondary" @click=${async () => { this.open = new Map(); await this.#page.reload() }}>Refresh</button></p>
      <mc-error-note .error=${this.#more.error ?? this.#page.error}></mc-error-note>
      ${emergencies > 0 ? html`<p class="warn" role="status"><span class="flag">Emergency access:</span> ${emergencies === 1 ? 'one group of entries was' : `${emergencies} groups of entries were`} made without your consent because a clinician declared an emergency. They are highlighted below.</p>` : nothing}
      ${trained > 0 ? html`<p class="note" role="status">Training and validation of the model ran at the hospital under your training consent; only what the model learned was shared. A validation image is held out: the model is checked on it, never trained on it.</p>` : nothing}
      ${this.#page.render(({ groups }) => groups.length === 0 ? html`<p role="status">Nobody else has viewed your images.</p>` : html`
        <ol class="groups" aria-label="Accesses to your images, by person and day, newest first">${groups.map(g => this.#group(g, thisYear))}</ol>
        ${this.#page.value?.next == null ? nothing : html`<p><button type="button" class="secondary" ?disabled=${this.#more.busy} @click=${async () => await this.#showOlder()}>${this.#more.busy ? 'Loading…' : 'Show older entries'}</button></p>`}`)}
    `
  }
}
customElements.define('mc-audit', McAudit)
