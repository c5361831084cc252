// The patient's consents, one row per grantee and purpose: who may open their images (by name from
// the consortium directory), for what and until when; a form to grant a new one (to a member
// hospital, or to one clinician or researcher found by name, or by a pasted key); revoke, which ends that one purpose only; and "revoke and re-key", which also has every
// image encrypted again under a new key. The grant is built and signed in this browser: the
// patient's image keys are re-wrapped here for the grantee's hospital, whose peer hands a key to
// its clinician only while the consent is live.
import { LitElement, css, html, nothing } from 'lit'
import { fromHex } from '../../../../protocol/bytes.ts'
import { MedichainError } from '../../../../protocol/errors.ts'
import { ResearchClient } from '../../../../protocol/client/research.ts'
import { MAX_CONSENT_IMAGES, PURPOSES, checkGrantForm, grantSummary, replacedConsent } from '../../lib/patient/consent-form.ts'
import type { GrantForm, Purpose } from '../../lib/patient/consent-form.ts'
import { formatTime, isoDate, shortHex } from '../../lib/words/format.ts'
import { nameLabel } from '../../lib/words/names.ts'
import { studiesOf } from '../../lib/images/series.ts'
import type { DisplayName } from '../../lib/words/names.ts'
import { api } from '../../services/api.ts'
import { ActionController } from '../../services/action-controller.ts'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'
import './mc-person-picker.ts'
import type { Picked } from './mc-person-picker.ts'

interface Consent { id: string, grantee: string, granteeName: DisplayName | null, kind: string | null, action: string, purpose: string | null, expires: number | null, time: number, images: string[], studies?: unknown[], scope: { kind: string } | null }

function asName (v: unknown): DisplayName | null {
  if (typeof v !== 'object' || v === null) return null
  const n = v as Record<string, unknown>
  if (typeof n.name !== 'string' || typeof n.department !== 'string' || typeof n.hospital !== 'string') return null
  return { name: n.name, department: n.department, hospital: n.hospital, hospitalName: typeof n.hospitalName === 'string' ? n.hospitalName : null }
}

const PURPOSE: Record<string, string> = { treatment: 'treatment (clinicians)', research: 'research', training: 'training the detect-strange model' }

function asConsent (v: Record<string, unknown>): Consent | null {
  const s = (k: string): string | null => typeof v[k] === 'string' ? v[k] as string : null
  const [id, grantee, action] = ['id', 'grantee', 'action'].map(s)
  if (id === null || grantee === null || action === null || typeof v.time !== 'number') return null
  return {
    id, grantee, granteeName: asName(v.granteeName), action, kind: s('kind'), purpose: s('purpose'), time: v.time,
    expires: typeof v.expires === 'number' ? v.expires : null,
    images: Array.isArray(v.images) ? v.images.filter((x): x is string => typeof x === 'string') : [],
    // The study keys it carries: a study granted by its key lists no image.
    studies: Array.isArray(v.studies) ? v.studies : [],
    scope: typeof v.scope === 'object' && v.scope !== null ? v.scope as { kind: string } : null
  }
}

/** The row's purpose as the revoke names it; a row without a known purpose revokes every purpose. */
function purposeOf (c: Consent): Purpose | undefined {
  return (PURPOSES as readonly string[]).includes(c.purpose ?? '') ? c.purpose as Purpose : undefined
}

/** `<mc-consents .session=${s}>`. */
export class McConsents extends LitElement {
  static override properties = {
    session: { attribute: false }, formErrors: { state: true }, kind: { state: true }, scope: { state: true }, draft: { state: true }, person: { state: true }
  }

  static override styles = [shared, css`
    fieldset { border: 1px solid #c9d1d9; border-radius: 8px; padding: 0.5rem 1rem 1rem; margin: 0.75rem 0; }
    legend { font-weight: 600; padding: 0 0.25rem; }
    .choice { display: flex; gap: 0.5rem; align-items: center; font-weight: 400; margin: 0.25rem 0; }
    .status-active { color: #0a6b2d; font-weight: 600; }
  `]

