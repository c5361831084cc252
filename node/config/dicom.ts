// The `dicom` block of the config file: where the peer listens for DICOM (DIMSE, PS3.7/PS3.8), its
// AE title, and which calling AE titles and addresses may associate. Kept beside index.ts, like
// the `records` and `fl` blocks, so that file stays one concept.
import { isIP } from 'node:net'
import { MedichainError } from '../../protocol/errors.ts'
import { DEFAULT_AE_TITLE, DEFAULT_DICOM_PORT, DEFAULT_MAX_PDU_BYTES, MAX_PDU_LIMIT, MIN_PDU_LIMIT } from '../dicom/constants.ts'

/** One admitted caller: an address, and optionally the only calling AE title accepted from it. */
export interface DicomPeer {
  /** Calling AE title; absent: any AE title from `address`. */
  aeTitle?: string
  /** IPv4 or IPv6 address the association must come from. */
  address: string
  /**
   * The port this AE listens on at `address`: given (with an AE title), the AE is also a C-MOVE
   * destination, and the peer opens its own association there to send what was asked for.
   */
  port?: number
}

/** Tunables of the DICOM listener (node/dicom). */
export interface DicomConfig {
  /** Listen for DICOM at all (default true for `medichain start`; createPeer leaves it off unless given). */
  enabled: boolean
  /** Interface to bind (default 127.0.0.1). */
  host: string
  /** TCP port (default 11112, the registered DICOM port; 0 picks a free one). */
  port: number
  /** This peer's AE title; associations calling any other are refused (default MEDICHAIN). */
  aeTitle: string
  /** Who may associate (default: any AE title from 127.0.0.1). */
  allowed: DicomPeer[]
  /** Largest P-DATA PDU accepted (bytes; default 128 KiB); a larger one ends the association. */
  maxPduBytes: number
  /**
   * When a C-STORE or a STOW-RS instance answers success. 'custody' (the default, as a PACS
   * answers once it has stored): once it is durable (sealed, fsynced) in the hospital's custody;
   * the intake attaches it to the ledger right after, many at once, analysed in the worker pool
   * meanwhile, and a query (or a retrieve that finds nothing yet) waits for the instances
   * acknowledged before it (up to QUERY_CATCH_UP_MS), so it still finds them. One association's instances share blocks and
   * fsyncs, and the model's time stays out of the answer (docs/benchmarks.md "DICOM ingest").
   * 'ledger': once the instance is on the ledger with its AI result, each answer waiting for it.
   */
  acknowledge: 'ledger' | 'custody'
}

/** Defaults of the dicom block. */
export const DICOM_DEFAULTS: Readonly<DicomConfig> = {
  enabled: true,
  host: '127.0.0.1',
  port: DEFAULT_DICOM_PORT,
  aeTitle: DEFAULT_AE_TITLE,
  allowed: [{ address: '127.0.0.1' }],
  maxPduBytes: DEFAULT_MAX_PDU_BYTES,
  acknowledge: 'custody'
}

/**
 * Whether `v` is a valid AE title (PS3.5 §6.2, VR AE): 1 to 16 characters of the default
 * repertoire without control characters or backslash, not only spaces.
 */
export function isAeTitle (v: unknown): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= 16 && /^[\x20-\x5b\x5d-\x7e]+$/.test(v) && v.trim().length > 0
}

/** Checks a config file's `dicom` block; absent fields take the defaults. */
export function parseDicomConfig (v: unknown, source: string): DicomConfig {
  const bad = (message: string): MedichainError => new MedichainError('INVALID_CONFIG', `${source}${message}`)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(': expected an object')
  const o = v as Record<string, unknown>
  for (const key of Object.keys(o)) if (!Object.hasOwn(DICOM_DEFAULTS, key)) throw bad(`.${key}: unknown setting`)
  const out: DicomConfig = { ...DICOM_DEFAULTS, allowed: [...DICOM_DEFAULTS.allowed] }
  if (o.enabled !== undefined) {
    if (typeof o.enabled !== 'boolean') throw bad('.enabled: expected true or false')
    out.enabled = o.enabled
  }
  if (o.host !== undefined) {
    if (typeof o.host !== 'string' || !/^[A-Za-z0-9.:-]{1,255}$/.test(o.host)) throw bad(`.host: expected a host name or IP address, got ${JSON.stringify(o.host)}`)
    out.host = o.host
  }
  if (o.port !== undefined) {
    if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw bad(`.port: expected a port number 0..65535, got ${JSON.stringify(o.port)}`)
    out.port = o.port
  }
  if (o.aeTitle !== undefined) {
    if (!isAeTitle(o.aeTitle)) throw bad(`.aeTitle: expected 1 to 16 printable characters (no backslash), got ${JSON.stringify(o.aeTitle)}`)
    out.aeTitle = o.aeTitle.trim()
  }
  if (o.maxPduBytes !== undefined) {
    const n = o.maxPduBytes
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < MIN_PDU_LIMIT || n > MAX_PDU_LIMIT) throw bad(`.maxPduBytes: expected an integer from ${MIN_PDU_LIMIT} to ${MAX_PDU_LIMIT}, got ${JSON.stringify(n)}`)
    out.maxPduBytes = n
  }
  if (o.acknowledge !== undefined) {
    if (o.acknowledge !== 'ledger' && o.acknowledge !== 'custody') throw bad(`.acknowledge: expected "ledger" or "custody", got ${JSON.stringify(o.acknowledge)}`)
    out.acknowledge = o.acknowledge
  }
  if (o.allowed !== undefined) {
    if (!Array.isArray(o.allowed)) throw bad('.allowed: expected an array of { aeTitle?, address }')
    out.allowed = o.allowed.map((x: unknown, i) => parseAllowed(x, `${source}.allowed[${i}]`))
  }
  return out
}

/** The C-MOVE destination configured for an AE title: an `allowed` entry with that title and a port. */
export function moveDestination (allowed: DicomPeer[], aeTitle: string): { aeTitle: string, host: string, port: number } | undefined {
  const p = allowed.find(x => x.aeTitle === aeTitle && x.port !== undefined)
  return p?.aeTitle === undefined || p.port === undefined ? undefined : { aeTitle: p.aeTitle, host: p.address, port: p.port }
}

function parseAllowed (v: unknown, source: string): DicomPeer {
  const bad = (message: string): MedichainError => new MedichainError('INVALID_CONFIG', `${source}${message}`)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(': expected an object { aeTitle?, address }')
  const o = v as Record<string, unknown>
  for (const key of Object.keys(o)) if (key !== 'aeTitle' && key !== 'address' && key !== 'port') throw bad(`.${key}: unknown setting`)
  if (typeof o.address !== 'string' || isIP(o.address) === 0) throw bad(`.address: expected an IP address, got ${JSON.stringify(o.address)}`)
  if (o.port !== undefined && (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 1 || o.port > 65535)) {
    throw bad(`.port: expected a port number 1..65535, got ${JSON.stringify(o.port)}`)
  }
  if (o.aeTitle === undefined) {
    if (o.port !== undefined) throw bad('.port: a C-MOVE destination needs its aeTitle')
    return { address: o.address }
  }
  if (!isAeTitle(o.aeTitle)) throw bad(`.aeTitle: expected 1 to 16 printable characters (no backslash), got ${JSON.stringify(o.aeTitle)}`)
  return { aeTitle: o.aeTitle.trim(), address: o.address, ...(o.port === undefined ? {} : { port: o.port }) }
}
