// What a person reads when something fails: every stable error code the UI can meet, in plain
// words with what to do next. The code stays visible (small print) so support can look it up;
// the server's own message is shown only for codes not listed here.
import { formatWait } from './format.ts'

/** An error ready to show. */
export interface ShownError { code: string, text: string }

const TEXT: Readonly<Record<string, string>> = {
  WEAK_PASSWORD: 'Choose a password of 12 to 128 characters. A few unrelated words work well.',
  USERNAME_TAKEN: 'That username is already taken at this hospital. Choose another one.',
  KEY_TAKEN: 'These keys already belong to an account. Reload the page and sign up again.',
  BAD_CREDENTIALS: 'The username or the password is wrong.',
  ACCOUNT_PENDING: 'Your account is waiting for an administrator of this hospital to approve it. Try again once they have.',
  ACCOUNT_LOCKED: 'This account is locked. Ask an administrator of this hospital to unlock it.',
  ACCOUNT_STATE: 'That account is not in a state that allows this action. Reload the list.',
  BAD_SETUP_TOKEN: 'This setup link is not valid any more: it was used or replaced. Your IT team can make a new one with "medichain admin setup-link" on the peer\'s host.',
  BAD_PASSWORD: 'That password does not open your key vault.',
  BAD_RECOVERY_CODE: 'This recovery code does not open this account. Check the username and each character of the code.',
  RECOVERY_CODE_USED: 'This recovery code was already used. Use the newer code you were shown after that recovery.',
  BAD_VAULT: 'Your key vault could not be opened: it is damaged or belongs to another account.',
  VAULT_LOCKED: 'Your vault is locked. Enter your password to unlock it.',
  UNAUTHENTICATED: 'Your session has ended. Please sign in again.',
  CSRF: 'The request was refused as a possible cross-site request. Reload the page and try again.',
  FORBIDDEN: 'You are not allowed to do this.',
  EMERGENCY_NOT_CUSTODIAN: 'No hospital holds images of this patient, so emergency access would open nothing.',
  EMERGENCY_ROLE: 'Your hospital has not given you the emergency role. An administrator of your hospital gives it (Accounts page).',
  NO_CONSENT: 'No image of this patient is open to you: there are none yet, or you need the patient\'s consent. Ask the patient to grant it, or use emergency access if a life is at risk.',
  UNKNOWN_PATIENT: 'No patient is registered under this id. The patient must sign up first.',
  NOT_FOUND: 'Not found.',
  KEYS_UNAVAILABLE: 'The key for this image is not available to you. The patient must grant consent again to include it.',
  UNSUPPORTED_FORMAT: 'This file is not a DICOM, PNG or JPEG image.',
  UNSUPPORTED_TRANSFER_SYNTAX: 'This DICOM file is compressed in a way that is not supported. Send it uncompressed.',
  UNSUPPORTED_PIXEL_FORMAT: 'This image\'s pixel format is not supported (grayscale 8- or 16-bit only).',
  CORRUPT_IMAGE: 'This file is damaged or truncated.',
  IMAGE_TOO_LARGE: 'This file is too large to be checked and analysed.',
  PIXEL_BUDGET: 'This image has more pixels than this hospital decodes (see its pixel budget).',
  DECODE_BUSY: 'The hospital is decoding other images right now. Try again in a moment.',
  TOO_LARGE: 'This file is larger than this hospital accepts.',
  UNAVAILABLE: 'The service is busy or a copy of the data is not reachable right now. Try again shortly.',
  NETWORK: 'The hospital\'s peer could not be reached. Check the connection and try again.',
  BAD_CONSENT: 'The consent could not be made from this input.',
  CONSENT_SELF: 'You cannot give consent to yourself. Choose a hospital or a clinician.',
  CONSENT_EXPIRED: 'The consent would already have expired. Choose an end date in the future.',
  UNKNOWN_GRANTEE: 'Nobody with this key is registered as a clinician, researcher or member hospital. Check the key.',
  FOREIGN_IMAGE: 'The consent names an image that is not yours.',
  CONSENT_TOO_LARGE: 'The consent is larger than its images need. Make it again from this page.',
  MRN_LINKED: 'This MRN is already linked to another patient. Check the patient, or ask the hospital\'s admin.',
  UNKNOWN_ENROLMENT_CODE: 'That enrolment code is unknown, already used or expired.',
  STUDY_TOO_LARGE: 'This study has more images than one consent can carry keys for. Choose fewer images with "only these", or ask the hospital.',
  TX_TIME: 'This device\'s clock is far from the hospital\'s. Set the clock right, then try again.',
  FLAGGED_MEMBER: 'This hospital signed two conflicting blocks: the consortium must resolve it before it can write again.',
  BAD_PROOF: 'The inclusion proof does not verify.',
  BAD_SCHEMA: 'The answer or the request was malformed.',
  INVALID: 'Some input is not valid.',
  LABEL_MISMATCH: 'The mask must have the width and height of the image, in pixels.',
  NO_VALIDATION_SET: 'This hospital has no usable images held out for validation (labelled so, with a training consent), so it cannot check the model. Label some first.',
  NO_MODEL: 'No round had enough hospitals taking part, so no model was made.',
  INTERRUPTED: 'The peer stopped while the task ran. Start a new one.',
  INTERNAL: 'Something went wrong on the peer. The details are in its log.',
  HOME_ONLY: 'Your account lives at your home hospital. Change your password there.',
  UNKNOWN_HOSPITAL: 'No member hospital has that name. Check the part after @, or pick your hospital from the list.',
  PATIENTS_ONLY: 'Only patients sign in at another hospital. Staff sign in at their own hospital.',
  BAD_RELAY_PROOF: 'Your home hospital could not accept this sign-in. Check this device\'s clock, reload the page and try again.',
  ACCOUNT_SYNCING: 'This hospital has not yet received your registration from your home hospital. Try again in a few seconds.',
  RELAY_PROTOCOL: 'Your home hospital gave an answer this hospital cannot use. Try again later, or sign in at your home hospital.'
}

