// Test-only bridge between playwright-core and Debian's Firefox ESR over WebDriver BiDi (W3C
// WebDriver BiDi, https://w3c.github.io/webdriver-bidi/). Why it exists: playwright-core 1.65 sends
// `emulation.setMediaFeaturesOverride` for every new browser context (and on page.emulateMedia),
// and Firefox ESR 153.7 (Debian's firefox-esr) does not implement that command yet (its emulation
// module has only the geolocation, locale, screen orientation, screen settings, timezone and user
// agent overrides), so `browser.newPage()` fails with "unknown command". firefox-bidi-shim.ts, the
// executable playwright launches instead of Firefox, starts Firefox and puts the loopback proxy of
// this file between the two: every message passes unchanged except that command, which the proxy
// answers itself, with an empty success only when nothing is to be overridden and with an
// "unsupported operation" error otherwise: the shim never pretends to emulate. Remove the shim
// (launch /usr/bin/firefox-esr directly) once Debian's ESR implements that command.
import { createRequire } from 'node:module'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The executable playwright launches in place of Firefox (it starts Firefox behind the proxy). */
export const FIREFOX_SHIM = fileURLToPath(new URL('./firefox-bidi-shim.ts', import.meta.url))

/** The environment variable that tells the shim which Firefox binary to start. */
export const FIREFOX_BIN_ENV = 'MEDICHAIN_FIREFOX_BIN'

/** What Firefox prints on stderr once BiDi listens, and what playwright waits for (bidiFirefox.ts). */
export const LISTENING = /WebDriver BiDi listening on (ws:\/\/\S+)/

/**
 * Commands this Firefox lacks that the proxy answers itself (shimReply says when that is honest).
 * A whole run of ui-firefox.test.ts sees no other "unknown command" (the proxy would note it).
 * Drop the shim when Firefox ESR implements these.
 */
export const SHIMMED_COMMANDS = ['emulation.setMediaFeaturesOverride']

/** A BiDi command as playwright sends it (the spec's "Command" type). */
interface Command { id: number, method: string, params?: Record<string, unknown> }

/** A BiDi response the proxy sends in Firefox's place (the spec's "CommandResponse" and "ErrorResponse"). */
export type ShimReply =
  | { type: 'success', id: number, result: Record<string, never> }
  | { type: 'error', id: number, error: 'unsupported operation', message: string }

/** The command in a text frame, or undefined when it is not one (events, responses, junk). */
function parseCommand (text: string): Command | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const { id, method, params } = value as Record<string, unknown>
  if (typeof id !== 'number' || typeof method !== 'string') return undefined
  if (params !== undefined && (typeof params !== 'object' || params === null)) return undefined
  return { id, method, params: params as Record<string, unknown> | undefined }
}

/**
 * The reply the proxy gives in Firefox's place to the command in `text`, or undefined to forward
 * it. `emulation.setMediaFeaturesOverride` succeeds only when every feature is null or absent
 * (playwright's "no-override" and "no-preference"): Firefox then behaves as asked without the
 * command. A real value (say prefers-color-scheme: dark) gets an "unsupported operation" error.
 */
export function shimReply (text: string): ShimReply | undefined {
  const command = parseCommand(text)
  if (command === undefined || !SHIMMED_COMMANDS.includes(command.method)) return undefined
  const refuse = (why: string): ShimReply => ({ type: 'error', id: command.id, error: 'unsupported operation', message: `firefox-bidi-shim: ${why}` })
  const features = command.params?.features ?? {}
  if (typeof features !== 'object' || features === null) return refuse(`${command.method} with features ${JSON.stringify(features)} is not understood`)
  const asked = Object.entries(features).filter(([, v]) => v !== null && v !== undefined)
  if (asked.length === 0) return { type: 'success', id: command.id, result: {} }
  const what = asked.map(([k, v]) => `${k}: ${String(v)}`).join(', ')
  return refuse(`this Firefox has no ${command.method}, so ${what} cannot be emulated (see test/e2e/firefox.ts)`)
}

/** The part of a `ws` socket the proxy uses (the package ships no types, and none are installed). */
interface WsSocket {
  on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): void
  on(event: 'open', listener: () => void): void
  on(event: 'close', listener: (code: number, reason: Buffer) => void): void
  on(event: 'error', listener: (err: Error) => void): void
  send(data: string | Buffer, opts?: { binary: boolean }): void
  close(code?: number, reason?: string): void
  readonly readyState: number
}

/** The part of a `ws` server the proxy uses. */
interface WsServer {
  on(event: 'connection', listener: (socket: WsSocket, req: IncomingMessage) => void): void
  on(event: 'listening', listener: () => void): void
  on(event: 'error', listener: (err: Error) => void): void
  address(): AddressInfo | string | null
  close(): void
}

