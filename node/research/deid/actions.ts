// Resolves Table E.1-1 into one concrete action per attribute for a project's chosen options
// (PS3.15 §E.3): the option columns override the Basic Profile where they have an entry, and where
// the standard leaves a choice (X/Z, X/D, Z/D, X/Z/D) the de-identifier picks the least destructive
// one that keeps every IOD valid whatever the attribute's type: a dummy value over an empty one
// over removal.
import { TABLE_E1_1 } from './table-e1-1.ts'
import type { BasicAction, TableRow } from './table-e1-1.ts'

/** The options of PS3.15 Annex E a project may choose (docs/design.md §10). */
export interface ProfileOptions {
  /** Retain Longitudinal Temporal Information with Modified Dates Option (PS3.15 §E.3.6). */
  modifiedDates: boolean
  /** Clean Descriptors Option (PS3.15 §E.3.5). */
  cleanDescriptors: boolean
}

/**
 * What happens to one attribute: remove it, make it empty, put a dummy value, replace its UIDs,
 * shift its dates, clean its text, keep it, or keep a reference sequence and recurse (U*).
 */
export type Action = 'remove' | 'empty' | 'dummy' | 'uid' | 'shift' | 'clean' | 'keep' | 'recurse'

const BASIC: Record<BasicAction, Action> = {
  D: 'dummy', Z: 'empty', X: 'remove', U: 'uid', 'Z/D': 'dummy', 'X/Z': 'empty', 'X/D': 'dummy', 'X/Z/D': 'dummy', 'X/Z/U*': 'recurse'
}

const exact = new Map<string, TableRow>()
const masked: Array<{ row: TableRow, mask: number, value: number }> = []
for (const row of TABLE_E1_1) {
  if (!row[0].includes('x')) { exact.set(row[0], row); continue }
  masked.push({
    row,
    mask: parseInt(row[0].replace(/[0-9A-F]/g, 'F').replace(/x/g, '0'), 16),
    value: parseInt(row[0].replace(/x/g, '0'), 16)
  })
}

/** The table row governing `tag` (8 upper-case hex digits), if the table lists it. */
export function rowFor (tag: string): TableRow | undefined {
  const hit = exact.get(tag)
  if (hit !== undefined) return hit
  const n = parseInt(tag, 16)
  // Repeating groups (50xx curves, 60xx overlays) are even groups only: odd groups are private.
  if ((n >>> 16) % 2 === 1) return undefined
  return masked.find(m => ((n & m.mask) >>> 0) === m.value)?.row
}

/** Whether `tag` is a private attribute: its group number is odd (PS3.5 §7.8.1). */
export function isPrivateTag (tag: string): boolean {
  return parseInt(tag.slice(0, 4), 16) % 2 === 1
}

/**
 * The action for `tag` under `options`: private attributes are removed (the Basic Profile's
 * "private attributes: X" row); an attribute the table does not list is kept (PS3.15 §E.1.1 lets
 * the de-identifier keep attributes the table does not name; a sequence is still walked).
 */
export function actionFor (tag: string, options: ProfileOptions): Action {
  if (isPrivateTag(tag)) return 'remove'
  const row = rowFor(tag)
  if (row === undefined) return 'keep'
  if (options.modifiedDates && row[2] === 'C') return 'shift'
  if (options.cleanDescriptors && row[3] === 'C') return 'clean'
  return BASIC[row[1]]
}