function field (err: unknown, name: string): unknown {
  return typeof err === 'object' && err !== null && name in err ? (err as Record<string, unknown>)[name] : undefined
}

/** Codes whose server message adds what the words cannot know (a field, the sizes). */
const WITH_MESSAGE = new Set(['INVALID', 'BAD_CONSENT', 'LABEL_MISMATCH'])

/**
 * The words for `err` (an ApiError, a MedichainError, or anything thrown). `texts` overrides the
 * words of some codes where the page knows better what they mean (e.g. FORBIDDEN when labelling).
 */
export function describeError (err: unknown, texts: Readonly<Record<string, string>> = {}): ShownError {
  const code = typeof field(err, 'code') === 'string' ? field(err, 'code') as string : 'ERROR'
  const message = err instanceof Error ? err.message : String(err)
  if (code === 'RATE_LIMITED') {
    const wait = field(err, 'retryAfter')
    return { code, text: typeof wait === 'number' ? `Too many attempts. Try again in ${formatWait(wait)}.` : 'Too many attempts. Wait a few minutes, then try again.' }
  }
  if (code === 'HOME_UNREACHABLE') {
    const wait = field(err, 'retryAfter')
    const when = typeof wait === 'number' ? `in ${formatWait(wait)}` : 'in a moment'
    return { code, text: `Your home hospital cannot be reached right now, so it cannot check your password. Nothing is wrong with your account: try again ${when}.` }
  }
  const own = texts[code]
  if (own !== undefined) return { code, text: own }
  const known = TEXT[code]
  if (known !== undefined) return { code, text: WITH_MESSAGE.has(code) ? `${known} (${message})` : known }
  return { code, text: message === '' ? 'Something went wrong.' : message }
}
