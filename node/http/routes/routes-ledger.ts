// Read-only ledger routes: health, heads, blocks, one transaction with its inclusion proof, the
// state root, members and equivocation evidence. Nothing here returns PHI: the ledger holds none.
import { Router } from '@koa/router'
import { equals, toHex } from '../../../protocol/bytes.ts'
import { HASH_BYTES, ED25519_PUBLIC_KEY_BYTES } from '../../../protocol/constants.ts'
import { NotFoundError } from '../../../protocol/errors.ts'
import { decodeTx } from '../../../protocol/chain/tx.ts'
import type { Clock, Ledger } from '../../../ledger/types.ts'
import { pageOf, parsePage } from '../page.ts'
import { expectQueryKeys, parseHexParam, parseUintParam, queryValue } from '../query.ts'
import { renderBlock, renderEvidence, renderHead, renderMember, renderTx } from '../render.ts'

/** Largest page of `GET /api/ledger/blocks`: bounds the work one request can ask for. */
export const MAX_BLOCKS_PER_PAGE = 500

/** Page size of `GET /api/ledger/blocks` when `limit` is absent. */
export const DEFAULT_BLOCKS_PER_PAGE = 100

/** The slice of the p2p service these routes read. */
export interface ConnectedMembers {
  /** Hex public keys of members with a live connection. */
  connectedMembers(): string[]
}

/** What the ledger routes use. */
export interface LedgerRoutesComponents {
  ledger: Ledger
  p2p?: ConnectedMembers
  clock: Clock
  /** Extra /api/health fields from other services. */
  health?: () => Record<string, string | number | boolean | null>
}

/** Builds the router for `/api/health`, `/api/ledger/*` and `/api/members`. */
export function ledgerRoutes (components: LedgerRoutesComponents): Router {
  const { ledger, p2p, clock } = components
  const startedAt = clock()
  const router = new Router({ prefix: '/api' })
  const connected = (): Set<string> => new Set(p2p?.connectedMembers() ?? [])

  router.get('/health', (ctx) => {
    expectQueryKeys(ctx.query, [])
    const members = ledger.members()
    const live = connected()
    // Why the peer cannot take writes now; `status` is `degraded` while there is any reason.
    const fault = ledger.storeFault()
    const reasons = fault === null ? [] : [{ code: fault.code, message: fault.message, since: fault.since }]
    ctx.body = {
      status: reasons.length === 0 ? 'ok' : 'degraded',
      reasons,
      ledger: toHex(ledger.id),
      self: toHex(ledger.self),
      blocks: ledger.size(),
      members: members.filter(m => m.status === 'active').length,
      connected: members.map(m => toHex(m.key)).filter(k => live.has(k)),
      uptimeMs: Math.max(0, clock() - startedAt),
      ...components.health?.()
    }
  })

  router.get('/ledger/heads', (ctx) => {
    expectQueryKeys(ctx.query, [])
    ctx.body = { heads: ledger.heads().map(renderHead) }
  })

  router.get('/ledger/blocks', async (ctx) => {
    expectQueryKeys(ctx.query, ['author', 'from', 'limit'])
    const author = parseHexParam(queryValue(ctx.query, 'author'), 'author', ED25519_PUBLIC_KEY_BYTES)
    const from = parseUintParam(queryValue(ctx.query, 'from'), 'from', 0)
    const limit = parseUintParam(queryValue(ctx.query, 'limit'), 'limit', DEFAULT_BLOCKS_PER_PAGE, MAX_BLOCKS_PER_PAGE)
    const known = ledger.members().some(m => equals(m.key, author)) || ledger.heads().some(h => equals(h.author, author))
    if (!known) throw new NotFoundError(`no chain for author ${toHex(author).slice(0, 12)}…`)
    const blocks = limit === 0 ? [] : await ledger.blocks(author, from, limit)
    ctx.body = { author: toHex(author), from, limit, blocks: blocks.map(renderBlock) }
  })

  router.get('/ledger/tx/:id', async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const id = parseHexParam(ctx.params.id, 'id', HASH_BYTES)
    const found = await ledger.tx(id)
    if (found === undefined) throw new NotFoundError(`no transaction ${toHex(id).slice(0, 12)}… on this ledger`)
    ctx.body = renderTx(decodeTx(found.proof.tx), found.location, found.proof)
  })

  router.get('/ledger/state-root', async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const blocks = ledger.size()
    ctx.body = { root: toHex(await ledger.stateRoot()), blocks }
  })

  router.get('/members', (ctx) => {
    expectQueryKeys(ctx.query, [])
    const live = connected()
    ctx.body = { members: ledger.members().map(m => renderMember(m, ledger.self, live)) }
  })

  router.get('/ledger/evidence', async (ctx) => {
    expectQueryKeys(ctx.query, ['limit', 'cursor'])
    const page = parsePage(ctx.query, 'sn', DEFAULT_BLOCKS_PER_PAGE, MAX_BLOCKS_PER_PAGE)
    const shown = pageOf(await ledger.evidence(), e => [toHex(e.author), e.height], page, 'asc')
    ctx.body = { evidence: shown.items.map(renderEvidence), next: shown.next }
  })

  return router
}
