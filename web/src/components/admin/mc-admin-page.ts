// The admin console: one tab (node status, members, accounts, ledger explorer, federated
// learning), chosen by the route; the header navigation switches between them.
import { LitElement, html } from 'lit'
import type { AdminTab } from '../../lib/routes.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import './mc-accounts.ts'
import './mc-admin-safety.ts'
import './mc-fl-dashboard.ts'
import './mc-ledger-explorer.ts'
import './mc-members.ts'
import './mc-node-status.ts'
import './mc-tx-detail.ts'

/** `<mc-admin-page .session=${s} .tab=${tab} .txId=${id} .taskId=${id}>`. */
export class McAdminPage extends LitElement {
  static override properties = { session: { attribute: false }, tab: {}, txId: { attribute: false }, taskId: { attribute: false } }
  static override styles = [shared]

  declare session: Session
  declare tab: AdminTab
  declare txId: string | null
  declare taskId: string | null

  constructor () {
    super()
    this.txId = null
    this.taskId = null
  }

  override render () {
    switch (this.tab) {
      case 'status': return html`<mc-node-status .session=${this.session}></mc-node-status>`
      case 'members': return html`<mc-members .session=${this.session}></mc-members>`
      case 'accounts': return html`<mc-accounts .session=${this.session}></mc-accounts>`
      case 'ledger': return this.txId === null
        ? html`<mc-ledger-explorer .session=${this.session}></mc-ledger-explorer>`
        : html`<mc-tx-detail .session=${this.session} .txId=${this.txId}></mc-tx-detail>`
      case 'fl': return html`<mc-fl-dashboard .session=${this.session} .taskId=${this.taskId}></mc-fl-dashboard>`
      case 'safety': return html`<mc-admin-safety .session=${this.session}></mc-admin-safety>`
    }
  }
}
customElements.define('mc-admin-page', McAdminPage)
