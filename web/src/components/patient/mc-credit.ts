// The patient's credit score (docs/design.md §4) with its published formula and each input (consents for
// research and training, images contributed to model training, time), so the patient can recompute it. The page says plainly that it never affects care.
import { LitElement, html, nothing } from 'lit'
import { LoadController } from '../../services/load-controller.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

interface Credit { score: number, breakdown: { researchConsents: number, trainingConsents: number, imagesContributed: number, monthsInGoodStanding: number }, formula: string }

/** Images counted at most (ledger/queries/queries.ts CREDIT_WEIGHTS.maxImages). */
const MAX_IMAGES = 50

function asCredit (v: Record<string, unknown>): Credit | null {
  const b = v.breakdown as Record<string, unknown> | undefined
  if (typeof v.score !== 'number' || typeof b !== 'object' || b === null) return null
  const n = (k: string): number => typeof b[k] === 'number' ? b[k] as number : 0
  return { score: v.score, breakdown: { researchConsents: n('researchConsents'), trainingConsents: n('trainingConsents'), imagesContributed: n('imagesContributed'), monthsInGoodStanding: n('monthsInGoodStanding') }, formula: typeof v.formula === 'string' ? v.formula : '' }
}

/** `<mc-credit .session=${s}>`. */
export class McCredit extends LitElement {
  static override properties = { session: { attribute: false } }
  static override styles = [shared]

  declare session: Session
  readonly #credit = new LoadController(this, {
    load: async () => asCredit(await this.session.client.myCredit()),
    fail: err => this.session.fail(err)
  })

  override render () {
    return html`
      <h1>Credit score</h1>
      <mc-error-note .error=${this.#credit.error}></mc-error-note>
      ${this.#credit.render(c => c === null ? nothing : html`
        <p class="card"><span class="muted">Your score</span><br><strong data-testid="credit-score">${c.score}</strong> points</p>
        <div class="table-wrap"><table>
          <caption>How it is computed</caption>
          <thead><tr><th scope="col">Counted</th><th scope="col">You</th><th scope="col">Points each</th><th scope="col">Points</th></tr></thead>
          <tbody>
            <tr><td>Consents you gave for research</td><td>${c.breakdown.researchConsents}</td><td>10</td><td>${c.breakdown.researchConsents * 10}</td></tr>
            <tr><td>Consents you gave for training the model</td><td>${c.breakdown.trainingConsents}</td><td>10</td><td>${c.breakdown.trainingConsents * 10}</td></tr>
            <tr><td>Images you contributed to model training (at most ${MAX_IMAGES})</td><td data-testid="images-contributed">${c.breakdown.imagesContributed}</td><td>2</td><td>${Math.min(c.breakdown.imagesContributed, MAX_IMAGES) * 2}</td></tr>
            <tr><td>Full 30-day periods since your id first appeared (at most 24)</td><td>${c.breakdown.monthsInGoodStanding}</td><td>1</td><td>${c.breakdown.monthsInGoodStanding}</td></tr>
          </tbody>
        </table></div>
        <p class="muted">Formula: ${c.formula}. Any hospital can recompute it from the ledger.</p>
        <p class="note">The score recognises sharing for research and training. It never affects your care.</p>
      `)}
    `
  }
}
customElements.define('mc-credit', McCredit)
