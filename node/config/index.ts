// The peer's typed configuration. Four layers are merged, later winning: built-in defaults, the
// config file (`<data>/config.json` or `--config`), environment variables, command-line flags.
// Every layer is validated where it enters, and errors name the file key, variable or flag.
// Single values are checked in values.ts, and each block of the file in its own file beside this one.
import { readFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { AUTH_DEFAULTS } from '../auth/constants.ts'
import { parseAuthConfig } from './auth.ts'
import type { AuthConfig } from './auth.ts'
import { FL_DEFAULTS, parseFlConfig } from './fl.ts'
import type { FlConfig } from './fl.ts'
import { IMAGING_DEFAULTS, parseImagingConfig } from './imaging.ts'
import type { ImagingConfig } from './imaging.ts'
import { parseRecordsConfig, RECORDS_DEFAULTS } from './records.ts'
import type { RecordsConfig } from './records.ts'
import { DICOM_DEFAULTS, parseDicomConfig } from './dicom.ts'
import type { DicomConfig } from './dicom.ts'
import { ConfigError, expectObject, parseHost, parseInterval, parseLevel, parseMultiaddr, parseMultiaddrs, parsePort, parseText, parseTrustProxy } from './values.ts'
import type { LogLevel } from '../logger.ts'

export { parseAuthConfig } from './auth.ts'
export type { AuthConfig } from './auth.ts'
export { ConfigError, MIN_SYNC_INTERVAL_MS } from './values.ts'

/** The resolved configuration of one peer. Paths are absolute. */
export interface Config {
  /** Data folder: key, genesis, ledger database, config file. */
  data: string
  /** Display name of this hospital in a genesis it appears in; defaults to the data folder's name. */
  name: string
  /** `trustProxy`: reverse proxies whose X-Forwarded-For names the client (addresses or CIDR subnets). */
  http: { host: string, port: number, trustProxy?: string[] }
  p2p: {
    /** libp2p listen multiaddrs. */
    listen: string[]
    /** Addresses other hospitals should dial (written into a genesis); defaults to `listen`. */
    announce: string[]
  }
  /** Path of the genesis document (JSON, as `medichain genesis` writes it). */
  genesis: string
  /** Extra multiaddrs to dial at start, beyond the members' genesis addresses. */
  peers: string[]
  logLevel: LogLevel
  /** Period of the background sync with each connected member (ms). */
  syncIntervalMs: number
  /** The config file that was read, or null when none was. */
  configFile: string | null
  /** Accounts and sessions (node/auth); set in the config file only. */
  auth: AuthConfig
  /** Upload limit, access policy and pin replicas (node/records); set in the config file only. */
  records: RecordsConfig
  /** How much federated-learning history is kept (node/fl); set in the config file only. */
  fl: FlConfig
  /** Pixel budget and decode worker pool (node/imaging); set in the config file only. */
  imaging: ImagingConfig
  /** The DICOM listener (node/dicom); the config file, and `--dicom-port` for the port. */
  dicom: DicomConfig
}

/** One layer of configuration: some of the fields, already type-checked. */
export interface ConfigInput {
  data?: string
  name?: string
  http?: { host?: string, port?: number, trustProxy?: string[] }
  p2p?: { listen?: string[], announce?: string[], port?: number }
  genesis?: string
  peers?: string[]
  logLevel?: LogLevel
  syncIntervalMs?: number
  auth?: AuthConfig
  records?: RecordsConfig
  fl?: FlConfig
  imaging?: ImagingConfig
  dicom?: DicomConfig
  /** `--dicom-port`: overrides the port of the `dicom` block. */
  dicomPort?: number
}

/** Flag values as `node:util` parseArgs returns them (strings), before conversion. */
export interface ConfigFlags {
  data?: string
  config?: string
  'http-host'?: string
  'http-port'?: string
  'p2p-port'?: string
  genesis?: string
  peer?: string[]
  'log-level'?: string
  'dicom-port'?: string
}

/** Environment variables read by the peer (see docs/ops.md). */
export const CONFIG_ENV = [
  'MEDICHAIN_DATA', 'MEDICHAIN_CONFIG', 'MEDICHAIN_HTTP_HOST', 'MEDICHAIN_HTTP_PORT', 'MEDICHAIN_P2P_PORT',
  'MEDICHAIN_GENESIS', 'MEDICHAIN_PEERS', 'MEDICHAIN_LOG_LEVEL', 'MEDICHAIN_DICOM_PORT'
] as const

/** File name of the optional config file inside the data folder. */
export const CONFIG_FILE = 'config.json'

/** Built-in defaults: one hospital on loopback, so `npm start` runs with no setup. */
export const DEFAULTS = {
  data: './data',
  http: { host: '127.0.0.1', port: 8080 },
  p2p: { listen: ['/ip4/127.0.0.1/tcp/4001'] },
  peers: [] as string[],
  logLevel: 'info' as LogLevel,
  /** Often enough that a peer back from an outage catches up within seconds, rare enough to be idle. */
  syncIntervalMs: 10_000
}

/**
 * Checks a parsed config file. Unknown keys are errors (they are usually typos), and relative
 * paths are taken relative to the file's own folder.
 */
export function parseConfigFile (v: unknown, path: string): ConfigInput {
  const base = dirname(path)
  const o = expectObject(v, path, ['data', 'name', 'http', 'p2p', 'genesis', 'peers', 'logLevel', 'syncIntervalMs', 'auth', 'records', 'fl', 'imaging', 'dicom'])
  const out: ConfigInput = {}
  if (o.data !== undefined) out.data = resolve(base, parseText(o.data, `${path}: data`))
  if (o.name !== undefined) out.name = parseText(o.name, `${path}: name`, 128)
  if (o.http !== undefined) {
    const h = expectObject(o.http, `${path}: http`, ['host', 'port', 'trustProxy'])
    out.http = {}
    if (h.host !== undefined) out.http.host = parseHost(h.host, `${path}: http.host`)
    if (h.port !== undefined) out.http.port = parsePort(h.port, `${path}: http.port`, false)
    if (h.trustProxy !== undefined) out.http.trustProxy = parseTrustProxy(h.trustProxy, `${path}: http.trustProxy`)
  }
  if (o.p2p !== undefined) {
    const p = expectObject(o.p2p, `${path}: p2p`, ['listen', 'announce', 'port'])
    out.p2p = {}
    if (p.listen !== undefined) out.p2p.listen = parseMultiaddrs(p.listen, `${path}: p2p.listen`)
    if (p.announce !== undefined) out.p2p.announce = parseMultiaddrs(p.announce, `${path}: p2p.announce`)
    if (p.port !== undefined) out.p2p.port = parsePort(p.port, `${path}: p2p.port`, false)
  }
  if (o.genesis !== undefined) out.genesis = resolve(base, parseText(o.genesis, `${path}: genesis`))
  if (o.peers !== undefined) out.peers = parseMultiaddrs(o.peers, `${path}: peers`)
  if (o.logLevel !== undefined) out.logLevel = parseLevel(o.logLevel, `${path}: logLevel`)
  if (o.syncIntervalMs !== undefined) out.syncIntervalMs = parseInterval(o.syncIntervalMs, `${path}: syncIntervalMs`)
  if (o.auth !== undefined) out.auth = parseAuthConfig(o.auth, `${path}: auth`)
  if (o.records !== undefined) out.records = parseRecordsConfig(o.records, `${path}: records`)
  if (o.fl !== undefined) out.fl = parseFlConfig(o.fl, `${path}: fl`)
  if (o.imaging !== undefined) out.imaging = parseImagingConfig(o.imaging, `${path}: imaging`)
  if (o.dicom !== undefined) out.dicom = parseDicomConfig(o.dicom, `${path}: dicom`)
  return out
}

function splitList (v: string): string[] {
  return v.split(',').map(s => s.trim()).filter(s => s.length > 0)
}

/** The layer given by MEDICHAIN_* environment variables; relative paths resolve against `cwd`. */
export function configFromEnv (env: Record<string, string | undefined>, cwd: string): ConfigInput {
  const out: ConfigInput = {}
  const get = (k: typeof CONFIG_ENV[number]): string | undefined => {
    const v = env[k]
    return v === undefined || v.trim() === '' ? undefined : v.trim()
  }
  const data = get('MEDICHAIN_DATA')
  if (data !== undefined) out.data = resolve(cwd, parseText(data, 'MEDICHAIN_DATA'))
  const host = get('MEDICHAIN_HTTP_HOST')
  const httpPort = get('MEDICHAIN_HTTP_PORT')
  if (host !== undefined || httpPort !== undefined) {
    out.http = {}
    if (host !== undefined) out.http.host = parseHost(host, 'MEDICHAIN_HTTP_HOST')
    if (httpPort !== undefined) out.http.port = parsePort(httpPort, 'MEDICHAIN_HTTP_PORT')
  }
  const p2pPort = get('MEDICHAIN_P2P_PORT')
  if (p2pPort !== undefined) out.p2p = { port: parsePort(p2pPort, 'MEDICHAIN_P2P_PORT') }
  const genesis = get('MEDICHAIN_GENESIS')
  if (genesis !== undefined) out.genesis = resolve(cwd, parseText(genesis, 'MEDICHAIN_GENESIS'))
  const peers = get('MEDICHAIN_PEERS')
  if (peers !== undefined) out.peers = splitList(peers).map((p, i) => parseMultiaddr(p, `MEDICHAIN_PEERS[${i}]`))
  const level = get('MEDICHAIN_LOG_LEVEL')
  if (level !== undefined) out.logLevel = parseLevel(level, 'MEDICHAIN_LOG_LEVEL')
  const dicomPort = get('MEDICHAIN_DICOM_PORT')
  if (dicomPort !== undefined) out.dicomPort = parsePort(dicomPort, 'MEDICHAIN_DICOM_PORT')
  return out
}

/** The layer given by command-line flags; relative paths resolve against `cwd`. */
export function configFromFlags (flags: ConfigFlags, cwd: string): ConfigInput {
  const out: ConfigInput = {}
  if (flags.data !== undefined) out.data = resolve(cwd, parseText(flags.data, '--data'))
  if (flags['http-host'] !== undefined || flags['http-port'] !== undefined) {
    out.http = {}
    if (flags['http-host'] !== undefined) out.http.host = parseHost(flags['http-host'], '--http-host')
    if (flags['http-port'] !== undefined) out.http.port = parsePort(flags['http-port'], '--http-port')
  }
  if (flags['p2p-port'] !== undefined) out.p2p = { port: parsePort(flags['p2p-port'], '--p2p-port') }
  if (flags.genesis !== undefined) out.genesis = resolve(cwd, parseText(flags.genesis, '--genesis'))
  if (flags.peer !== undefined) out.peers = flags.peer.flatMap(splitList).map((p, i) => parseMultiaddr(p, `--peer[${i}]`))
  if (flags['log-level'] !== undefined) out.logLevel = parseLevel(flags['log-level'], '--log-level')
  if (flags['dicom-port'] !== undefined) out.dicomPort = parsePort(flags['dicom-port'], '--dicom-port')
  return out
}

/** Replaces the TCP port of a multiaddr (`/tcp/N`); addresses without one are kept as they are. */
function withTcpPort (addr: string, port: number): string {
  return addr.replace(/\/tcp\/\d+/, `/tcp/${port}`)
}

/**
 * Merges layers over the defaults, later layers winning field by field. A `p2p.port` from any
 * layer rewrites the TCP port of every listen address. `data` must already be absolute in layers.
 */
export function mergeConfig (layers: ConfigInput[], opts: { cwd: string, configFile?: string | null }): Config {
  const pick = <T>(get: (l: ConfigInput) => T | undefined, fallback: T): T => {
    let v = fallback
    for (const l of layers) {
      const x = get(l)
      if (x !== undefined) v = x
    }
    return v
  }
  const data = pick(l => l.data, resolve(opts.cwd, DEFAULTS.data))
  const port = pick<number | undefined>(l => l.p2p?.port, undefined)
  const listenRaw = pick(l => l.p2p?.listen, DEFAULTS.p2p.listen)
  const listen = port === undefined ? listenRaw : listenRaw.map(a => withTcpPort(a, port))
  const announceRaw = pick<string[] | undefined>(l => l.p2p?.announce, undefined)
  return {
    data,
    name: pick(l => l.name, basename(data).slice(0, 128) || 'hospital'),
    http: {
      host: pick(l => l.http?.host, DEFAULTS.http.host),
      port: pick(l => l.http?.port, DEFAULTS.http.port),
      trustProxy: pick<string[]>(l => l.http?.trustProxy, [])
    },
    p2p: {
      listen,
      announce: announceRaw === undefined ? listen : (port === undefined ? announceRaw : announceRaw.map(a => withTcpPort(a, port)))
    },
    genesis: pick(l => l.genesis, join(data, 'genesis.json')),
    peers: pick(l => l.peers, DEFAULTS.peers),
    logLevel: pick(l => l.logLevel, DEFAULTS.logLevel),
    syncIntervalMs: pick(l => l.syncIntervalMs, DEFAULTS.syncIntervalMs),
    configFile: opts.configFile ?? null,
    auth: pick<AuthConfig>(l => l.auth, { ...AUTH_DEFAULTS }),
    records: pick<RecordsConfig>(l => l.records, { ...RECORDS_DEFAULTS }),
    fl: pick<FlConfig>(l => l.fl, { ...FL_DEFAULTS }),
    imaging: pick<ImagingConfig>(l => l.imaging, { ...IMAGING_DEFAULTS }),
    dicom: (() => {
      const d = pick<DicomConfig>(l => l.dicom, { ...DICOM_DEFAULTS, allowed: [...DICOM_DEFAULTS.allowed] })
      return { ...d, port: pick(l => l.dicomPort, d.port) }
    })()
  }
}

/** Reads and checks one config file; a missing file is null unless `required`. */
export async function readConfigFile (path: string, required: boolean): Promise<ConfigInput | null> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (!required && err instanceof Error && 'code' in err && err.code === 'ENOENT') return null
    throw new ConfigError(`${path}: cannot read config file`, { cause: err })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`${path}: not valid JSON`, { cause: err })
  }
  return parseConfigFile(json, path)
}

