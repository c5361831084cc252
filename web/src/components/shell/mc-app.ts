// The root element: owns the route (real URLs through the History API) and hands the session
// down to the page for the current route. Links inside any shadow root are intercepted here, and
// focus moves to the main region on each navigation so screen readers announce the new page.
import { LitElement, css, html, nothing } from 'lit'
import type { PropertyValues } from 'lit'
import { homeOf, isPublic, mayOpen, parseRoute } from '../../lib/routes.ts'
import type { Route } from '../../lib/routes.ts'
import { NAVIGATE } from '../../services/navigate.ts'
import { SessionController } from '../../services/session-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import './mc-nav.ts'
import '../account/mc-sign-in.ts'
import '../account/mc-sign-up.ts'
import '../account/mc-unlock.ts'
import '../clinician/mc-clinician-page.ts'
import '../images/mc-viewer.ts'
import '../patient/mc-patient-page.ts'
import '../account/mc-account.ts'
import '../account/mc-recover.ts'
import '../account/mc-recovery-code.ts'

const TITLES: Partial<Record<Route['page'], string>> = {
  'sign-in': 'Sign in', 'sign-up': 'Create an account', recover: 'Recover your account', account: 'My account', setup: 'Set up', clinician: 'Patients', 'clinician-viewer': 'Viewer',
  patient: 'My records', 'patient-viewer': 'Viewer', admin: 'Administration', 'admin-tx': 'Transaction', 'admin-fl-task': 'Federated learning', research: 'Research', model: 'Model card'
}

/** `<mc-app .session=${session}>`: the whole UI. */
export class McApp extends LitElement {
  static override properties = { session: { attribute: false }, route: { state: true } }
  static override styles = [shared, css`
    :host { min-height: 100vh; background: #f6f8fa; }
    header { background: #0b2e4f; color: #fff; padding: 0.5rem 1rem; display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.5rem; }
    .brand { font-weight: 700; font-size: 1.15rem; }
    .skip { position: absolute; left: -999px; background: #fff; color: #0b5cad; padding: 0.5rem; }
    .skip:focus { left: 0.5rem; top: 0.5rem; z-index: 10; }
    main { padding: 1rem; max-width: 72rem; margin: 0 auto; }
    /* Focus moves to main on navigation for screen readers; the region itself needs no ring. */
    main:focus, main:focus-visible { outline: none; box-shadow: none; }
    @media (max-width: 480px) { main { padding: 0.75rem 0.6rem; } }
  `]

  declare session: Session
  declare route: Route
  #ready = false
  #lastState: Session['state'] | undefined

  constructor () {
    super()
    this.route = parseRoute(location.pathname, location.hash)
    new SessionController(this, () => this.session)
  }

