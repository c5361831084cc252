// Node status for the hospital's admin: what `/api/health` reports (status and why it is degraded,
// ledger, blocks, members and which are connected, uptime, storage and model backend) plus the
// state root, which every peer holding the same blocks shares.
import { LitElement, html, nothing } from 'lit'
import { shortHex } from '../../lib/words/format.ts'
import { api } from '../../services/api.ts'
import type { Health, Member } from '../../services/api.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

function uptime (ms: number): string {
  const s = Math.floor(ms / 1000)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s % 60} s` : `${s} s`
}

/** What the page shows, read in one go. */
interface Status { health: Health, members: Member[], root: string }

/** `<mc-node-status .session=${s}>`. */
export class McNodeStatus extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared]

  declare session: Session
  readonly #status = new LoadController(this, {
    load: async (): Promise<Status> => {
      const a = api(this.session.client)
      const [health, members, root] = await Promise.all([a.health(), a.members(), this.session.client.request('GET', '/api/ledger/state-root').then(async r => await r.json() as { root: string })])
      return { health, members, root: root.root }
    },
    fail: err => this.session.fail(err)
  })

  #storage (h: Health) {
    if (typeof h.storedBlocks !== 'number') return html`<dd>not reported by this peer</dd>`
    return html`<dd data-testid="storage">${h.storedBlocks} image blocks on disk${typeof h.pins === 'number' ? html`, ${h.pins} images pinned whole` : nothing}</dd>`
  }

  #model (h: Health) {
    if (h.model === undefined) return html`<dd>not reported by this peer</dd>`
    if (h.model === null) return html`<dd data-testid="model">none deployed: uploads get no result image</dd>`
    return html`<dd data-testid="model"><span class="mono" title=${h.model}>${shortHex(h.model)}</span>${h.backend === undefined ? nothing : html` on ${h.backend}`}</dd>`
  }

  #facts ({ health: h, members, root }: Status) {
    const name = (key: string): string => members.find(m => m.key === key)?.name ?? shortHex(key)
    return html`<dl class="card facts" data-testid="health">
      <dt>Status</dt><dd class=${h.status === 'ok' ? 'ok' : 'bad'}>${h.status}${(h.reasons ?? []).map(r => html`<br>${r.code}: ${r.message} (since ${new Date(r.since).toLocaleString()})`)}</dd>
      <dt>This hospital</dt><dd>${name(h.self)} <span class="mono">${h.self}</span></dd>
      <dt>Ledger id</dt><dd class="mono">${h.ledger}</dd>
      <dt>Blocks held</dt><dd>${h.blocks}</dd>
      <dt>State root</dt><dd class="mono">${root}</dd>
      <dt>Active members</dt><dd>${h.members}</dd>
      <dt>Connected peers</dt><dd>${h.connected.length === 0 ? 'none' : h.connected.map(k => html`${name(k)}<br>`)}</dd>
      <dt>Storage</dt>${this.#storage(h)}
      <dt>Deployed model</dt>${this.#model(h)}
      <dt>Up for</dt><dd>${uptime(h.uptimeMs)}</dd>
    </dl>`
  }

  override render () {
    return html`
      <h1>Node status</h1>
      <p><button type="button" class="secondary" @click=${async () => await this.#status.reload()}>Refresh</button></p>
      <mc-error-note .error=${this.#status.error}></mc-error-note>
      ${this.#status.render(s => this.#facts(s))}
    `
  }
}
customElements.define('mc-node-status', McNodeStatus)
