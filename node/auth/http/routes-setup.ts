// `POST /api/setup/link`: a new one-time admin setup link for a request signed with the hospital
// key (setup-request.ts). The CLI's `medichain admin setup-link` sends it, so the IT team can make
// a first admin whose link was lost, or a new admin when no admin can sign in, without a restart.
import type { Router } from '@koa/router'
import { fromHex } from '../../../protocol/bytes.ts'
import { expectFields, expectUint } from '../../../protocol/schema.ts'
import { SchemaError } from '../../../protocol/errors.ts'
import { nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { expectQueryKeys } from '../../http/query.ts'
import type { Accounts } from '../accounts/accounts.ts'
import { readJson } from './body.ts'
import { BadSetupRequestError } from '../errors.ts'
import { checkSetupRequest } from './setup-request.ts'
import type { Clock } from '../../../ledger/types.ts'

/** What the setup route uses. */
export interface SetupRoutesDeps { accounts: Accounts, ledger: Ledger, clock: Clock }

/** Adds `POST /setup/link` to a router mounted at `/api`. */
export function addSetupRoutes (router: Router, d: SetupRoutesDeps): void {
  router.post('/setup/link', async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const f = expectFields(await readJson(ctx), 'body', ['time', 'sig'])
    const time = expectUint(f.time, 'time')
    if (typeof f.sig !== 'string' || !/^[0-9a-f]{128}$/.test(f.sig)) throw new SchemaError('sig: expected 64 bytes of lower-case hex')
    if (!checkSetupRequest(nodeVerify, d.ledger.self, d.ledger.id, time, fromHex(f.sig), d.clock())) throw new BadSetupRequestError()
    const token = await d.accounts.issueSetupToken()
    ctx.status = 201
    // The caller builds the link from the address it reached this peer at (behind a proxy, the
    // peer cannot know it).
    ctx.body = { token }
  })
}