  readonly #onPop = (): void => { this.route = parseRoute(location.pathname, location.hash) }
  readonly #onActivity = (): void => { this.session?.touch() }
  readonly #onNavigate = (e: Event): void => {
    const detail = (e as CustomEvent<{ path: string, replace: boolean }>).detail
    this.#go(detail.path, detail.replace)
  }

  readonly #onClick = (e: MouseEvent): void => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
    const a = e.composedPath().find((n): n is HTMLAnchorElement => n instanceof HTMLAnchorElement)
    if (a === undefined || a.target !== '' || a.hasAttribute('download')) return
    const url = new URL(a.href, location.href)
    if (url.origin !== location.origin || !(url.pathname === '/' || url.pathname === '/setup' || url.pathname.startsWith('/app'))) return
    e.preventDefault()
    this.#go(url.pathname + url.search + url.hash)
  }

  override connectedCallback (): void {
    super.connectedCallback()
    window.addEventListener('popstate', this.#onPop)
    for (const type of ['keydown', 'pointerdown', 'wheel']) window.addEventListener(type, this.#onActivity, { passive: true })
    this.addEventListener('click', this.#onClick)
    this.addEventListener(NAVIGATE, this.#onNavigate)
  }

  override disconnectedCallback (): void {
    super.disconnectedCallback()
    window.removeEventListener('popstate', this.#onPop)
    for (const type of ['keydown', 'pointerdown', 'wheel']) window.removeEventListener(type, this.#onActivity)
    this.removeEventListener('click', this.#onClick)
    this.removeEventListener(NAVIGATE, this.#onNavigate)
  }

  #go (path: string, replace = false): void {
    if (path !== location.pathname + location.search + location.hash) {
      if (replace) history.replaceState(null, '', path)
      else history.pushState(null, '', path)
    }
    this.route = parseRoute(location.pathname, location.hash)
  }

  /** Redirects that depend on the session: signed in → away from sign-in; signed out → to it. */
  override willUpdate (): void {
    const s = this.session
    if (s === undefined) return
    const r = this.route
    const was = this.#lastState
    this.#lastState = s.state
    if (s.state === 'signed-out' && (was === 'open' || was === 'locked') && !isPublic(r)) {
      // Signed out (or the session ended): leave the page, so Back does not return to it.
      this.#go('/app/sign-in')
    } else if (s.state === 'open' && s.role !== null && (r.page === 'home' || r.page === 'sign-in' || r.page === 'sign-up' || r.page === 'recover' || r.page === 'setup')) {
      this.#go(homeOf(s.role), true)
    } else if (s.state === 'signed-out' && r.page === 'home') {
      this.#go('/app/sign-in', true)
    }
  }

  override updated (changed: PropertyValues<this>): void {
    const title = TITLES[this.route.page]
    document.title = title === undefined ? 'Medichain' : `${title} · Medichain`
    if (changed.has('route') && changed.get('route') !== undefined) {
      this.renderRoot.querySelector<HTMLElement>('main')?.focus({ preventScroll: false })
    }
    if (!this.#ready && this.session !== undefined && this.session.state !== 'starting') {
      this.#ready = true
      // The bench (scripts/bench/users/bench-web.ts) reads this mark as the time to interactive.
      performance.mark('mc:ready')
    }
  }

  #page () {
    const s = this.session
    const r = this.route
    if (s === undefined || s.state === 'starting') return html`<p role="status">Loading…</p>`
    if (r.page === 'setup' && s.state !== 'open') return html`<mc-sign-up setup .setupToken=${r.token} .session=${s}></mc-sign-up>`
    if (r.page === 'not-found') return html`<h1>Page not found</h1><p>There is no page at this address. <a href="/">Go to the start page</a>.</p>`
    if (s.state === 'signed-out') {
      if (r.page === 'recover') return html`<mc-recover .session=${s}></mc-recover>`
      return r.page === 'sign-up' ? html`<mc-sign-up .session=${s}></mc-sign-up>` : html`<mc-sign-in .session=${s}></mc-sign-in>`
    }
    // Shown once, before anything else, until the patient says the code is saved.
    if (s.recoveryCode !== null && s.state === 'open') return html`<mc-recovery-code .session=${s}></mc-recovery-code>`
    if (s.state === 'locked') return html`<mc-unlock .session=${s}></mc-unlock>`
    const role = s.role
    if (role === null || isPublic(r) || r.page === 'home') return nothing
    if (!mayOpen(r, role)) return html`<h1>Not available</h1><p role="alert">This page is not available to a ${role} account. <a href=${homeOf(role)}>Go to your start page</a>.</p>`
    // The admin console is its own chunk: patients and clinicians never download it.
    if (r.page === 'admin' || r.page === 'admin-tx' || r.page === 'admin-fl-task') void import('../admin/mc-admin-page.ts')
    // The research page is its own chunk too: only researchers and admins download it.
    if (r.page === 'research' || r.page === 'model') void import('../research/mc-research-page.ts')
    switch (r.page) {
      case 'account': return html`<mc-account .session=${s}></mc-account>`
      case 'clinician': return html`<mc-clinician-page .session=${s} .patientId=${r.patientId}></mc-clinician-page>`
      case 'clinician-viewer': return html`<mc-viewer .session=${s} .patientId=${r.patientId} .cid=${r.cid}></mc-viewer>`
      case 'patient': return html`<mc-patient-page .session=${s} .tab=${r.tab}></mc-patient-page>`
      case 'patient-viewer': return html`<mc-viewer .session=${s} .patientId=${null} .cid=${r.cid}></mc-viewer>`
      case 'admin': return html`<mc-admin-page .session=${s} .tab=${r.tab}></mc-admin-page>`
      case 'admin-tx': return html`<mc-admin-page .session=${s} .tab=${'ledger'} .txId=${r.txId}></mc-admin-page>`
      case 'admin-fl-task': return html`<mc-admin-page .session=${s} .tab=${'fl'} .taskId=${r.taskId}></mc-admin-page>`
      case 'research': return html`<mc-research-page .session=${s}></mc-research-page>`
      case 'model': return html`<mc-model-card .session=${s} .cid=${r.cid}></mc-model-card>`
    }
  }

  override render () {
    const s = this.session
    const signedIn = s !== undefined && (s.state === 'open' || s.state === 'locked')
    return html`
      <a class="skip" href="#main" @click=${(e: Event) => { e.preventDefault(); this.renderRoot.querySelector<HTMLElement>('main')?.focus() }}>Skip to content</a>
      <header>
        <span class="brand">Medichain</span>
        ${signedIn ? html`<mc-nav .session=${s} .state=${s.state} .route=${this.route}></mc-nav>` : nothing}
      </header>
      <main id="main" tabindex="-1" data-path=${location.pathname}>${this.#page()}</main>
    `
  }
}
customElements.define('mc-app', McApp)
