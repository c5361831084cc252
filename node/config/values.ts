// The checks of single values of the peer's configuration, shared by its layers (index.ts) and
// blocks (auth.ts): ports, multiaddrs, hosts, trusted proxies, log levels, the sync period
// and the keys of an object. Each throws ConfigError (INVALID_CONFIG) naming the value's source.
import { multiaddr } from '@multiformats/multiaddr'
import { MedichainError } from '../../protocol/errors.ts'
import { LOG_LEVELS } from '../logger.ts'
import type { LogLevel } from '../logger.ts'
import { parseProxyEntry } from '../http/middleware/client-ip.ts'

/** Thrown when a config value is missing, malformed or out of range; the message names its source. */
export class ConfigError extends MedichainError {
  constructor (message: string, options?: ErrorOptions) {
    super('INVALID_CONFIG', message, options)
    this.name = 'ConfigError'
  }
}

/** Smallest accepted sync period (ms): below this the sync protocol would mostly exchange heads. */
export const MIN_SYNC_INTERVAL_MS = 100

/** A TCP port. Env and flags give text; a config file must give a JSON number. */
export function parsePort (v: unknown, source: string, fromText = true): number {
  const n = fromText && typeof v === 'string' && /^\d{1,5}$/.test(v.trim()) ? Number(v.trim()) : v
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`${source}: expected a port number 0..65535, got ${JSON.stringify(v)}`)
  }
  return n
}

/** One multiaddr, in its canonical text form. */
export function parseMultiaddr (v: unknown, source: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 512) {
    throw new ConfigError(`${source}: expected a multiaddr string, got ${JSON.stringify(v)}`)
  }
  try {
    return multiaddr(v).toString()
  } catch (err) {
    throw new ConfigError(`${source}: ${JSON.stringify(v)} is not a valid multiaddr`, { cause: err })
  }
}

/** An array of multiaddrs; an error names the bad entry's index. */
export function parseMultiaddrs (v: unknown, source: string): string[] {
  if (!Array.isArray(v)) throw new ConfigError(`${source}: expected an array of multiaddrs, got ${typeof v}`)
  return v.map((x, i) => parseMultiaddr(x, `${source}[${i}]`))
}

/** A non-empty string of printable characters, at most `max` long. */
export function parseText (v: unknown, source: string, max = 4096): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max || /[\u0000-\u001f]/.test(v)) {
    throw new ConfigError(`${source}: expected a non-empty string of at most ${max} printable characters`)
  }
  return v
}

/** A host name or IP address (IPv6 in brackets or bare). */
export function parseHost (v: unknown, source: string): string {
  const host = parseText(v, source, 255)
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(host)) throw new ConfigError(`${source}: ${JSON.stringify(host)} is not a host name or IP address`)
  return host
}

/** `http.trustProxy`: at most 64 IP addresses or CIDR subnets of the reverse proxies in front of the peer. */
export function parseTrustProxy (v: unknown, source: string): string[] {
  if (!Array.isArray(v) || v.length > 64) throw new ConfigError(`${source}: expected an array of at most 64 IP addresses or CIDR subnets`)
  return v.map((x, i) => {
    if (typeof x !== 'string' || parseProxyEntry(x) === undefined) {
      throw new ConfigError(`${source}[${i}]: expected an IP address or CIDR subnet such as 10.0.0.5 or 10.0.0.0/24, got ${JSON.stringify(x)}`)
    }
    return x.trim()
  })
}

/** One of the logger's levels. */
export function parseLevel (v: unknown, source: string): LogLevel {
  const level = LOG_LEVELS.find(l => l === v)
  if (level === undefined) throw new ConfigError(`${source}: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(v)}`)
  return level
}

/** The background sync period (ms): an integer of at least MIN_SYNC_INTERVAL_MS. */
export function parseInterval (v: unknown, source: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < MIN_SYNC_INTERVAL_MS) {
    throw new ConfigError(`${source}: expected an integer number of milliseconds >= ${MIN_SYNC_INTERVAL_MS}, got ${JSON.stringify(v)}`)
  }
  return v
}

/** A plain object whose keys are all among `keys`: an unknown one is usually a typo. */
export function expectObject (v: unknown, source: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${source}: expected an object`)
  const o = v as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new ConfigError(`${source}.${k}: unknown setting (expected one of ${keys.join(', ')})`)
  }
  return o
}