/** The `ws` exports the proxy uses. */
interface WsModule {
  WebSocket: { new (url: string, opts: { maxPayload: number, perMessageDeflate: boolean }): WsSocket, readonly OPEN: number }
  WebSocketServer: new (opts: { host: string, port: number, maxPayload: number, perMessageDeflate: boolean }) => WsServer
}

/** ws 8 (already installed for libp2p); required, not imported, because it ships no types. */
const ws: WsModule = createRequire(import.meta.url)('ws')

/** As large as playwright's own transport allows (its WebSocketTransport uses 256 MiB). */
const MAX_PAYLOAD = 256 * 1024 * 1024

/** A running proxy. */
export interface BidiProxy {
  /** Where playwright connects: ws://127.0.0.1:<port>. */
  url: string
  close(): void
}

/** Options of the proxy; `note` receives one line per noteworthy event (shimmed or unknown commands). */
export interface BidiProxyInit { upstream: string, note: (line: string) => void }

/**
 * Starts a WebSocket proxy on 127.0.0.1 port 0 forwarding each connection to the same path on
 * `upstream` (Firefox's BiDi server), frames unchanged both ways, except the shimmed commands.
 * Responses with "unknown command" are reported through `note`, so a missing command shows up in
 * playwright's browser log instead of as a bare protocol error.
 */
export async function startBidiProxy (init: BidiProxyInit): Promise<BidiProxy> {
  const server = new ws.WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_PAYLOAD, perMessageDeflate: false })
  server.on('connection', (client, req) => { bridge(client, `${init.upstream}${req.url ?? ''}`, init.note) })
  await new Promise<void>((resolve, reject) => {
    server.on('listening', resolve)
    server.on('error', reject)
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the BiDi proxy has no TCP address')
  return { url: `ws://127.0.0.1:${address.port}`, close: () => { server.close() } }
}

/** Joins one playwright connection to one new Firefox connection. */
function bridge (client: WsSocket, target: string, note: (line: string) => void): void {
  const upstream = new ws.WebSocket(target, { maxPayload: MAX_PAYLOAD, perMessageDeflate: false })
  const queued: Array<{ data: Buffer, isBinary: boolean }> = []
  /** Methods of commands in flight, to name the one Firefox does not know. */
  const methods = new Map<number, string>()
  client.on('message', (data, isBinary) => {
    const text = isBinary ? undefined : data.toString('utf8')
    const reply = text === undefined ? undefined : shimReply(text)
    if (reply !== undefined) {
      note(`firefox-bidi-shim: answered ${reply.id} itself (${reply.type})`)
      client.send(JSON.stringify(reply))
      return
    }
    const command = text === undefined ? undefined : parseCommand(text)
    if (command !== undefined) methods.set(command.id, command.method)
    if (upstream.readyState === ws.WebSocket.OPEN) upstream.send(data, { binary: isBinary })
    else queued.push({ data, isBinary })
  })
  upstream.on('open', () => {
    for (const m of queued.splice(0)) upstream.send(m.data, { binary: m.isBinary })
  })
  upstream.on('message', (data, isBinary) => {
    if (!isBinary) reportUnknown(data.toString('utf8'), methods, note)
    client.send(data, { binary: isBinary })
  })
  upstream.on('close', (code) => { client.close(closable(code)) })
  client.on('close', (code) => { upstream.close(closable(code)) })
  upstream.on('error', (err) => {
    note(`firefox-bidi-shim: Firefox connection failed: ${err.message}`)
    client.close(1011)
  })
  client.on('error', () => { upstream.close(1011) })
}

/** Close codes that may be sent on the wire (RFC 6455 §7.4.1; 1004-1006 and 1015 may not). */
const SENDABLE = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014]

/** The code to pass on when one side closed with `code` (ws throws on a code it may not send). */
function closable (code: number): number {
  return SENDABLE.includes(code) || (code >= 3000 && code <= 4999) ? code : 1000
}

/** Notes a response whose error is "unknown command", naming the command. */
function reportUnknown (text: string, methods: Map<number, string>, note: (line: string) => void): void {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return
  }
  if (typeof value !== 'object' || value === null) return
  const { id, type, error } = value as Record<string, unknown>
  if (typeof id !== 'number') return
  const method = methods.get(id)
  methods.delete(id)
  if (type === 'error' && error === 'unknown command') note(`firefox-bidi-shim: Firefox does not know ${method ?? `command ${id}`}`)
}

/**
 * The environment to launch the shim with (playwright's `env` launch option): this process's,
 * with the Node that runs the tests first on PATH (the shim's `#!/usr/bin/env node` line needs
 * Node 24, which runs .ts; Debian's `node` may be older) and `firefox` in FIREFOX_BIN_ENV.
 */
export function firefoxLaunchEnv (firefox: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`
  env[FIREFOX_BIN_ENV] = firefox
  return env
}