/** Where loadConfig takes its layers from. Only node/main.ts reads the real env and argv. */
export interface ConfigSources {
  flags?: ConfigFlags
  env?: Record<string, string | undefined>
  cwd: string
}

/**
 * Resolves the configuration: defaults < config file < env < flags. The config file is
 * `--config`, else MEDICHAIN_CONFIG, else `<data>/config.json` if it exists, where `<data>`
 * comes from flags, env or the default. Throws ConfigError (INVALID_CONFIG).
 */
export async function loadConfig (sources: ConfigSources): Promise<Config> {
  const { cwd } = sources
  const env = sources.env ?? {}
  const flagLayer = configFromFlags(sources.flags ?? {}, cwd)
  const envLayer = configFromEnv(env, cwd)
  const explicit = sources.flags?.config ?? (env.MEDICHAIN_CONFIG?.trim() === '' ? undefined : env.MEDICHAIN_CONFIG)
  const dataGuess = flagLayer.data ?? envLayer.data ?? resolve(cwd, DEFAULTS.data)
  const configFile = explicit !== undefined ? resolve(cwd, explicit) : join(dataGuess, CONFIG_FILE)
  const fileLayer = await readConfigFile(configFile, explicit !== undefined)
  return mergeConfig([fileLayer ?? {}, envLayer, flagLayer], { cwd, configFile: fileLayer === null ? null : configFile })
}
