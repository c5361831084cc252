// De-identifies one DICOM Part 10 file by PS3.15 Annex E: the Basic Application Level
// Confidentiality Profile with the project's options, applied attribute by attribute through the
// whole data set, sequences included. dcmjs reads and writes the file; the pixel data is left to
// the burned-in text step. Deterministic: the same bytes, keys and options give the same output.
import dcmjs from 'dcmjs'
import type { DicomDataset, DicomDictInstance, DicomElement } from 'dcmjs'
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION } from '../../imaging/constants.ts'
import { actionFor } from './actions.ts'
import type { ProfileOptions } from './actions.ts'
import { DeidInputError } from './errors.ts'
import { cleanText, dummyValue, remapUid, shiftDate, shiftDateTime } from './values.ts'

/** The per-project, per-patient secrets a de-identification uses (see project-keys.ts). */
export interface DeidKeys {
  /** HMAC key of the project's UID replacement. */
  uidKey: Uint8Array
  /** The patient's pseudonym in this project: Patient's Name and Patient ID. */
  pseudonym: string
  /** Whole days every date of this patient moves by under the Modified Dates option. */
  dateShiftDays: number
}

/** A de-identified file and what the export needs to know of it. */
export interface DeidResult {
  bytes: Uint8Array
  /** Burned In Annotation (0028,0301) as the source declared it, or null when absent. */
  burnedInAnnotation: string | null
  /** The replacement Study Instance UID, for the manifest. */
  studyUid: string
  /** The replacement SOP Instance UID: the file's name in an export. */
  sopUid: string
}

/** DICOM codes of the profile and options applied (PS3.16 CID 7050). */
const METHOD_CODES: Record<'basic' | 'modifiedDates' | 'cleanDescriptors', readonly [string, string]> = {
  basic: ['113100', 'Basic Application Confidentiality Profile'],
  modifiedDates: ['113107', 'Retain Longitudinal Temporal Information Modified Dates Option'],
  cleanDescriptors: ['113105', 'Clean Descriptors Option']
}

const TEXT_VRS = new Set(['AE', 'CS', 'SH', 'LO', 'LT', 'ST', 'UT', 'UC'])

interface Ctx { keys: DeidKeys, options: ProfileOptions }

function strings (el: DicomElement): string[] {
  return (el.Value ?? []).map(v => typeof v === 'string' ? v : '')
}

function items (el: DicomElement, ctx: Ctx): DicomElement {
  const out = (el.Value ?? []).map(item => walk(item as DicomDataset, ctx))
  return { vr: 'SQ', Value: out }
}

function apply (tag: string, el: DicomElement, ctx: Ctx): DicomElement | null {
  const action = actionFor(tag, ctx.options)
  if (action === 'remove') return null
  if (el.vr === 'SQ') return action === 'empty' ? { vr: 'SQ', Value: [] } : items(el, ctx)
  switch (action) {
    case 'keep': case 'recurse': return el
    case 'empty': return { vr: el.vr, Value: [] }
    case 'uid': return { vr: el.vr, Value: strings(el).map(u => u === '' ? u : remapUid(ctx.keys.uidKey, u)) }
    case 'dummy':
      if (el.vr === 'UI') return { vr: el.vr, Value: strings(el).map(u => remapUid(ctx.keys.uidKey, u)) }
      return { vr: el.vr, Value: dummyValue(el.vr) }
    case 'shift':
      if (el.vr === 'DA') return { vr: el.vr, Value: strings(el).map(d => shiftDate(d, ctx.keys.dateShiftDays)) }
      if (el.vr === 'DT') return { vr: el.vr, Value: strings(el).map(d => shiftDateTime(d, ctx.keys.dateShiftDays)) }
      // A time of day keeps its meaning under a whole-day shift (TM); other VRs carry no date.
      return el
    case 'clean':
      if (TEXT_VRS.has(el.vr)) return { vr: el.vr, Value: strings(el).map(cleanText).filter(s => s !== '') }
      if (el.vr === 'PN') return { vr: el.vr, Value: [] }
      return el
  }
}

