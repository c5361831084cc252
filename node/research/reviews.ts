// Images held back from research exports until a person checks them for burned-in text (issue
// 15): marked Burned In Annotation YES, or with text the OCR was unsure of, or with pixels it
// cannot read. An admin of the exporting hospital looks at the redacted image and releases it or
// keeps it out, per project. Decisions survive restarts (one small file, replaced atomically);
// the redacted previews are kept in memory only and made again by the next export.
import { readFile } from 'node:fs/promises'
import { NotFoundError } from '../../protocol/errors.ts'
import { replaceFile } from '../durable/file.ts'

/** Why an image waits for a person. */
export type HoldReason = 'burned-in-annotation' | 'uncertain-text' | 'unreadable-pixels'

/** One image's check in one project. */
export interface Review { project: string, image: string, reason: HoldReason, state: 'waiting' | 'released' | 'excluded', time: number }

/** Most previews kept in memory; older ones are made again by the next export. */
const MAX_PREVIEWS = 256

const keyOf = (project: string, image: string): string => `${project}:${image}`

/** The review decisions of one peer. */
export class Reviews {
  readonly #path: string
  readonly #reviews = new Map<string, Review>()
  readonly #previews = new Map<string, Uint8Array>()

  constructor (path: string) { this.#path = path }

  /** Loads the decisions (none when the file does not exist yet). */
  async open (): Promise<void> {
    const text = await readFile(this.#path, 'utf8').catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return '[]'; throw err })
    for (const r of JSON.parse(text) as Review[]) this.#reviews.set(keyOf(r.project, r.image), r)
  }

  /** The state of an image in a project, if it was ever held. */
  state (project: string, image: string): Review['state'] | undefined {
    return this.#reviews.get(keyOf(project, image))?.state
  }

  /** Holds an image for a person's check (a decision already made stands), with its redacted preview. */
  async hold (project: string, image: string, reason: HoldReason, preview: Uint8Array | null, now: number): Promise<void> {
    const key = keyOf(project, image)
    if (preview !== null) {
      this.#previews.delete(key)
      this.#previews.set(key, preview)
      if (this.#previews.size > MAX_PREVIEWS) this.#previews.delete(this.#previews.keys().next().value as string)
    }
    if (this.#reviews.has(key)) return
    this.#reviews.set(key, { project, image, reason, state: 'waiting', time: now })
    await this.#save()
  }

  /** Images waiting for a check, oldest first. */
  waiting (): Review[] {
    return [...this.#reviews.values()].filter(r => r.state === 'waiting').sort((a, b) => a.time - b.time)
  }

  /** The redacted preview (PNG) of a held image, if this peer still has it. */
  preview (project: string, image: string): Uint8Array | undefined {
    return this.#previews.get(keyOf(project, image))
  }

  /** Releases a held image into later exports, or keeps it out of them. */
  async decide (project: string, image: string, release: boolean, now: number): Promise<Review> {
    const r = this.#reviews.get(keyOf(project, image))
    if (r === undefined) throw new NotFoundError('no image of this project waits for a check')
    const decided: Review = { ...r, state: release ? 'released' : 'excluded', time: now }
    this.#reviews.set(keyOf(project, image), decided)
    await this.#save()
    return decided
  }

  async #save (): Promise<void> {
    await replaceFile(this.#path, JSON.stringify([...this.#reviews.values()]), 0o600)
  }
}
