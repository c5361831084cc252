// Checks the patient's grant form before anything is signed: who (a member hospital, or a user by
// their signing key), why (treatment, research or training, docs/design.md §5) and until when. Pure, so
// each refusal is tested; the page shows the message beside its field.

import { CONSENT_BASE_BYTES, CONSENT_BYTES_PER_IMAGE, MAX_TX_BYTES } from '../../../../protocol/constants.ts'

/**
 * The most images one grant can carry keys for: a transaction is at most MAX_TX_BYTES, and the
 * ledger allows CONSENT_BASE_BYTES plus CONSENT_BYTES_PER_IMAGE per image (162 today). This bounds
 * only images without a study key (ingested before study keys existed): a study's instances sealed
 * under its key travel as that one key (docs/design.md §5 "Study keys").
 */
export const MAX_CONSENT_IMAGES = Math.floor((MAX_TX_BYTES - CONSENT_BASE_BYTES) / CONSENT_BYTES_PER_IMAGE)

/** Purposes a consent can carry (protocol/chain/tx.ts PURPOSES). */
export const PURPOSES = ['treatment', 'research', 'training'] as const
export type Purpose = typeof PURPOSES[number]

/** The form as typed. */
export interface GrantForm {
  kind: 'hospital' | 'user'
  /** Member key (hex) chosen from the list of hospitals. */
  hospital: string
  /** A user's signing key (hex): picked by name from the directory, or pasted as the person gave it. */
  userKey: string
  purpose: string
  /** Last day of the consent, YYYY-MM-DD (local time; the consent ends at that day's end). */
  until: string
  /** For a research consent: one project's id (hex), or empty for research in general. */
  project?: string
}

/** What `MedichainClient.grant` takes. */
export interface GrantRequest { grantee: string, kind: 'hospital' | 'user', purpose: Purpose, expires: number, project?: string }

/** Either the request, or a message per field. */
export type GrantCheck = { ok: true, request: GrantRequest } | { ok: false, errors: Partial<Record<keyof GrantForm, string>> }

/** Validates the form at time `now` (ms). `self` is the patient's own key, which cannot be a grantee. */
export function checkGrantForm (form: GrantForm, now: number, self?: string): GrantCheck {
  const errors: Partial<Record<keyof GrantForm, string>> = {}
  const key = (form.kind === 'hospital' ? form.hospital : form.userKey).trim().toLowerCase()
  if (!/^[0-9a-f]{64}$/.test(key)) {
    errors[form.kind === 'hospital' ? 'hospital' : 'userKey'] = form.kind === 'hospital' ? 'Choose a hospital.' : 'Search for the person by name and choose them, or paste the 64-character key they gave you.'
  } else if (self !== undefined && key === self.toLowerCase()) {
    errors.userKey = 'You cannot grant consent to yourself.'
  }
  if (!(PURPOSES as readonly string[]).includes(form.purpose)) errors.purpose = 'Choose what the consent is for.'
  // Hospitals train the model (node/fl/round/consent.ts keeps only hospital training consents).
  else if (form.purpose === 'training' && form.kind === 'user') errors.purpose = 'A hospital trains the model: choose a hospital for a training consent.'
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(form.until)
  let expires = NaN
  if (m !== null) {
    const end = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 23, 59, 59, 999)
    if (end.getDate() === Number(m[3])) expires = end.getTime()
  }
  if (!Number.isFinite(expires)) errors.until = 'Choose the last day of the consent.'
  else if (expires <= now) errors.until = 'Choose a day that has not passed.'
  const project = (form.project ?? '').trim().toLowerCase()
  if (project !== '' && !/^[0-9a-f]{64}$/.test(project)) errors.project = 'Choose a research project, or research in general.'
  // Only a research consent names a project (the ledger refuses any other with BAD_SCHEMA).
  else if (project !== '' && form.purpose !== 'research') errors.project = 'Only a research consent names a project: choose research, or no project.'
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  return { ok: true, request: { grantee: key, kind: form.kind, purpose: form.purpose as Purpose, expires, ...(project === '' ? {} : { project }) } }
}

/** What a grant does, for its plain-words summary. */
export interface GrantWords {
  /** The grantee as the patient knows them: a hospital's name, or "the person with key …". */
  who: string
  kind: 'hospital' | 'user'
  purpose: string
  /** 'all', how many images were chosen, or a study of how many images. */
  images: 'all' | number | { study: number }
  /** The last day, formatted, or null while none is chosen. */
  until: string | null
}

/** The grant in one plain sentence (or two), as the patient is about to sign it. */
export function grantSummary (g: GrantWords): string {
  const what = g.images === 'all'
    ? 'all your images'
    : typeof g.images === 'object'
      ? `the study you chose (${g.images.study} image${g.images.study === 1 ? '' : 's'})`
      : g.images === 1 ? 'the image you chose' : `the ${g.images} images you chose`
  const hospital = g.kind === 'hospital'
  const act = g.purpose === 'training'
    ? `${g.who} use ${what} to train the detect-strange model`
    : g.purpose === 'research'
      ? `${hospital ? `researchers at ${g.who}` : g.who} use ${what} for research`
      : `${hospital ? `the clinicians of ${g.who}` : g.who} open ${what} to treat you`
  const until = g.until === null ? '' : `, until the end of ${g.until}`
  const stays = g.purpose === 'training' && hospital ? ` The training runs at ${g.who}; only what the model learns is shared with other hospitals.` : ''
  return `You let ${act}${until}.${stays}`
}

/** A consent as the patient's list holds it: what `replacedConsent` compares. */
export interface ListedConsent { grantee: string, purpose: string | null, action: string, expires: number | null }

/**
 * The live consent that a new grant to `grantee` for `purpose` would replace, if any. The ledger
 * keeps one consent per grantee and purpose (docs/design.md §5), so only a live grant to the same grantee
 * for the same purpose is replaced; a consent for another purpose stays as it is.
 */
export function replacedConsent<T extends ListedConsent> (consents: readonly T[], grantee: string, purpose: string, now: number): T | undefined {
  return consents.find(c => c.grantee === grantee && c.purpose === purpose && c.action === 'grant' && c.expires !== null && c.expires > now)
}
