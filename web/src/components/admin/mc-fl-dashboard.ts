// Federated learning for the admin (docs/design.md §6): the tasks this peer knows, a form to start one
// (this peer then coordinates), and a task's rounds live: validation loss and Dice charts,
// participants with their sample counts, round times, and the model it published, or why it
// failed, and how its updates were aggregated (secure aggregation or not); an admin continues an interrupted or stopped task as a new task. Above them, this
// hospital's training data (mc-training-data) and the published models it deployed or holds back
// (mc-fl-models). When the peer has no FL service (its route answers
// 404), the page says so instead of failing.
import { LitElement, css, html, nothing } from 'lit'
import { ApiError } from '../../../../protocol/client/client.ts'
import { MedichainError } from '../../../../protocol/errors.ts'
import { canContinue } from '../../lib/fl/fl.ts'
import type { FlTask } from '../../lib/fl/fl.ts'
import { formatTime } from '../../lib/words/format.ts'
import { labelOf } from '../../lib/words/names.ts'
import type { DisplayName } from '../../lib/words/names.ts'
import { api } from '../../services/api.ts'
import { ActionController } from '../../services/action-controller.ts'
import { LoadController } from '../../services/load-controller.ts'
import { namesOf } from '../../services/names.ts'
import { navigate } from '../../services/navigate.ts'
import type { Session } from '../../services/session.ts'
import { shared } from '../../styles/shared.ts'
import '../shared/mc-error-note.ts'
import '../shared/mc-line-chart.ts'
import './mc-fl-models.ts'
import './mc-training-data.ts'

/** The U-Net's shape fields of the start form; blank ones keep the peer's default. */
const SHAPE = ['inputSize', 'base', 'depth'] as const

/** How often a running task is re-read (ms). */
const POLL_MS = 2000

/** What the page shows: the task list, one task, or that the peer has no FL service. */
type View = { kind: 'list', tasks: FlTask[] } | { kind: 'task', task: FlTask | null, names: Map<string, DisplayName> } | { kind: 'missing' }

/** Whether the view shows a task that is still running. */
function running (v: View | undefined): boolean {
  return v?.kind === 'list' ? v.tasks.some(t => t.status === 'running') : v?.kind === 'task' && v.task?.status === 'running'
}

/** `<mc-fl-dashboard .session=${s} .taskId=${id|null}>`. */
export class McFlDashboard extends LitElement {
  static override properties = { session: { attribute: false }, taskId: { attribute: false } }
  static override styles = [shared, css`summary { cursor: pointer; font-weight: 600; padding: 0.5rem 0; }`]

