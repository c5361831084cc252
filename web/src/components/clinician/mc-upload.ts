// Upload for a clinician: drop files on the zone or choose them with the (keyboard-reachable) file
// input; each file gets its own progress bar, its own result (score, whether the model ran) and
// its own error. Files go one after another so a failure never hides the others' progress. The
// file name, the file's date and an optional description go with each file into the image's
// sealed card (protocol/image-meta.ts), so people recognise it later; never onto the ledger.
import { LitElement, css, html, nothing } from 'lit'
import { repeat } from 'lit/directives/repeat.js'
import { formatBytes, formatScore } from '../../lib/words/format.ts'
import type { Session } from '../../services/session.ts'
import { uploadWithProgress } from '../../services/upload.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'

/** One file's upload state. */
interface Item {
  id: number
  file: File
  /** The description typed when the file was added (sealed with the image). */
  description: string
  sent: number
  state: 'waiting' | 'sending' | 'analysing' | 'done' | 'failed'
  error: unknown
  score: number | null
  analysed: boolean
}

/** `<mc-upload .session=${s} .patientId=${id}>`; emits 'mc-uploaded' after each stored file. */
export class McUpload extends LitElement {
  static override properties = { session: { attribute: false }, patientId: { attribute: false }, items: { state: true }, over: { state: true }, description: { state: true } }
  static override styles = [shared, css`
    .zone { border: 2px dashed #5f6b76; border-radius: 8px; padding: 1.25rem; text-align: center; background: #fff; }
    .zone.over { border-color: #0b5cad; background: #eef5fc; }
    .zone input { max-width: 100%; }
    ul { list-style: none; padding: 0; margin: 0.75rem 0 0; }
    li { border-bottom: 1px solid #d8dee4; padding: 0.5rem 0; }
    progress { width: 100%; max-width: 32rem; height: 1rem; }
    .name { font-weight: 600; word-break: break-all; }
  `]

  declare session: Session
  declare patientId: string
  declare items: Item[]
  declare over: boolean
  declare description: string
  #next = 0
  #running = false

  constructor () {
    super()
    this.items = []
    this.over = false
    this.description = ''
  }

  #add (files: FileList | File[]): void {
    const description = this.description.trim()
    const added = [...files].map(file => ({ id: this.#next++, file, description, sent: 0, state: 'waiting' as const, error: null, score: null, analysed: false }))
    if (added.length === 0) return
    this.items = [...this.items, ...added]
    void this.#drain()
  }

  #update (id: number, patch: Partial<Item>): void {
    this.items = this.items.map(i => i.id === id ? { ...i, ...patch } : i)
  }

  async #drain (): Promise<void> {
    if (this.#running) return
    this.#running = true
    try {
      for (;;) {
        const item = this.items.find(i => i.state === 'waiting')
        if (item === undefined) break
        await this.#send(item)
      }
    } finally {
      this.#running = false
    }
  }

  async #send (item: Item): Promise<void> {
    this.#update(item.id, { state: 'sending' })
    try {
      const answer = await uploadWithProgress({
        url: `/api/patients/${this.patientId}/images`,
        file: item.file,
        fileName: item.file.name,
        // The file's own date; a DICOM's study date, read by the peer, takes precedence.
        card: { date: new Date(item.file.lastModified).toISOString(), ...(item.description === '' ? {} : { description: item.description }) },
        csrfToken: this.session.client.csrfToken,
        // The request body is the file plus multipart framing: report the file's share of it.
        onProgress: (sent, total) => { this.#update(item.id, { sent: Math.round(Math.min(1, sent / Math.max(1, total)) * item.file.size), state: sent >= total ? 'analysing' : 'sending' }) }
      }) as { score?: unknown, analysed?: unknown, raw?: unknown }
      this.#update(item.id, { state: 'done', sent: item.file.size, score: typeof answer?.score === 'number' ? answer.score : null, analysed: answer?.analysed === true })
      this.dispatchEvent(new CustomEvent('mc-uploaded', { detail: answer, bubbles: true, composed: true }))
    } catch (err) {
      this.#update(item.id, { state: 'failed', error: this.session.fail(err) })
    }
  }

  #drop (e: DragEvent): void {
    e.preventDefault()
    this.over = false
    if (e.dataTransfer !== null) this.#add(e.dataTransfer.files)
  }

  #status (i: Item) {
    switch (i.state) {
      case 'waiting': return 'Waiting'
      case 'sending': return `Sending ${Math.round(i.sent / Math.max(1, i.file.size) * 100)} %`
      case 'analysing': return 'Sent; checking and analysing…'
      case 'done': return i.analysed ? `Stored. Detect-strange score ${formatScore(i.score)}.` : 'Stored (no model is loaded, so no result image).'
      case 'failed': return 'Failed'
    }
  }

  override render () {
    return html`
      <p><label for="description">Description (optional)</label>
        <input id="description" name="description" maxlength="512" .value=${this.description} aria-describedby="description-hint"
          @input=${(e: Event) => { this.description = (e.target as HTMLInputElement).value }}>
        <span id="description-hint" class="muted">Goes with the next files you add, encrypted with them, like their file names.</span></p>
      <div class="zone ${this.over ? 'over' : ''}"
        @dragover=${(e: DragEvent) => { e.preventDefault(); this.over = true }}
        @dragleave=${() => { this.over = false }}
        @drop=${this.#drop}>
        <p><strong>Drop DICOM, PNG or JPEG files here</strong>, or choose them:</p>
        <label for="files" class="visually-hidden">Choose image files to upload</label>
        <input id="files" type="file" multiple accept=".dcm,application/dicom,image/png,image/jpeg"
          @change=${(e: Event) => { const input = e.target as HTMLInputElement; if (input.files !== null) this.#add(input.files); input.value = '' }}>
        <p class="muted">Each file is checked, analysed by the current model, encrypted and stored. Only this patient and those they allow can open it.</p>
      </div>
      ${this.items.length === 0 ? nothing : html`<ul aria-label="Uploads">
        ${repeat(this.items, i => i.id, i => html`<li data-state=${i.state}>
          <div class="name">${i.file.name} <span class="muted">(${formatBytes(i.file.size)})</span></div>
          <progress max=${i.file.size || 1} value=${i.state === 'done' ? i.file.size || 1 : i.sent} aria-label="Upload of ${i.file.name}"></progress>
          <div role="status">${this.#status(i)}</div>
          ${i.state === 'failed' ? html`<mc-error-note .error=${i.error}></mc-error-note>` : nothing}
        </li>`)}
      </ul>`}
    `
  }
}
customElements.define('mc-upload', McUpload)
