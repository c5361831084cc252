// Shared setup of the auth tests: a real ledger and a real koa server on 127.0.0.1 port 0 with
// auth mounted, a clock the test moves by hand, client-side user keys with their proof of
// possession, and a tiny fetch wrapper that keeps the session cookie and CSRF token.
import nacl from 'tweetnacl'
import { toHex } from '../../../protocol/bytes.ts'
import type { Identity } from '../../../protocol/crypto/ed25519.ts'
import { accountPopBytes } from '../../../protocol/chain/tx.ts'
import type { Role } from '../../../protocol/chain/tx.ts'
import { nodeIdentity, randomSeed } from '../../../ledger/verify/node-crypto.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { createAuth } from '../../../node/auth/index.ts'
import type { Auth, AuthInit } from '../../../node/auth/index.ts'
import { createHttpServer } from '../../../node/http/server.ts'
import type { HttpServer } from '../../../node/http/server.ts'
import { createLogger } from '../../../node/logger.ts'
import type { Logger } from '../../../node/logger.ts'
import { cleanup, openLedger, tempDir, testConsortium } from '../../helpers/ledger/fixture.ts'

/** A clock that only moves when the test says so. */
export interface TestClock { (): number, advance(ms: number): void }

/** Starts at a fixed recent time so ledger block times stay plausible. */
export function testClock (start = Date.now()): TestClock {
  let now = start
  const clock = (): number => now
  clock.advance = (ms: number): void => { now += ms }
  return clock
}

/** One running peer slice: ledger, HTTP server and auth. */
export interface AuthHarness { url: string, auth: Auth, ledger: Ledger, clock: TestClock, data: string, http: HttpServer }

const running: Array<{ auth: Auth, http: HttpServer }> = []

/** Starts a one-hospital ledger, an HTTP server and auth with scrypt N = 2^14 (unless `init` says otherwise). */
export async function startAuth (init: Partial<AuthInit> = {}, opts: { logger?: Logger, trustProxy?: string[] } = {}): Promise<AuthHarness> {
  const clock = testClock()
  const { genesis, hospitals } = testConsortium(1)
  const ledger = await openLedger(genesis, hospitals[0], { clock })
  const logger = opts.logger ?? createLogger({ silent: true })
  const data = init.data ?? await tempDir('medichain-auth-')
  const auth = createAuth({ scryptN: 2 ** 14, ...init, data })({ ledger, logger, clock })
  const http = createHttpServer({ host: '127.0.0.1', port: 0, trustProxy: opts.trustProxy, statusByCode: auth.statusByCode })({ ledger, logger, clock })
  auth.mount(http.app)
  await auth.start()
  await http.start()
  running.push({ auth, http })
  return { url: http.url, auth, ledger, clock, data, http }
}

/** Stops every harness, then the ledgers and temp folders. */
export async function stopAll (): Promise<void> {
  for (const { auth, http } of running.splice(0)) {
    await http.stop()
    await auth.stop()
  }
  await cleanup()
}

/** A user's client-side keys. */
export interface TestUser { identity: Identity, box: Uint8Array }

/** Fresh random keys, as a browser would make them. */
export function newUser (): TestUser {
  return { identity: nodeIdentity(randomSeed()), box: nacl.box.keyPair().publicKey }
}

/** A sign-up body for `user`, with a valid proof of possession for this ledger and hospital. */
export function signUpBody (ledger: Ledger, user: TestUser, username: string, role: Role, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const pop = user.identity.sign(accountPopBytes(ledger.id, { user: user.identity.publicKey, box: user.box, role, hospital: ledger.self }))
  return {
    username,
    password: 'correct horse battery staple',
    role,
    keys: { sign: toHex(user.identity.publicKey), box: toHex(user.box) },
    pop: toHex(pop),
    vault: { v: 1, kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: 1000, salt: 'AAAA' }, iv: 'AAAA', check: 'AAAA', ct: 'AAAA' },
    ...extra
  }
}

/** A response with its JSON body parsed (null when empty). */
export interface Reply { status: number, body: Record<string, unknown> | null, headers: Headers }

/** Options of one request. */
export interface CallOptions {
  method?: string
  json?: unknown
  /** Raw body with its own content type. */
  raw?: { body: string | Uint8Array<ArrayBuffer>, type?: string }
  cookie?: string
  csrf?: string
  headers?: Record<string, string>
}

/** One HTTP request to the harness. */
export async function call (url: string, path: string, opts: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers }
  let body: string | Uint8Array<ArrayBuffer> | undefined
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(opts.json)
  } else if (opts.raw !== undefined) {
    if (opts.raw.type !== undefined) headers['content-type'] = opts.raw.type
    body = opts.raw.body
  }
  if (opts.cookie !== undefined) headers.cookie = opts.cookie
  if (opts.csrf !== undefined) headers['x-csrf-token'] = opts.csrf
  const res = await fetch(`${url}${path}`, { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, body })
  const text = await res.text()
  return { status: res.status, body: text === '' ? null : JSON.parse(text) as Record<string, unknown>, headers: res.headers }
}

/** The `mc_session=…` pair of a response's Set-Cookie, for the next request's Cookie header. */
export function sessionCookieOf (reply: Reply): string {
  const set = reply.headers.getSetCookie().find(c => c.startsWith('mc_session=') && !c.includes('Max-Age=0'))
  if (set === undefined) throw new Error(`no session cookie in the reply (status ${reply.status})`)
  return set.split(';')[0]
}

/** A signed-in browser: its cookie and CSRF token. */
export interface Browser { cookie: string, csrf: string, body: Record<string, unknown> }

/** Signs in and returns the cookie and CSRF token; throws unless the answer is 200. */
export async function signIn (url: string, username: string, password = 'correct horse battery staple'): Promise<Browser> {
  const reply = await call(url, '/api/auth/sign-in', { json: { username, password } })
  if (reply.status !== 200 || reply.body === null) throw new Error(`sign-in failed: ${reply.status} ${JSON.stringify(reply.body)}`)
  return { cookie: sessionCookieOf(reply), csrf: String(reply.body.csrfToken), body: reply.body }
}

/** Signs up `username` with fresh keys; throws unless the answer is 201. */
export async function signUp (h: AuthHarness, username: string, role: Role, extra: Record<string, unknown> = {}): Promise<{ user: TestUser, reply: Reply }> {
  const user = newUser()
  const reply = await call(h.url, '/api/auth/sign-up', { json: signUpBody(h.ledger, user, username, role, extra) })
  if (reply.status !== 201) throw new Error(`sign-up failed: ${reply.status} ${JSON.stringify(reply.body)}`)
  return { user, reply }
}

/** The setup token of a harness's setup link. */
export function setupToken (h: AuthHarness): string {
  const link = h.auth.setupLink(h.url)
  if (link === undefined) throw new Error('no setup link')
  return new URL(link).hash.replace(/^#token=/, '')
}

/** Creates the admin with the setup token and signs it in. */
export async function adminBrowser (h: AuthHarness, username = 'admin'): Promise<Browser> {
  await signUp(h, username, 'admin', { setupToken: setupToken(h) })
  return await signIn(h.url, username)
}
