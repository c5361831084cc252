// Hands a reader their own copy of an image's data keys (docs/design.md §5 "Access": the peer hands out
// ciphertext plus the requester's own wrapped key; decryption happens in the browser). Only the
// patient's own keys pass through untouched. Every other key is held by this hospital (as the
// custodian, or bound to the image in a consent to the hospital or to one of its users) and is
// unwrapped here, after the live consent check, and re-wrapped for the reader: no key a grantee
// could use sits on the ledger, so none outlives a revoke or an expiry (issue 11.3).
import { equals, toHex } from '../../protocol/bytes.ts'
import { MedichainError } from '../../protocol/errors.ts'
import type { ImageRecord } from '../../ledger/queries/queries.ts'
import type { KeySource } from './access.ts'
import { openUnderStudyKey, studyKeyBinding } from '../../protocol/crypto/study-key.ts'
import { nodeBoxKeyOf, nodeUnwrapBound, nodeUnwrapBoundKey, nodeUnwrapKey, nodeWrapKey } from './node-box.ts'
import type { NodeBoxKey } from './node-box.ts'

/** The reader's wrapped data keys for one image. */
export interface ReaderKeys { raw: Uint8Array, result: Uint8Array | null }

/** The hospital's X25519 box key pair (derived from its member key, protocol/crypto/user-keys.ts). */
export interface HospitalBox { publicKey: Uint8Array, secretKey: Uint8Array }

/** Thrown when the keys for an image are not available to this peer for this reader. */
export class KeysUnavailableError extends MedichainError {
  constructor (message: string) {
    super('KEYS_UNAVAILABLE', message)
    this.name = 'KeysUnavailableError'
  }
}

/**
 * Keys already re-wrapped for a reader, by reader key, image, part and the held wrap's ephemeral
 * key (unique per wrap), most recent last. The image and part are in the name so that a box is
 * reused only where the same held key was opened (and, for a bound key, its binding checked) for
 * the very same image part: a held wrap copied under another image still goes through `open`. A reader who lists the same images again (every page view does)
 * gets the box made for them the first time, so a listing costs two X25519 operations per key
 * only once. What is kept is sealed for the reader, never a data key, and handed out only after
 * the caller's access decision for this request, so a revoke or an expiry still closes it.
 */
const resealed = new Map<string, Uint8Array>()

/** Boxes kept: about 100 bytes each, so a few MB for many readers' pages. */
const RESEALED_KEPT = 50_000

/** Re-wraps the key `held` of `image`'s `part` (opened by `open`) for the reader, or hands back the box made before. */
function handOver (image: ImageRecord, part: 'raw' | 'result', held: Uint8Array, open: () => Uint8Array, readerBoxPub: Uint8Array): Uint8Array {
  const name = `${toHex(readerBoxPub)}:${image.raw.toString()}:${part}:${toHex(held.subarray(0, 32))}`
  const kept = resealed.get(name)
  if (kept !== undefined) return kept
  const dataKey = open()
  try {
    const box = nodeWrapKey(dataKey, readerBoxPub)
    if (resealed.size >= RESEALED_KEPT) resealed.delete(resealed.keys().next().value as string)
    resealed.set(name, box)
    return box
  } finally {
    dataKey.fill(0)
  }
}

/** Each consent's keys by raw CID, indexed once per consent record (a listing looks up every image). */
const consentKeys = new WeakMap<object, Map<string, NonNullable<KeySource & { from: 'consent' }>['consent']['keys']>>()

/** The key entry a consent carries for `raw`, through an index built once per consent record. */
function consentKeyFor (consent: Extract<KeySource, { from: 'consent' }>['consent'], raw: ImageRecord['raw']): NonNullable<typeof consent.keys>[number] | undefined {
  const keys = consent.keys
  if (keys === undefined) return undefined
  let index = consentKeys.get(consent) as Map<string, NonNullable<typeof consent.keys>[number]> | undefined
  if (index === undefined) {
    index = new Map(keys.map(k => [k.image.toString(), k]))
    consentKeys.set(consent, index as never)
  }
  return index.get(raw.toString())
}

type ConsentOf = Extract<KeySource, { from: 'consent' }>['consent']

/**
 * The study key entry of `consent` that opens `image` (its study, custodian and key id), or
 * undefined when the image is not sealed under a study key or the consent carries none for it
 * (an instance ingested before study keys: its per-image key is the fallback).
 */
function studyEntryFor (consent: ConsentOf, image: ImageRecord): NonNullable<ConsentOf['studies']>[number] | undefined {
  const seal = image.study
  const record = image.record
  if (seal === undefined || record === null) return undefined
  return consent.studies?.find(s => equals(s.record, record) && equals(s.custodian, image.custodian) && equals(s.kid, seal.kid))
}

/**
 * Opens the study key a consent carries for `image`: the box must be bound to this image's study,
 * custodian and key id (else BAD_WRAPPED_KEY: a box made for another study never opens this
 * one's instances). The caller zeroes it.
 */
function openStudyKey (entry: NonNullable<ConsentOf['studies']>[number], image: ImageRecord, key: NodeBoxKey): Uint8Array {
  const seal = image.study
  if (seal === undefined || image.record === null) throw new KeysUnavailableError('the image is not sealed under a study key')
  return nodeUnwrapBound(entry.key, studyKeyBinding({ patient: image.patient, record: image.record, custodian: image.custodian, kid: seal.kid }), key)
}

