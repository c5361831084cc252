// The header navigation for the signed-in role, with who is signed in, "Lock" (drops the keys
// now) and "Sign out". The current page's link carries aria-current="page".
import { LitElement, css, html, nothing } from 'lit'
import type { Route } from '../../lib/routes.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'

interface Link { href: string, label: string, current: (r: Route) => boolean }

const LINKS: Record<string, Link[]> = {
  patient: [
    { href: '/app/patient/images', label: 'My images', current: r => (r.page === 'patient' && r.tab === 'images') || r.page === 'patient-viewer' },
    { href: '/app/patient/id', label: 'My id', current: r => r.page === 'patient' && r.tab === 'id' },
    { href: '/app/patient/consents', label: 'Consents', current: r => r.page === 'patient' && r.tab === 'consents' },
    { href: '/app/patient/audit', label: 'Who viewed my images', current: r => r.page === 'patient' && r.tab === 'audit' },
    { href: '/app/patient/research', label: 'Research use', current: r => r.page === 'patient' && r.tab === 'research' },
    { href: '/app/patient/credit', label: 'Credit score', current: r => r.page === 'patient' && r.tab === 'credit' }
  ],
  clinician: [{ href: '/app/clinician', label: 'Patients', current: r => r.page === 'clinician' || r.page === 'clinician-viewer' }],
  admin: [
    { href: '/app/admin/status', label: 'Node status', current: r => r.page === 'admin' && r.tab === 'status' },
    { href: '/app/admin/members', label: 'Members', current: r => r.page === 'admin' && r.tab === 'members' },
    { href: '/app/admin/accounts', label: 'Accounts', current: r => r.page === 'admin' && r.tab === 'accounts' },
    { href: '/app/admin/ledger', label: 'Ledger', current: r => r.page === 'admin-tx' || (r.page === 'admin' && r.tab === 'ledger') },
    { href: '/app/admin/fl', label: 'Federated learning', current: r => r.page === 'admin-fl-task' || (r.page === 'admin' && r.tab === 'fl') },
    { href: '/app/admin/safety', label: 'Recovery and emergencies', current: r => r.page === 'admin' && r.tab === 'safety' },
    { href: '/app/research', label: 'Research', current: r => r.page === 'research' }
  ],
  researcher: [
    { href: '/app/research', label: 'Research', current: r => r.page === 'research' },
    { href: '/app/clinician', label: 'Patients', current: r => r.page === 'clinician' || r.page === 'clinician-viewer' }
  ]
}

/**
 * `<mc-nav .session=${s} .state=${s.state} .route=${r}>`. The session object stays the same while
 * it is unlocked or locked, so its state is passed as its own property: without it, unlocking on a
 * page whose route does not change (a viewer URL) left the nav without its links and Lock button.
 */
export class McNav extends LitElement {
  static override properties = { session: { attribute: false }, state: { attribute: false }, route: { attribute: false } }
  static override styles = [shared, css`
    :host { flex: 1 1 20rem; color: #fff; }
    nav { display: flex; flex-wrap: wrap; align-items: center; gap: 0.25rem 1rem; justify-content: space-between; }
    ul { list-style: none; display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; margin: 0; padding: 0; }
    a { color: #fff; text-decoration: none; padding: 0.35rem 0.25rem; display: inline-block; border-bottom: 3px solid transparent; }
    a[aria-current=page] { border-bottom-color: #f0a800; font-weight: 700; }
    a:hover { text-decoration: underline; }
    .who { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; font-size: 0.9rem; }
    button { min-height: 36px; padding: 0.25rem 0.7rem; background: transparent; border-color: #fff; }
  `]

  declare session: Session
  declare state: Session['state']
  declare route: Route

  override render () {
    const user = this.session.user
    const state = this.state ?? this.session.state
    const links = user === null || state !== 'open' ? [] : LINKS[user.role] ?? []
    return html`<nav aria-label="Main">
      <ul>${links.map(l => html`<li><a href=${l.href} aria-current=${l.current(this.route) ? 'page' : 'false'}>${l.label}</a></li>`)}</ul>
      <div class="who">
        ${user === null ? nothing : html`<span>${user.username} <span class="role">(${user.role})</span></span>`}
        ${state === 'open' ? html`<a href="/app/account" aria-current=${this.route.page === 'account' ? 'page' : 'false'}>My account</a>` : nothing}
        ${state === 'open' ? html`<button type="button" @click=${() => this.session.lock()}>Lock</button>` : nothing}
        <button type="button" @click=${async () => await this.session.signOut()}>Sign out</button>
      </div>
    </nav>`
  }
}
customElements.define('mc-nav', McNav)