  declare session: Session
  declare formErrors: Partial<Record<keyof GrantForm, string>>
  declare kind: 'hospital' | 'user'
  declare scope: 'all' | 'images' | 'study'
  /** The form as typed so far, for its plain-words summary. */
  declare draft: { grantee: string, purpose: string, until: string, chosen: number }
  /** The clinician or researcher picked by name (or by a pasted key) for a consent to one person. */
  declare person: Picked | null
  /** Grant and revoke (the listing's own failure is in `#data.error`). */
  readonly #action = new ActionController(this, { fail: err => this.session.fail(err) })
  /** Research projects a research consent may name (titles and purposes only). */
  readonly #projects = new LoadController(this, {
    load: async () => await new ResearchClient(this.session.client).openProjects(),
    fail: err => this.session.fail(err)
  })

  readonly #data = new LoadController(this, {
    load: async () => {
      const [mine, members, images] = await Promise.all([
        this.session.client.myConsents(), api(this.session.client).members(), this.session.images.list(null, true)
      ])
      return {
        consents: mine.consents.map(asConsent).filter(c => c !== null).sort((a, b) => b.time - a.time),
        next: mine.next,
        members: members.filter(m => m.status === 'active'),
        images
      }
    },
    fail: err => this.session.fail(err)
  })

  /** Loading further pages of consents (the peer pages them by grantee). */
  readonly #more = new ActionController(this, { fail: err => this.session.fail(err) })

  /** Appends the next page of consents to the list shown. */
  async #showMore (): Promise<void> {
    const shown = this.#data.value
    if (shown?.next == null) return
    await this.#more.run(async () => {
      const page = await this.session.client.myConsents({ cursor: shown.next ?? undefined })
      const more = page.consents.map(asConsent).filter(c => c !== null)
      this.#data.value = { ...shown, consents: [...shown.consents, ...more].sort((a, b) => b.time - a.time), next: page.next }
      this.requestUpdate()
    })
  }

  constructor () {
    super()
    this.formErrors = {}
    this.kind = 'hospital'
    this.scope = 'all'
    this.draft = { grantee: '', purpose: 'treatment', until: isoDate(Date.now() + 30 * 86_400_000), chosen: 0 }
    this.person = null
  }

  /** The grantee as the directory names them; a short key only when it has no entry. */
  #granteeName (c: Consent): string {
    const m = this.#data.value?.members.find(x => x.key === c.grantee)
    if (m !== undefined) return `${m.name} (hospital)`
    if (c.granteeName !== null) return nameLabel(c.granteeName, c.grantee)
    return c.kind === 'hospital' ? `hospital ${shortHex(c.grantee)}` : `user ${shortHex(c.grantee)}`
  }

  /** Keeps the draft in step with the form, so the summary says what will be signed. */
  readonly #onInput = (e: Event): void => {
    const data = new FormData(e.currentTarget as HTMLFormElement)
    const get = (k: string): string => String(data.get(k) ?? '')
    const study = this.scope === 'study' ? studiesOf(this.#data.value?.images ?? []).find(x => x.record === get('study')) : undefined
    this.draft = { grantee: this.kind === 'hospital' ? get('hospital').trim().toLowerCase() : this.person?.key ?? '', purpose: get('purpose'), until: get('until'), chosen: study?.images.length ?? data.getAll('image').length }
  }

  readonly #onPicked = (e: CustomEvent<Picked | null>): void => {
    this.person = e.detail
    this.draft = { ...this.draft, grantee: e.detail?.key ?? '' }
  }

  /** The grant in plain words, and which current consent it would replace (one per grantee and purpose). */
  #summary () {
    const d = this.draft
    const members = this.#data.value?.members ?? []
    const name = this.kind === 'hospital' ? members.find(m => m.key === d.grantee)?.name : this.person?.label
    if (this.kind === 'hospital' ? name === undefined : !/^[0-9a-f]{64}$/.test(d.grantee)) return nothing
    const who = name ?? `the person with key ${shortHex(d.grantee)}`
    const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d.until)
    const until = day === null ? null : new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])).toLocaleDateString(undefined, { dateStyle: 'medium' })
    const old = replacedConsent(this.#data.value?.consents ?? [], d.grantee, d.purpose, Date.now())
    return html`<p class="note" data-testid="grant-summary">${grantSummary({ who, kind: this.kind, purpose: d.purpose, images: this.scope === 'all' ? 'all' : this.scope === 'study' ? { study: d.chosen } : d.chosen, until })}
      ${old === undefined ? nothing : html`<br><strong data-testid="grant-replaces">It replaces your current consent to ${who} for ${PURPOSE[d.purpose] ?? d.purpose}.</strong> Your consents to ${who} for other purposes stay as they are.`}</p>`
  }

  #status (c: Consent): 'active' | 'expired' | 'revoked' {
    if (c.action !== 'grant') return 'revoked'
    return c.expires !== null && c.expires > Date.now() ? 'active' : 'expired'
  }

  async #grant (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const data = new FormData(e.currentTarget as HTMLFormElement)
    const form: GrantForm = {
      kind: this.kind,
      hospital: String(data.get('hospital') ?? ''),
      userKey: this.person?.key ?? '',
      purpose: String(data.get('purpose') ?? ''),
      until: String(data.get('until') ?? ''),
      project: String(data.get('project') ?? '')
    }
    const checked = checkGrantForm(form, Date.now(), this.session.user?.signPub)
    const chosen = data.getAll('image').map(String)
    this.#action.done = null
    if (!checked.ok) { this.formErrors = checked.errors; return }
    if (this.scope === 'images' && chosen.length === 0) {
      this.formErrors = {}
      this.#action.error = new MedichainError('INVALID', 'choose at least one image, or all images')
      return
    }
    // A study: the consent names it (the ledger checks it is the patient's), with the keys of its images.
    const study = this.scope === 'study' ? studiesOf(this.#data.value?.images ?? []).find(x => x.record === String(data.get('study') ?? '')) : undefined
    if (this.scope === 'study' && study === undefined) {
      this.formErrors = {}
      this.#action.error = new MedichainError('INVALID', 'choose a study')
      return
    }
    // Instances sealed under the study's key cost nothing in the consent (its one study key opens
    // them); only older instances, ingested before study keys, still need a key each.
    const unsealed = study?.images.filter(i => i.study === null).length ?? 0
    if (unsealed > MAX_CONSENT_IMAGES) {
      this.formErrors = {}
      this.#action.error = new MedichainError('STUDY_TOO_LARGE', `this study has ${unsealed} images from before study keys; one consent can carry the keys of at most ${MAX_CONSENT_IMAGES}`)
      return
    }
    this.formErrors = {}
    await this.#action.run(async () => {
      const scoped = study !== undefined
        ? { scope: { kind: 'record' as const, record: fromHex(study.record) }, images: study.images.map(i => i.raw) }
        : this.scope === 'images' ? { images: chosen } : {}
      await this.session.client.grant({ ...checked.request, ...scoped })
      this.#action.done = 'Consent granted. It is on the ledger now.'
      await this.#data.reload()
    })
  }

  async #revoke (c: Consent, rekey = false): Promise<void> {
    await this.#action.run(async () => {
      // Naming the purpose ends this row only; the grantee's consents for other purposes stay.
      await this.session.client.revoke(c.id, c.grantee, purposeOf(c), { rekey })
      this.#action.done = rekey
        ? 'Consent revoked. The hospitals that hold your images are encrypting them again under new keys; grant again anyone who should still see them.'
        : 'Consent revoked.'
      await this.#data.reload()
    })
  }

  #revokeButtons (c: Consent) {
    const what = `the consent to ${this.#granteeName(c)} for ${c.purpose === null ? 'every purpose' : PURPOSE[c.purpose] ?? c.purpose}`
    return html`<button type="button" class="danger" ?disabled=${this.#action.busy} @click=${async () => await this.#revoke(c)} aria-label="Revoke ${what}">Revoke</button>
      <button type="button" class="danger" ?disabled=${this.#action.busy} @click=${async () => await this.#revoke(c, true)} aria-label="Revoke and re-key ${what}">Revoke and re-key</button>`
  }

  #form () {
    const { members, images } = this.#data.value ?? { members: [], images: [] }
    const fe = this.formErrors
    const err = (k: keyof GrantForm) => fe[k] === undefined ? nothing : html`<p class="field-error" id="${k}-error">${fe[k]}</p>`
    return html`<form @submit=${this.#grant} @input=${this.#onInput} @change=${this.#onInput} novalidate aria-label="Grant a consent">
      <fieldset><legend>Who</legend>
        <label class="choice"><input type="radio" name="kind" value="hospital" .checked=${this.kind === 'hospital'} @change=${() => { this.kind = 'hospital' }}> a hospital (all its clinicians)</label>
        <label class="choice"><input type="radio" name="kind" value="user" .checked=${this.kind === 'user'} @change=${() => { this.kind = 'user' }}> one clinician or researcher</label>
        ${this.kind === 'hospital'
          ? html`<label for="hospital">Hospital</label>
            <select id="hospital" name="hospital" aria-invalid=${fe.hospital !== undefined ? 'true' : 'false'}>
              <option value="">Choose…</option>
              ${members.map(m => html`<option value=${m.key}>${m.name}${m.self ? ' (this hospital)' : ''}</option>`)}
            </select>${err('hospital')}`
          : html`<mc-person-picker .session=${this.session} .invalid=${fe.userKey !== undefined} @mc-picked=${this.#onPicked}></mc-person-picker>${err('userKey')}`}
      </fieldset>
      <label for="purpose">For</label>
      <select id="purpose" name="purpose">
        <option value="treatment">treatment (clinicians)</option>
        <option value="research">research</option>
        <option value="training">training the detect-strange model (a hospital)</option>
      </select>${err('purpose')}
      <label for="project">Research project (for a research consent)</label>
      <select id="project" name="project" aria-invalid=${fe.project !== undefined ? 'true' : 'false'}>
        <option value="">research in general</option>
        ${(this.#projects.value ?? []).map(p => html`<option value=${p.id}>${p.title}</option>`)}
      </select>${err('project')}
      <label for="until">Until (last day)</label>
      <input id="until" name="until" type="date" .value=${isoDate(Date.now() + 30 * 86_400_000)} min=${isoDate(Date.now())} aria-invalid=${fe.until !== undefined ? 'true' : 'false'}>${err('until')}
      <fieldset><legend>Which images</legend>
        <label class="choice"><input type="radio" name="scope" value="all" .checked=${this.scope === 'all'} @change=${() => { this.scope = 'all' }}> all my images (${images.length})</label>
        ${studiesOf(images).length === 0 ? nothing : html`<label class="choice"><input type="radio" name="scope" value="study" .checked=${this.scope === 'study'} @change=${() => { this.scope = 'study' }}> one study:</label>
        ${this.scope === 'study' ? html`<label for="study" class="visually-hidden">Study</label><select id="study" name="study">${studiesOf(images).map(st => html`<option value=${st.record}>${st.label}</option>`)}</select>` : nothing}`}
        <label class="choice"><input type="radio" name="scope" value="images" .checked=${this.scope === 'images'} @change=${() => { this.scope = 'images' }}> only these:</label>
        ${this.scope === 'images' ? images.map(i => html`<label class="choice"><input type="checkbox" name="image" value=${i.raw}> ${i.modality}, ${formatTime(i.time)}</label>`) : nothing}
      </fieldset>
      ${this.#summary()}
      <p><button type="submit" ?disabled=${this.#action.busy}>${this.#action.busy ? 'Signing…' : 'Grant consent'}</button></p>
    </form>`
  }

  override render () {
    return html`
      <h1>Consents</h1>
      <p class="note" data-testid="revoke-note"><strong>About revoking:</strong> each consent is for one purpose, and revoking it ends that purpose only; a consent that expires ends the same way. From then on, the grantee's hospital hands out no key to your images under it, and deletes the copies it fetched, unless another live consent of yours still covers them. Revoking cannot recall an image, or its key, that someone opened before you revoked. <strong>Revoke and re-key</strong> also has each hospital that holds your images encrypt them again under a new key, and every hospital delete the old copies, so a key kept from before opens nothing that is stored any more; anyone else you granted consent to must then be granted again.</p>
      <mc-error-note .error=${this.#action.error ?? this.#more.error ?? this.#data.error}></mc-error-note>
      ${this.#action.done === null ? nothing : html`<p class="ok" role="status">${this.#action.done}</p>`}
      <h2>Current consents</h2>
      ${this.#data.render(({ consents: list }) => list.length === 0 ? html`<p>You have not granted any consent.</p>` : html`
        <div class="table-wrap"><table>
          <thead><tr><th scope="col">To</th><th scope="col">For</th><th scope="col">Until</th><th scope="col">Images</th><th scope="col">Status</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
          <tbody>${list.map(c => {
            const status = this.#status(c)
            return html`<tr data-status=${status} data-grantee=${c.grantee} data-purpose=${c.purpose ?? ''}>
              <td>${this.#granteeName(c)}</td>
              <td>${c.purpose === null ? '—' : PURPOSE[c.purpose] ?? c.purpose}</td>
              <td>${c.expires === null ? '—' : formatTime(c.expires)}</td>
              <td>${c.scope?.kind === 'all' ? 'all' : c.scope?.kind === 'record' ? ((c.studies?.length ?? 0) > 0 ? 'a study' : `a study (${c.images.length})`) : c.images.length}</td>
              <td class=${status === 'active' ? 'status-active' : ''}>${status}</td>
              <td>${status === 'active' ? this.#revokeButtons(c) : nothing}</td>
            </tr>`
          })}</tbody>
        </table></div>
        ${this.#data.value?.next == null ? nothing : html`<p><button type="button" class="secondary" ?disabled=${this.#more.busy} @click=${async () => await this.#showMore()}>${this.#more.busy ? 'Loading…' : 'Show more consents'}</button></p>`}`)}
      <h2>Grant a consent</h2>
      ${this.#form()}
    `
  }
}
customElements.define('mc-consents', McConsents)