/** Opens one part's data key sealed under the (opened) study key; BAD_WRAPPED_KEY unless sealed for this image part. */
function openSealedPart (image: ImageRecord, part: 'raw' | 'result', studyKey: Uint8Array): Uint8Array {
  const sealed = image.study === undefined ? null : part === 'raw' ? image.study.raw : image.study.result
  if (sealed === null) throw new KeysUnavailableError(`the image has no ${part} key sealed under its study key`)
  return openUnderStudyKey(sealed, part, image.raw.bytes, studyKey)
}

/** Produces `readerBoxPub`'s wrapped keys for `image` from the source the access decision chose. */
export function readerKeys (image: ImageRecord, source: KeySource, readerBoxPub: Uint8Array, box: HospitalBox): ReaderKeys {
  if (source.from === 'patient') {
    if (source.wrapped !== undefined) return { raw: source.wrapped.raw, result: source.wrapped.result }
    const entry = image.keys.find(k => equals(k.to, readerBoxPub))
    if (entry === undefined) throw new KeysUnavailableError('the image carries no key wrapped for this patient')
    return { raw: entry.raw, result: entry.result }
  }
  const key = nodeBoxKeyOf(box)
  if (source.from === 'emergency') {
    const open = (wrapped: Uint8Array, part: 'raw' | 'result'): Uint8Array => handOver(image, part, wrapped, () => nodeUnwrapKey(wrapped, key), readerBoxPub)
    return { raw: open(source.wrapped.raw, 'raw'), result: source.wrapped.result === null ? null : open(source.wrapped.result, 'result') }
  }
  if (source.from === 'hospital') {
    const entry = image.keys.find(k => equals(k.to, box.publicKey))
    if (entry === undefined) throw new KeysUnavailableError('this hospital holds no key for the image')
    const open = (wrapped: Uint8Array, part: 'raw' | 'result'): Uint8Array => handOver(image, part, wrapped, () => nodeUnwrapKey(wrapped, key), readerBoxPub)
    return { raw: open(entry.raw, 'raw'), result: entry.result === null ? null : open(entry.result, 'result') }
  }
  const granted = consentKeyFor(source.consent, image.raw)
  if (granted === undefined) {
    // The study's key, when the consent carries it, opens every instance sealed under it.
    const entry = studyEntryFor(source.consent, image)
    if (entry === undefined) throw new KeysUnavailableError('the consent carries no key for this image; the patient must grant it again')
    // The study key is opened at most once for both parts, and zeroed before this returns.
    let studyKey: Uint8Array | undefined
    const open = (part: 'raw' | 'result'): Uint8Array => handOver(image, part, entry.key, () => openSealedPart(image, part, studyKey ??= openStudyKey(entry, image, key)), readerBoxPub)
    try {
      return { raw: open('raw'), result: image.result === null ? null : open('result') }
    } finally {
      studyKey?.fill(0)
    }
  }
  // Consent keys, to a hospital or to one of its users, are wrapped for the hospital and bound to
  // this very image: a key wrapped for this hospital for someone else's image must stay shut.
  // BAD_WRAPPED_KEY when they are not: the peer is never a key oracle.
  const open = (wrapped: Uint8Array, part: 'raw' | 'result'): Uint8Array => handOver(image, part, wrapped, () => nodeUnwrapBoundKey(wrapped, part, image.raw.bytes, key), readerBoxPub)
  return { raw: open(granted.raw, 'raw'), result: granted.result === null ? null : open(granted.result, 'result') }
}

/**
 * This hospital's own copy of an image's raw (or result) data key, for reading on a reader's
 * behalf (the caller zeroes it): the custodian's key, or the consent's key bound to this image. A
 * patient's own keys are the patient's: KEYS_UNAVAILABLE, as for an image without that part.
 */
export function hospitalDataKey (image: ImageRecord, source: KeySource, box: HospitalBox, part: 'raw' | 'result' = 'raw'): Uint8Array {
  const key = nodeBoxKeyOf(box)
  if (source.from === 'hospital') {
    const entry = image.keys.find(k => equals(k.to, box.publicKey))
    if (entry === undefined) throw new KeysUnavailableError('this hospital holds no key for the image')
    const wrapped = part === 'raw' ? entry.raw : entry.result
    if (wrapped === null) throw new KeysUnavailableError('the image has no result')
    return nodeUnwrapKey(wrapped, key)
  }
  if (source.from === 'consent') {
    const granted = source.consent.keys?.find(k => k.image.equals(image.raw))
    if (granted !== undefined) {
      const wrapped = part === 'raw' ? granted.raw : granted.result
      if (wrapped === null) throw new KeysUnavailableError('the consent carries no result key for this image')
      return nodeUnwrapBoundKey(wrapped, part, image.raw.bytes, key)
    }
    const entry = studyEntryFor(source.consent, image)
    if (entry === undefined) throw new KeysUnavailableError('the consent carries no key for this image; the patient must grant it again')
    const studyKey = openStudyKey(entry, image, key)
    try {
      return openSealedPart(image, part, studyKey)
    } finally {
      studyKey.fill(0)
    }
  }
  throw new KeysUnavailableError('a patient\'s own key is theirs alone')
}
