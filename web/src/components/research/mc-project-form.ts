// The researcher's "new project" form: title, purpose, criteria (modalities, upload dates,
// labelled or not, model score range) and the PS3.15 options; signed with the researcher's key.
import { LitElement, html } from 'lit'
import { ResearchClient } from '../../../../protocol/client/research.ts'
import type { ResearchCriteria } from '../../../../protocol/chain/research.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** A YYYY-MM-DD field as ms (start or end of that day, UTC), or null when empty. */
function day (value: string, end: boolean): number | null {
  if (value === '') return null
  const t = Date.parse(`${value}T00:00:00Z`)
  return Number.isNaN(t) ? null : end ? t + 86_399_999 : t
}

/** A 0..1 score field in the ledger's 0..10000 scale, or null when empty. */
function score (value: string): number | null {
  if (value.trim() === '') return null
  const n = Number(value)
  return Number.isFinite(n) ? Math.round(Math.min(1, Math.max(0, n)) * 10000) : null
}

/** `<mc-project-form .session=${s}>`; fires `project:changed` once the project is on the ledger. */
export class McProjectForm extends LitElement {
  static override properties = { session: { attribute: false }, error: { state: true }, busy: { state: true } }
  static override styles = [shared]

  declare session: Session
  declare error: unknown
  declare busy: boolean

  constructor () {
    super()
    this.error = null
    this.busy = false
  }

  async #submit (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const form = e.target as HTMLFormElement
    const v = (name: string): string => (form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? ''
    const checked = (name: string): boolean => (form.elements.namedItem(name) as HTMLInputElement | null)?.checked ?? false
    const labelled = v('labelled')
    const criteria: ResearchCriteria = {
      modalities: v('modalities').split(/[\s,]+/).filter(m => m !== '').map(m => m.toUpperCase()),
      from: day(v('from'), false),
      to: day(v('to'), true),
      labelled: labelled === 'yes' ? true : labelled === 'no' ? false : null,
      scoreMin: score(v('scoreMin')),
      scoreMax: score(v('scoreMax'))
    }
    this.busy = true
    this.error = null
    try {
      await new ResearchClient(this.session.client).create({
        title: v('title').trim(), purpose: v('purpose').trim(), criteria,
        options: { modifiedDates: checked('modifiedDates'), cleanDescriptors: checked('cleanDescriptors') }
      })
      form.reset()
      this.dispatchEvent(new CustomEvent('project:changed', { bubbles: true, composed: true }))
    } catch (err) {
      this.error = this.session.fail(err)
    } finally {
      this.busy = false
    }
  }

  override render () {
    return html`<form class="card" @submit=${async (e: SubmitEvent) => await this.#submit(e)}>
      <h2>New project</h2>
      <label for="title">Title</label><input id="title" name="title" required maxlength="128">
      <label for="purpose">Purpose</label><textarea id="purpose" name="purpose" required maxlength="1000" rows="2"></textarea>
      <label for="modalities">Modalities (DICOM terms, e.g. CT MR; empty for any)</label><input id="modalities" name="modalities">
      <div class="row">
        <div><label for="from">Uploaded from</label><input id="from" name="from" type="date"></div>
        <div><label for="to">Uploaded until</label><input id="to" name="to" type="date"></div>
      </div>
      <label for="labelled">Labelled images</label>
      <select id="labelled" name="labelled"><option value="any">Either</option><option value="yes">Only labelled</option><option value="no">Only unlabelled</option></select>
      <div class="row">
        <div><label for="scoreMin">Model score from (0–1)</label><input id="scoreMin" name="scoreMin" inputmode="decimal"></div>
        <div><label for="scoreMax">Model score to (0–1)</label><input id="scoreMax" name="scoreMax" inputmode="decimal"></div>
      </div>
      <p><input type="checkbox" id="modifiedDates" name="modifiedDates" checked> <label for="modifiedDates" style="display:inline">Keep intervals between dates (shifted dates)</label></p>
      <p><input type="checkbox" id="cleanDescriptors" name="cleanDescriptors" checked> <label for="cleanDescriptors" style="display:inline">Keep cleaned descriptions</label></p>
      <mc-error-note .error=${this.error}></mc-error-note>
      <button type="submit" data-testid="create-project" ?disabled=${this.busy}>Create project</button>
    </form>`
  }
}
customElements.define('mc-project-form', McProjectForm)
