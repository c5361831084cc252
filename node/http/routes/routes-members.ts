// The admin console's membership routes (docs/design.md §3): list proposals with their approvals, propose
// admitting or removing a hospital (`member.propose`), and approve a proposal (`member.approve`).
// Both writes are signed by this hospital's key; a change takes effect once a quorum approved it.
import { Router } from '@koa/router'
import { multiaddr } from '@multiformats/multiaddr'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { ED25519_PUBLIC_KEY_BYTES, HASH_BYTES } from '../../../protocol/constants.ts'
import { InvalidRequestError, MedichainError, NotFoundError } from '../../../protocol/errors.ts'
import { decodeBlock } from '../../../protocol/chain/block.ts'
import { expectArray, expectEnum, expectFields, expectString, expectUint } from '../../../protocol/schema.ts'
import type { ProposalRecord } from '../../../ledger/queries/queries.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { readJson } from '../../auth/http/body.ts'
import type { Auth } from '../../auth/index.ts'
import { pageOf, parsePage } from '../page.ts'
import { expectQueryKeys, parseHexParam } from '../query.ts'

/** Longest member name and most addresses a proposal may carry (the `member.propose` schema's bounds). */
export const MAX_MEMBER_NAME = 128
export const MAX_MEMBER_ADDRS = 8

/** Page size of `GET /api/members/proposals` when `limit` is absent, and the largest allowed. */
export const DEFAULT_PROPOSALS_PER_PAGE = 100
export const MAX_PROPOSALS_PER_PAGE = 500

/** Thrown when a proposal or approval would change nothing: answered 409 `CONFLICT`. */
export class MembershipConflictError extends MedichainError {
  constructor (message: string) {
    super('CONFLICT', message)
    this.name = 'MembershipConflictError'
  }
}

/** What the membership routes use. */
export interface MemberRoutesComponents {
  ledger: Ledger
  auth: Pick<Auth, 'requireUser'>
}

/** A checked `POST /api/members/proposals` body. */
interface ProposeInput { action: 'add' | 'remove', member: Uint8Array, name: string | undefined, addrs: string[] }

/** A checked resolution of an equivocation: keep the block `keep` of `member` at `height`. */
interface ResolveInput { action: 'resolve', member: Uint8Array, height: number, keep: Uint8Array }

/** Checks a `resolve` body (`member.resolve`): shape errors are `BAD_SCHEMA`, bad hex `INVALID`. */
function parseResolveBody (v: unknown): ResolveInput {
  const f = expectFields(v, 'body', ['action', 'member', 'height', 'keep'])
  return {
    action: 'resolve',
    member: parseHexParam(expectString(f.member, 'body.member', 128), 'member', ED25519_PUBLIC_KEY_BYTES),
    height: expectUint(f.height, 'body.height'),
    keep: parseHexParam(expectString(f.keep, 'body.keep', 128), 'keep', HASH_BYTES)
  }
}

/** Checks the body: shape errors are `BAD_SCHEMA`, bad hex or multiaddrs `INVALID` (both 400). */
export function parseProposeBody (v: unknown): ProposeInput | ResolveInput {
  if (v !== null && typeof v === 'object' && 'action' in v && v.action === 'resolve') return parseResolveBody(v)
  const f = expectFields(v, 'body', ['action', 'member'], ['name', 'addrs'])
  const action = expectEnum(f.action, 'body.action', ['add', 'remove'])
  const member = parseHexParam(expectString(f.member, 'body.member', 128), 'member', ED25519_PUBLIC_KEY_BYTES)
  const name = f.name === undefined ? undefined : expectString(f.name, 'body.name', MAX_MEMBER_NAME).trim()
  const addrs = f.addrs === undefined ? [] : expectArray(f.addrs, 'body.addrs', MAX_MEMBER_ADDRS, (x, p) => expectString(x, p, 256))
  for (const a of addrs) {
    try {
      multiaddr(a)
    } catch {
      throw new InvalidRequestError(`addrs: ${JSON.stringify(a.slice(0, 40))} is not a multiaddr`)
    }
  }
  if (action === 'add' && (name === undefined || name === '')) throw new InvalidRequestError('name: required when adding a member')
  return { action, member, name, addrs }
}

