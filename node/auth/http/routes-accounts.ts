// `/api/accounts/*`: the hospital admin's account list, approval, lock and unlock, and a key
// lookup any signed-in user may make (a patient's browser finds a grantee's hospital to wrap a
// consent for; pending staff are shown to admins only). None of them returns a password hash or a vault.
import type { Router } from '@koa/router'
import type { Middleware } from 'koa'
import { toHex } from '../../../protocol/bytes.ts'
import { ED25519_PUBLIC_KEY_BYTES } from '../../../protocol/constants.ts'
import { InvalidRequestError, NotFoundError } from '../../../protocol/errors.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { expectQueryKeys, parseHexParam, parseUintParam, queryValue } from '../../http/query.ts'
import type { Accounts } from '../accounts/accounts.ts'
import type { AccountStore } from '../accounts/store.ts'
import type { Credentials } from '../accounts/credentials.ts'
import { currentUser } from './middleware.ts'
import type { SessionStore } from '../sessions/sessions.ts'
import type { SignIn } from '../sessions/sign-in.ts'
import { ACCOUNT_STATUSES } from '../types.ts'
import type { AccountRecord, AccountStatus } from '../types.ts'
import { parseSignUp, parseUsername } from './validate.ts'
import { readJson } from './body.ts'
import { fromHex } from '../../../protocol/bytes.ts'
import { SchemaError } from '../../../protocol/errors.ts'
import { txFromBase64 } from '../../../protocol/chain/tx-transport.ts'
import { patientIdOf } from '../../../protocol/chain/tx.ts'

/** Largest page of `GET /api/accounts`. */
export const MAX_ACCOUNTS_PER_PAGE = 1000

/** Page size of `GET /api/accounts` when `limit` is absent. */
export const DEFAULT_ACCOUNTS_PER_PAGE = 100

/** What the account routes use. */
export interface AccountRoutesDeps {
  accounts: Accounts
  store: AccountStore
  sessions: SessionStore
  signIn: SignIn
  credentials: Credentials
  ledger: Ledger
  requireUser: Middleware
  requireAdmin: Middleware
}

/** An account as the admin list shows it; `lockedUntil` is sign-in's lockout, or 0. */
function summary (r: AccountRecord, lockedUntil = 0): object {
  return {
    username: r.username,
    role: r.role,
    status: r.status,
    signPub: r.signPub,
    boxPub: r.boxPub,
    createdAt: r.createdAt,
    registeredTx: r.registeredTx,
    lockedUntil: lockedUntil === 0 ? null : lockedUntil
  }
}

function parseStatus (v: string | undefined): AccountStatus | undefined {
  if (v === undefined) return undefined
  const status = ACCOUNT_STATUSES.find(s => s === v)
  if (status === undefined) throw new InvalidRequestError(`status: expected one of ${ACCOUNT_STATUSES.join(', ')}`)
  return status
}

/** Adds the `/accounts/*` routes to a router mounted at `/api`. */
export function addAccountRoutes (router: Router, d: AccountRoutesDeps): void {
  router.get('/accounts', d.requireAdmin, async (ctx) => {
    expectQueryKeys(ctx.query, ['status', 'after', 'limit'])
    const status = parseStatus(queryValue(ctx.query, 'status'))
    const afterRaw = queryValue(ctx.query, 'after')
    const after = afterRaw === undefined ? undefined : parseUsername(afterRaw, 'after')
    const limit = parseUintParam(queryValue(ctx.query, 'limit'), 'limit', DEFAULT_ACCOUNTS_PER_PAGE, MAX_ACCOUNTS_PER_PAGE)
    const page = await d.store.list({ status, after, limit })
    ctx.body = { accounts: page.accounts.map(r => summary(r, d.signIn.lockedUntil(r.username))), next: page.next }
  })

  router.get('/accounts/by-key/:signPub', d.requireUser, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const signPub = parseHexParam(ctx.params.signPub, 'signPub', ED25519_PUBLIC_KEY_BYTES)
    const local = await d.store.byKey(toHex(signPub))
    // Staff awaiting approval are the admin's business: to anyone else they do not exist yet.
    if (local !== undefined && (local.status !== 'pending' || currentUser(ctx)?.role === 'admin')) {
      ctx.body = { role: local.role, boxPub: local.boxPub, hospital: local.hospital, status: local.status }
      return
    }
    // Users of other hospitals are known from their `account.register` on the ledger.
    const registered = await d.ledger.queries.account(signPub)
    if (registered === undefined) throw new NotFoundError('no account has this key')
    ctx.body = { role: registered.role, boxPub: toHex(registered.box), hospital: toHex(registered.hospital), status: 'active' }
  })

  // Assisted recovery (issue 16.3): the new key's account, made by an admin who checked the
  // patient in person; the body is a sign-up body plus `rekey`, the signed patient.rekey (base64).
  router.post('/accounts/recovered', d.requireAdmin, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const body = await readJson(ctx)
    if (typeof body !== 'object' || body === null || !('rekey' in body)) throw new SchemaError('rekey: expected the signed patient.rekey transaction')
    const { rekey, ...signUp } = body as Record<string, unknown>
    const dtx = txFromBase64(rekey)
    if (dtx.tx.type !== 'patient.rekey') throw new SchemaError('rekey: expected a patient.rekey transaction')
    const record = await d.accounts.signUpRecovered(parseSignUp(signUp), dtx.tx)
    ctx.status = 201
    ctx.body = { username: record.username, patientId: toHex(patientIdOf(fromHex(record.signPub))), rekey: record.registeredTx }
  })

  router.post('/accounts/:username/approve', d.requireAdmin, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    ctx.body = summary(await d.accounts.approve(parseUsername(ctx.params.username)))
  })

  router.post('/accounts/:username/lock', d.requireAdmin, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const username = parseUsername(ctx.params.username)
    const record = await d.accounts.lock(username, currentUser(ctx)?.username ?? '')
    await d.credentials.endSessions(username, 'lock')
    ctx.body = summary(record)
  })

  // Signs the user out everywhere (a lost phone, a shared computer) without locking the account.
  router.post('/accounts/:username/end-sessions', d.requireAdmin, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    ctx.body = { sessionEpoch: await d.credentials.endSessions(parseUsername(ctx.params.username), 'admin') }
  })

  router.post('/accounts/:username/unlock', d.requireAdmin, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const username = parseUsername(ctx.params.username)
    const record = await d.accounts.unlock(username, d.signIn.lockedUntil(username) > 0)
    d.signIn.reset(username)
    ctx.body = summary(record)
  })
}