function walk (ds: DicomDataset, ctx: Ctx): DicomDataset {
  const out: DicomDataset = {}
  for (const tag of Object.keys(ds).sort()) {
    const el = apply(tag, ds[tag], ctx)
    if (el !== null) out[tag] = el
  }
  return out
}

function code (value: string, meaning: string): DicomDataset {
  return { '00080100': { vr: 'SH', Value: [value] }, '00080102': { vr: 'SH', Value: ['DCM'] }, '00080104': { vr: 'LO', Value: [meaning] } }
}

/** The attributes that record what was done (PS3.15 §E.1.1 steps 2–4; PS3.3 C.7.1.1). */
function marks (ctx: Ctx): DicomDataset {
  const codes = [METHOD_CODES.basic]
  if (ctx.options.modifiedDates) codes.push(METHOD_CODES.modifiedDates)
  if (ctx.options.cleanDescriptors) codes.push(METHOD_CODES.cleanDescriptors)
  return {
    '00100010': { vr: 'PN', Value: [{ Alphabetic: ctx.keys.pseudonym }] },
    '00100020': { vr: 'LO', Value: [ctx.keys.pseudonym] },
    '00120062': { vr: 'CS', Value: ['YES'] },
    '00120063': { vr: 'LO', Value: codes.map(c => c[1].slice(0, 64)) },
    '00120064': { vr: 'SQ', Value: codes.map(c => code(c[0], c[1])) },
    '00280303': { vr: 'CS', Value: [ctx.options.modifiedDates ? 'MODIFIED' : 'REMOVED'] }
  }
}

function firstString (ds: DicomDataset, tag: string): string | null {
  const v = ds[tag]?.Value?.[0]
  return typeof v === 'string' ? v : null
}

/**
 * De-identifies a data set (the DICOM JSON model dcmjs reads): every attribute through the
 * profile, then the pseudonym and the attributes recording the method. Pure; exported for the
 * tag-by-tag tests.
 */
export function deidentifyDataset (ds: DicomDataset, keys: DeidKeys, options: ProfileOptions): DicomDataset {
  const ctx: Ctx = { keys, options }
  return { ...walk(ds, ctx), ...marks(ctx) }
}

/** Reads a DICOM Part 10 file with dcmjs (DEID_BAD_INPUT when it cannot). */
export function readDicom (bytes: Uint8Array): DicomDictInstance {
  try {
    return dcmjs.data.DicomMessage.readFile(bytes.slice().buffer)
  } catch (err) {
    throw new DeidInputError('not a DICOM Part 10 file dcmjs can read', { cause: err })
  }
}

/**
 * De-identifies a DICOM Part 10 file (its bytes, or as `readDicom` read it) with the project's
 * keys and options; a caller that redacts pixels (burned-in text) reads it first and passes it in.
 */
export function deidentify (input: Uint8Array | DicomDictInstance, keys: DeidKeys, options: ProfileOptions): DeidResult {
  const source = input instanceof Uint8Array ? readDicom(input) : input
  const dict = deidentifyDataset(source.dict, keys, options)
  const sopInstance = firstString(dict, '00080018') ?? remapUid(keys.uidKey, firstString(source.meta, '00020003') ?? '')
  const meta: DicomDataset = {
    '00020001': source.meta['00020001'] ?? { vr: 'OB', Value: [Uint8Array.of(0, 1).buffer] },
    '00020002': source.meta['00020002'] ?? { vr: 'UI', Value: [firstString(dict, '00080016') ?? ''] },
    '00020003': { vr: 'UI', Value: [sopInstance] },
    '00020010': source.meta['00020010'],
    '00020012': { vr: 'UI', Value: [IMPLEMENTATION_CLASS_UID] },
    '00020013': { vr: 'SH', Value: [IMPLEMENTATION_VERSION] }
  }
  const out = new dcmjs.data.DicomDict(meta)
  out.dict = Object.fromEntries(Object.keys(dict).sort().map(t => [t, dict[t]]))
  return {
    bytes: new Uint8Array(out.write()),
    burnedInAnnotation: firstString(source.dict, '00280301'),
    studyUid: firstString(dict, '0020000D') ?? '',
    sopUid: sopInstance
  }
}