function renderProposal (p: ProposalRecord, names: Map<string, string>): Record<string, unknown> {
  return {
    id: p.id,
    action: p.action,
    member: toHex(p.member),
    name: p.name,
    addrs: p.addrs,
    height: p.height ?? null,
    keep: p.keep === undefined ? null : toHex(p.keep),
    proposer: toHex(p.proposer),
    proposerName: names.get(toHex(p.proposer)) ?? null,
    time: p.time,
    approvers: p.approvers,
    enacted: p.enacted
  }
}

/**
 * Files a `member.resolve` after checking it names evidence held here and one of its two blocks:
 * anything else could never take effect usefully (409 CONFLICT, 404 NOT_FOUND).
 */
async function proposeResolution (ledger: Ledger, input: ResolveInput, current: ReturnType<Ledger['members']>[number] | undefined): Promise<{ txId: Uint8Array }> {
  if (current === undefined) throw new NotFoundError('no member has this key')
  if (current.resolutions.some(r => r.height === input.height)) throw new MembershipConflictError('this equivocation is already resolved')
  const evidence = (await ledger.evidence()).find(e => toHex(e.author) === toHex(input.member) && e.height === input.height)
  if (evidence === undefined) throw new NotFoundError('this peer holds no evidence of an equivocation by this member at this height')
  if (!evidence.blocks.some(b => toHex(decodeBlock(b).hash) === toHex(input.keep))) throw new InvalidRequestError('keep: not the hash of either block of the evidence')
  return await ledger.submitOwn('member.resolve', { member: input.member, height: input.height, keep: input.keep })
}

/** Builds the router for `/api/members/proposals*`; every route needs a signed-in admin. */
export function memberRoutes (components: MemberRoutesComponents): Router {
  const { ledger, auth } = components
  const router = new Router({ prefix: '/api/members/proposals' })
  const admin = auth.requireUser('admin')

  router.get('/', admin, async (ctx) => {
    expectQueryKeys(ctx.query, ['limit', 'cursor'])
    const page = parsePage(ctx.query, 'ns', DEFAULT_PROPOSALS_PER_PAGE, MAX_PROPOSALS_PER_PAGE)
    const names = new Map(ledger.members().map(m => [toHex(m.key), m.name]))
    // Oldest first, by (time, id), the order membership replays them in.
    const shown = pageOf(await ledger.queries.proposals(), p => [p.time, p.id], page, 'asc')
    ctx.body = { proposals: shown.items.map(p => renderProposal(p, names)), next: shown.next }
  })

  router.post('/', admin, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const input = parseProposeBody(await readJson(ctx))
    const current = ledger.members().find(m => toHex(m.key) === toHex(input.member))
    if (input.action === 'resolve') {
      ctx.status = 201
      ctx.body = { id: toHex((await proposeResolution(ledger, input, current)).txId) }
      return
    }
    if (input.action === 'add' && current?.status === 'active') throw new MembershipConflictError('this hospital is already an active member')
    if (input.action === 'remove' && current?.status !== 'active') throw new MembershipConflictError('only an active member can be removed')
    const loc = await ledger.submitOwn('member.propose', {
      action: input.action,
      member: input.member,
      // A removal names the member as the ledger knows it, so approvers see whom it concerns.
      name: input.name ?? current?.name ?? '',
      addrs: input.addrs
    })
    ctx.status = 201
    ctx.body = { id: toHex(loc.txId) }
  })

  router.post('/:id/approve', admin, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const id = toHex(parseHexParam(ctx.params.id, 'id', HASH_BYTES))
    const proposal = (await ledger.queries.proposals()).find(p => p.id === id)
    if (proposal === undefined) throw new NotFoundError(`no membership proposal ${id.slice(0, 12)}… on this ledger`)
    const self = toHex(ledger.self)
    if (toHex(proposal.proposer) === self) throw new MembershipConflictError('this hospital made the proposal: its vote is already counted')
    if (proposal.approvers.includes(self)) throw new MembershipConflictError('this hospital has already approved the proposal')
    if (proposal.enacted) throw new MembershipConflictError('the proposal is already in effect')
    const loc = await ledger.submitOwn('member.approve', { proposal: fromHex(id) })
    ctx.status = 201
    ctx.body = { id: toHex(loc.txId) }
  })

  return router
}