  declare session: Session
  declare taskId: string | null
  /** Starting a task (the listing's own failure is in `#view.error`). */
  readonly #action = new ActionController(this, { fail: err => this.session.fail(err) })
  #timer: ReturnType<typeof setInterval> | null = null
  readonly #view = new LoadController(this, {
    args: () => [this.taskId],
    load: async (): Promise<View> => {
      const a = api(this.session.client)
      if (this.taskId !== null) {
        const task = await a.flTask(this.taskId)
        // The coordinator and the participants by name (the directory), not by key.
        const keys = task === null ? [] : [...(task.coordinator === null ? [] : [task.coordinator]), ...task.rounds.flatMap(r => r.participants.map(p => p.hospital))]
        return { kind: 'task', task, names: await namesOf(this.session.client, keys) }
      }
      try {
        return { kind: 'list', tasks: await a.flTasks() }
      } catch (err) {
        if (err instanceof ApiError && err.status === 404 && err.code === 'NOT_FOUND') return { kind: 'missing' }
        throw err
      }
    },
    fail: err => this.session.fail(err),
    // A running task is read again every POLL_MS; anything else (or a failure) stops that.
    settled: () => { this.#poll(running(this.#view.error === null ? this.#view.value : undefined)) }
  })

  constructor () {
    super()
    this.taskId = null
  }

  override disconnectedCallback (): void {
    super.disconnectedCallback()
    this.#poll(false)
  }

  #poll (on: boolean): void {
    if (on && this.#timer === null) this.#timer = setInterval(() => { void this.#view.reload() }, POLL_MS)
    if (!on && this.#timer !== null) { clearInterval(this.#timer); this.#timer = null }
  }

  async #start (e: SubmitEvent): Promise<void> {
    e.preventDefault()
    const data = new FormData(e.currentTarget as HTMLFormElement)
    const n = (k: string): number => Number(data.get(k))
    const model = Object.fromEntries(SHAPE.filter(k => String(data.get(k) ?? '') !== '').map(k => [k, n(k)]))
    await this.#action.run(async () => {
      const task = await api(this.session.client).startFl({
        rounds: n('rounds'), epochs: n('epochs'), ...(String(data.get('firstRoundEpochs') ?? '') === '' ? {} : { firstRoundEpochs: n('firstRoundEpochs') }), minParticipants: n('minParticipants'), ...(Object.keys(model).length === 0 ? {} : { model })
      })
      if (task !== null) navigate(this, `/app/admin/fl/${encodeURIComponent(task.id)}`)
      else await this.#view.reload()
    })
  }

  /** Continues an interrupted or stopped task as a new task, then shows the new one. */
  async #continue (t: FlTask): Promise<void> {
    await this.#action.run(async () => {
      const next = await api(this.session.client).continueFl(t.id)
      if (next !== null) navigate(this, `/app/admin/fl/${encodeURIComponent(next.id)}`)
      else await this.#view.reload()
    })
  }

  /** The Continue button (admins, interrupted or stopped tasks with a round): the last round runs again. */
  #continueButton (t: FlTask) {
    if (this.session.role !== 'admin' || !canContinue(t)) return nothing
    const from = Math.max(...t.rounds.map(r => r.round))
    return html`<p>
      <button type="button" data-testid="fl-continue" aria-describedby="fl-continue-note" ?disabled=${this.#action.busy} @click=${() => this.#continue(t)}>${this.#action.busy ? 'Continuing…' : `Continue from round ${from}`}</button>
      <span id="fl-continue-note" class="muted">Starts a new task with the same settings from the model round ${from} started with; round ${from} is trained again.</span>
    </p>`
  }

  #list () {
    const field = (id: string, label: string, min: number, max: number, value = '') =>
      html`<div><label for=${id}>${label}</label><input id=${id} name=${id} type="number" min=${min} max=${max} .value=${value} ?required=${value !== ''}></div>`
    return html`
      <mc-training-data .session=${this.session}></mc-training-data>
      ${this.session.role === 'admin' ? html`<mc-fl-models .session=${this.session}></mc-fl-models>` : nothing}
      <h2>Start a task</h2>
      <form @submit=${this.#start}>
        <div class="row">${field('rounds', 'Rounds', 1, 200, '20')}${field('epochs', 'Local epochs', 1, 50, '4')}${field('firstRoundEpochs', 'Local epochs of the first round (blank: as the others)', 1, 100, '')}${field('minParticipants', 'Minimum hospitals per round (blank: 2, or every member when fewer)', 1, 64, '')}</div>
        <details><summary>Model shape (optional)</summary>
          <p class="muted">Blank fields keep the peer's default U-Net. The input size must divide by 2 to the power of the depth.</p>
          <div class="row">${field('inputSize', 'Input size (pixels)', 16, 1024)}${field('base', 'Channels of the first level', 1, 64)}${field('depth', 'Depth (levels)', 1, 5)}</div>
        </details>
        <p><button type="submit" ?disabled=${this.#action.busy}>Start</button></p>
      </form>
      <p class="muted">This peer coordinates the task. Hospitals train only on images whose patients gave a live training consent.</p>
      <h2>Tasks</h2>
      ${this.#view.render(v => v.kind !== 'list' ? nothing : v.tasks.length === 0 ? html`<p>No tasks yet.</p>` : html`<ul>
        ${v.tasks.map(x => html`<li><a href="/app/admin/fl/${encodeURIComponent(x.id)}">${x.id}</a> · ${x.status}${x.continues === null ? nothing : html` · continues ${x.continues}`}${x.error === null ? nothing : html` (<code>${x.error.code}</code>)`}${x.created === null ? nothing : html` · ${formatTime(x.created)}`}</li>`)}
      </ul>`)}`
  }

  #detail (t: FlTask, names: Map<string, DisplayName>) {
    const loss = [{ name: 'validation loss', points: t.rounds.map(r => ({ x: r.round, y: r.loss })) }]
    const dice = [{ name: 'validation Dice', points: t.rounds.map(r => ({ x: r.round, y: r.dice })) }]
    const losses = t.rounds.flatMap(r => r.loss === null ? [] : [r.loss])
    // Loss from zero, so the chart shows how far it fell, not only its shape.
    const lossTop = losses.length === 0 || Math.max(...losses) <= 0 ? null : Math.max(...losses)
    return html`
      <p><a href="/app/admin/fl">← All tasks</a></p>
      <h2>Task ${t.id}</h2>
      <p>Status: <strong data-testid="fl-status">${t.status}</strong>${t.coordinator === null ? nothing : html` · coordinated by <span data-testid="fl-coordinator" title=${t.coordinator}>${labelOf(names, t.coordinator)}</span>`}</p>
      ${t.aggregation === null ? nothing : html`<p data-testid="fl-aggregation">Aggregation: <strong>${t.aggregation}</strong>${t.aggregation === 'secure' ? html` <span class="muted">(updates travel masked; the coordinator learns only their sum)</span>` : nothing}</p>`}
      ${t.continues === null ? nothing : html`<p data-testid="fl-continues">Continues <a href="/app/admin/fl/${encodeURIComponent(t.continues)}">${t.continues}</a></p>`}
      ${t.error === null ? nothing : html`<mc-error-note .error=${new MedichainError(t.error.code, t.error.message)}></mc-error-note>`}
      ${this.#continueButton(t)}
      <mc-line-chart label="Loss per round" .series=${loss} .yDomain=${lossTop === null ? undefined : [0, lossTop]}></mc-line-chart>
      <mc-line-chart label="Dice per round" .series=${dice} .yDomain=${[0, 1]}></mc-line-chart>
      <h3>Published model</h3>
      ${t.model === null ? html`<p>Not published yet.</p>` : html`<p class="mono" data-testid="fl-model">${t.model.cid}</p>
        <p>${t.model.round === null ? nothing : html`Round ${t.model.round}. `}${t.model.dice === null ? nothing : html`Dice ${t.model.dice.toFixed(3)}. `}${t.model.loss === null ? nothing : html`Loss ${t.model.loss.toFixed(4)}.`}</p>`}
      <h3>Rounds</h3>
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">Round</th><th scope="col">Loss</th><th scope="col">Dice</th><th scope="col">Participants (samples)</th><th scope="col">Time</th></tr></thead>
        <tbody>${t.rounds.map(r => html`<tr>
          <td>${r.round}</td><td>${r.loss?.toFixed(4) ?? '—'}</td><td>${r.dice?.toFixed(3) ?? '—'}</td>
          <td>${r.participants.map(p => html`${p.name ?? labelOf(names, p.hospital)}${p.samples === null ? nothing : html` (${p.samples})`}<br>`)}</td>
          <td>${r.durationMs === null ? '—' : `${(r.durationMs / 1000).toFixed(1)} s`}</td>
        </tr>`)}</tbody>
      </table></div>`
  }

  override render () {
    return html`
      <h1>Federated learning</h1>
      <mc-error-note .error=${this.#action.error ?? this.#view.error}></mc-error-note>
      ${this.#view.value?.kind === 'missing'
        ? html`<p class="warn" role="status" data-testid="fl-missing">Federated learning is not available on this peer: it has no FL service yet (<code>GET /api/fl/tasks</code> answered 404). Tasks appear here once the peer runs one.</p>`
        : this.taskId === null ? this.#list() : this.#view.render(v => v.kind === 'task' && v.task !== null ? this.#detail(v.task, v.names) : nothing)}
    `
  }
}
customElements.define('mc-fl-dashboard', McFlDashboard)
