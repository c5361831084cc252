// Picks one clinician or researcher for a consent by searching their name in the consortium
// directory (`GET /api/directory?q=`), as "Dr Lee, Radiology, South Hospital", never by typing a
// key; a power user may still paste the 64-character key the person gave them. Emits
// `mc-picked` with `{ key, label }`, or null when the choice is cleared.
import { LitElement, css, html, nothing } from 'lit'
import type { DirectoryEntryJson } from '../../../../protocol/client/client.ts'
import { nameLabel } from '../../lib/words/names.ts'
import { namesOf } from '../../services/names.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'

/** What `mc-picked` carries; `pasted` when the key was pasted rather than picked from a search. */
export interface Picked { key: string, label: string, pasted?: boolean }

/** Wait after the last keystroke before searching, so typing a name asks the peer once or twice. */
const SEARCH_DELAY_MS = 200

/** `<mc-person-picker .session=${s} .invalid=${bool} @mc-picked=${…}>`. */
export class McPersonPicker extends LitElement {
  static override properties = {
    session: { attribute: false }, invalid: { type: Boolean }, results: { state: true }, picked: { state: true }, searching: { state: true }, query: { state: true }
  }

  static override styles = [shared, css`
    ul.results { list-style: none; padding: 0; margin: 0.25rem 0; max-width: 32rem; }
    ul.results li { margin: 0.2rem 0; }
    ul.results button { width: 100%; text-align: left; }
    .chosen { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
  `]

  declare session: Session
  declare invalid: boolean
  declare results: DirectoryEntryJson[] | null
  declare picked: Picked | null
  declare searching: boolean
  declare query: string
  #timer: ReturnType<typeof setTimeout> | undefined
  /** Answers to older searches are dropped: only the latest query's results show. */
  #asked = 0

  constructor () {
    super()
    this.invalid = false
    this.results = null
    this.picked = null
    this.searching = false
    this.query = ''
  }

  override disconnectedCallback (): void {
    super.disconnectedCallback()
    clearTimeout(this.#timer)
  }

  #emit (picked: Picked | null): void {
    this.picked = picked
    this.dispatchEvent(new CustomEvent<Picked | null>('mc-picked', { detail: picked, bubbles: true, composed: true }))
  }

  readonly #onSearch = (e: Event): void => {
    e.stopPropagation()
    this.query = (e.target as HTMLInputElement).value
    clearTimeout(this.#timer)
    const q = this.query.trim()
    if (q.length < 2) { this.results = null; return }
    this.#timer = setTimeout(() => { void this.#search(q) }, SEARCH_DELAY_MS)
  }

  async #search (q: string): Promise<void> {
    const asked = ++this.#asked
    this.searching = true
    try {
      const found = await this.session.client.directory(q)
      if (asked === this.#asked) this.results = found.filter(x => x.kind === 'staff')
    } catch (err) {
      if (asked === this.#asked) this.session.fail(err)
    } finally {
      if (asked === this.#asked) this.searching = false
    }
  }

  readonly #onPaste = (e: Event): void => {
    e.stopPropagation()
    const key = (e.target as HTMLInputElement).value.trim().toLowerCase()
    if (!/^[0-9a-f]{64}$/.test(key)) { this.#emit(key === '' ? null : { key, label: '' }); return }
    this.#emit({ key, label: `the person with key ${key.slice(0, 8)}…${key.slice(-4)}` })
    // A pasted key the directory knows reads by name in the summary ("You let Dr Lee … open").
    void namesOf(this.session.client, [key]).then(found => {
      const n = found.get(key)
      if (n !== undefined && this.picked?.key === key) this.#emit({ key, label: nameLabel(n, key), pasted: true })
    }).catch(() => {})
  }

  #results () {
    const r = this.results
    if (r === null) return this.searching ? html`<p class="muted" role="status">Searching…</p>` : nothing
    if (r.length === 0) return html`<p class="muted" role="status">Nobody in the directory matches "${this.query.trim()}".</p>`
    return html`<ul class="results" aria-label="People found">${r.map(x => {
      const label = nameLabel(x, x.key)
      return html`<li><button type="button" class="secondary" aria-label="Choose ${label}" data-key=${x.key}
        @click=${() => { this.results = null; this.#emit({ key: x.key, label }) }}>${label}</button></li>`
    })}</ul>`
  }

  override render () {
    if (this.picked !== null && this.picked.label !== '' && this.picked.pasted !== true && !this.picked.label.startsWith('the person with key')) {
      return html`<div class="chosen" data-testid="picked"><span>Chosen: <strong>${this.picked.label}</strong></span>
        <button type="button" class="secondary" @click=${() => { this.query = ''; this.#emit(null) }}>Choose someone else</button></div>`
    }
    return html`
      <label for="person-search">Search by name</label>
      <input id="person-search" type="search" autocomplete="off" spellcheck="false" .value=${this.query} @input=${this.#onSearch} @change=${(e: Event) => e.stopPropagation()}
        aria-invalid=${this.invalid ? 'true' : 'false'} aria-describedby="person-search-hint" placeholder="for example Lee, or Radiology">
      <p id="person-search-hint" class="muted">Type at least two letters of their name, department or hospital.</p>
      ${this.#results()}
      <details><summary>Paste a key instead</summary>
        <label for="userKey">Their key</label>
        <input id="userKey" class="mono" autocomplete="off" spellcheck="false" @input=${this.#onPaste} @change=${(e: Event) => e.stopPropagation()}
          aria-describedby="userKey-hint">
        <p id="userKey-hint" class="muted">64 characters: the clinician finds it on their Patients page.</p>
      </details>`
  }
}
customElements.define('mc-person-picker', McPersonPicker)
