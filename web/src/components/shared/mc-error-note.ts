// Shows one error in plain words (web/src/lib/words/errors.ts) as an alert, with its stable code in
// small print for support and in `data-code` for tests, which assert codes, never wording.
import { LitElement, css, html, nothing } from 'lit'
import { describeError } from '../../lib/words/errors.ts'
import { shared } from '../../styles/shared.ts'

/** `<mc-error-note .error=${err} .texts=${{ CODE: 'words' }}>`: renders nothing while `error` is null. */
export class McErrorNote extends LitElement {
  static override properties = { error: { attribute: false }, texts: { attribute: false } }
  static override styles = [shared, css`
    div { border-left: 4px solid #a4000f; background: #fdecee; padding: 0.6rem 0.8rem; margin: 0.75rem 0; }
    .code { color: #4a5560; font-size: 0.8rem; margin-left: 0.4rem; }
  `]

  declare error: unknown
  /** Words for some codes in this place, over the general ones. */
  declare texts: Readonly<Record<string, string>>

  constructor () {
    super()
    this.error = null
    this.texts = {}
  }

  override render () {
    if (this.error === null || this.error === undefined) return nothing
    const shown = describeError(this.error, this.texts)
    return html`<div role="alert" data-code=${shown.code}>${shown.text}<span class="code">${shown.code}</span></div>`
  }
}
customElements.define('mc-error-note', McErrorNote)
