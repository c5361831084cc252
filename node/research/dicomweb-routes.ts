// Research exports over DICOMweb (docs/api.md "Research exports over DICOMweb"): the project's
// researcher prepares an export (the same cohort, consent gating, de-identification and
// `research.export` uses as the zip) and pulls its de-identified instances with any DICOMweb
// client: QIDO-RS and WADO-RS under /dicomweb/research/:export, with the session or the export's
// own bearer token. Every request checks consent and approval again: an instance whose patient
// revoked the research consent, or whose hospital no longer approves, is gone from the answers.
import { Router } from '@koa/router'
import type { Context, Middleware, Next } from 'koa'
import type { Logger } from 'pino'
import { fromHex, toHex } from '../../protocol/bytes.ts'
import { HASH_BYTES } from '../../protocol/constants.ts'
import { MedichainError } from '../../protocol/errors.ts'
import type { ConsentRecord } from '../../ledger/queries/queries.ts'
import type { Clock, Ledger } from '../../ledger/types.ts'
import type { Auth, SessionUser } from '../auth/index.ts'
import { currentUser } from '../auth/index.ts'
import { ForbiddenError, UnauthenticatedError } from '../auth/errors.ts'
import { readJson } from '../auth/http/body.ts'
import { parseHexParam } from '../http/query.ts'
import type { Reader } from '../records/access.ts'
import { DICOMWEB_BASE, TOKEN_DEFAULT_TTL_MS, TOKEN_MAX_TTL_MS } from '../dicomweb/constants.ts'
import type { VisibleInstance } from '../dicomweb/instances.ts'
import { answerSearch } from '../dicomweb/qido.ts'
import { answerFrames, answerInstances, answerMetadata, answerRendered } from '../dicomweb/wado.ts'
import { researchConsentFor } from './cohort.ts'
import { ExportTokens } from './export-tokens.ts'
import type { Prepared, PreparedExports, PreparedInstance } from './prepared-exports.ts'
import type { Research } from './service.ts'

/** Base path of a prepared research export's DICOMweb service. */
export const RESEARCH_DICOMWEB_BASE = `${DICOMWEB_BASE}/research`

/** What the routes use. */
export interface ResearchDicomwebComponents {
  auth: Pick<Auth, 'requireUser' | 'accounts'>
  research: Pick<Research, 'export' | 'project'>
  prepared: PreparedExports
  tokens: ExportTokens
  ledger: Pick<Ledger, 'self' | 'queries'>
  clock: Clock
  logger: Logger
}

/** The prepared export a guarded request reads. */
const exportsOf = new WeakMap<Context, Prepared>()

function ttlOf (body: unknown): number {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { ttlMinutes?: unknown }
  if (b.ttlMinutes === undefined) return TOKEN_DEFAULT_TTL_MS
  if (typeof b.ttlMinutes !== 'number' || !Number.isInteger(b.ttlMinutes) || b.ttlMinutes < 1 || b.ttlMinutes > TOKEN_MAX_TTL_MS / 60_000) {
    throw new MedichainError('INVALID', `ttlMinutes: an integer from 1 to ${TOKEN_MAX_TTL_MS / 60_000}`)
  }
  return b.ttlMinutes * 60_000
}

/**
 * Guard of a prepared export's DICOMweb routes: its researcher's session, or a live token for
 * this very export (401 with `WWW-Authenticate: Bearer` without either; 403 for a token of
 * another export, another user's session, or a researcher signed in through another hospital).
 */
function requireExportReader (c: ResearchDicomwebComponents): Middleware {
  return async (ctx: Context, next: Next) => {
    const id = toHex(parseHexParam(ctx.params.export, 'export', HASH_BYTES))
    const header = ctx.get('authorization')
    let username: string
    try {
      if (/^bearer\s/i.test(header)) {
        const t = c.tokens.check(header.replace(/^bearer\s+/i, '').trim())
        if (t.exportId !== id) throw new ForbiddenError('this research export token is for another export')
        const account = await c.auth.accounts.get(t.username)
        if (account === undefined || account.status !== 'active') throw new UnauthenticatedError('the account of this research export token is no longer active')
        username = t.username
      } else {
        const user = currentUser(ctx)
        if (user === undefined) throw new UnauthenticatedError()
        if (user.role !== 'researcher' || user.remote !== undefined) throw new ForbiddenError('a research export is pulled by its researcher, signed in at their home hospital')
        username = user.username
      }
    } catch (err) {
      if (err instanceof UnauthenticatedError || (err instanceof Error && err.name === 'BadTokenError')) ctx.set('WWW-Authenticate', 'Bearer realm="dicomweb-research"')
      throw err
    }
    const prepared = c.prepared.get(username, id)
    if (prepared === undefined) throw new MedichainError('NOT_FOUND', 'no export with this id is prepared for you (expired, ended, or never prepared)')
    exportsOf.set(ctx, prepared)
    await next()
  }
}

/** The research exports' DICOMweb routes and the routes that prepare and end them. */
export function researchDicomwebRoutes (c: ResearchDicomwebComponents): Router {
  const router = new Router()
  const researcher = c.auth.requireUser('researcher')

  /** Instances still open: the patient's research consent live, the custodian's approval standing. */
  async function stillOpen (p: Prepared): Promise<PreparedInstance[]> {
    const project = await c.research.project(p.project)
    const approved = new Set((await c.ledger.queries.decisions(p.project)).filter(d => d.approve).map(d => toHex(d.hospital)))
    const consents = new Map<string, ConsentRecord[]>()
    const now = c.clock()
    const out: PreparedInstance[] = []
    for (const i of p.instances) {
      if (!approved.has(toHex(i.image.custodian))) continue
      const key = toHex(i.image.patient)
      let held = consents.get(key)
      if (held === undefined) consents.set(key, held = await c.ledger.queries.consentsOf(i.image.patient))
      if (researchConsentFor(held, i.image, project, c.ledger.self, now) !== undefined) out.push(i)
    }
    return out
  }

  router.post('/api/research/projects/:id/dicomweb', researcher, async (ctx) => {
    const user = currentUser(ctx) as SessionUser
    if (user.remote !== undefined) throw new ForbiddenError('exports are prepared at the researcher\'s home hospital')
    const ttl = ttlOf(await readJson(ctx))
    const project = parseHexParam(ctx.params.id, 'id', HASH_BYTES)
    const plan = await c.research.export(project, fromHex(user.signPub))
    const expires = c.clock() + ttl
    const p = await c.prepared.prepare({ username: user.username, researcher: fromHex(user.signPub) }, project, plan, expires)
    const token = c.tokens.issue(user.username, p.id, p.expires)
    c.logger.info({ export: p.id, images: p.instances.length }, 'research export prepared for DICOMweb')
    ctx.status = 201
    ctx.body = { export: p.id, base: `${RESEARCH_DICOMWEB_BASE}/${p.id}`, token, expires: p.expires, instances: p.instances.length, held: p.held, skipped: p.skipped }
  })

  router.delete('/api/research/dicomweb/:export', researcher, async (ctx) => {
    const user = currentUser(ctx) as SessionUser
    const id = toHex(parseHexParam(ctx.params.export, 'export', HASH_BYTES))
    c.tokens.endExport(id, user.username)
    if (!await c.prepared.end(user.username, id)) throw new MedichainError('NOT_FOUND', 'no export with this id is prepared for you')
    ctx.status = 204
  })

  const read = requireExportReader(c)
  const base = (ctx: Context): string => `${ctx.origin}${RESEARCH_DICOMWEB_BASE}/${ctx.params.export}`
  /** The open instances as the DICOMweb answers take them; each opens from the spool. */
  const visible = async (ctx: Context): Promise<{ list: VisibleInstance[], reads: { plaintext: (r: Reader, raw: { toString: () => string }) => Promise<{ stream: AsyncIterable<Uint8Array>, image: VisibleInstance['image'] }> } }> => {
    const p = exportsOf.get(ctx) as Prepared
    const open = await stillOpen(p)
    const list = open.map(i => ({ image: i.image, entry: { study: i.image.record ?? new Uint8Array(0), series: new Uint8Array(0), instance: new Uint8Array(0), patient: i.image.patient, header: i.header, stored: i.image.time } }))
    const byRaw = new Map(open.map(i => [i.image.raw.toString(), i]))
    return {
      list,
      reads: {
        plaintext: async (_r, raw) => {
          const i = byRaw.get(raw.toString())
          if (i === undefined) throw new MedichainError('NOT_FOUND', 'no such instance is open to you')
          const bytes = await c.prepared.read(p, i)
          return { stream: (async function * () { yield bytes })(), image: i.image }
        }
      }
    }
  }
  // The reader is the researcher; the spool needs no key of theirs, and no access.log is written:
  // the uses were logged as `research.export` when the export was prepared.
  const reader = (ctx: Context): Reader => {
    const p = exportsOf.get(ctx) as Prepared
    return { role: 'researcher', signPub: p.researcher, boxPub: new Uint8Array(32), hospital: c.ledger.self }
  }
  const R = `${RESEARCH_DICOMWEB_BASE}/:export`
  for (const [path, level] of [
    [`${R}/studies`, 'STUDY'], [`${R}/series`, 'SERIES'], [`${R}/instances`, 'IMAGE'],
    [`${R}/studies/:study/series`, 'SERIES'], [`${R}/studies/:study/instances`, 'IMAGE'], [`${R}/studies/:study/series/:series/instances`, 'IMAGE']
  ] as const) {
    router.get(path, read, async (ctx) => { answerSearch(ctx, (await visible(ctx)).list, level, base(ctx)) })
  }
  const instance = `${R}/studies/:study/series/:series/instances/:instance`
  for (const path of [`${R}/studies/:study`, `${R}/studies/:study/series/:series`, instance]) {
    router.get(path, read, async (ctx) => { const v = await visible(ctx); await answerInstances(ctx, v.reads, reader(ctx), v.list) })
    router.get(`${path}/metadata`, read, async (ctx) => { const v = await visible(ctx); await answerMetadata(ctx, v.reads, reader(ctx), v.list, base(ctx)) })
  }
  router.get(`${instance}/frames/:frames`, read, async (ctx) => { const v = await visible(ctx); await answerFrames(ctx, v.reads, reader(ctx), v.list) })
  router.get(`${instance}/rendered`, read, async (ctx) => { const v = await visible(ctx); await answerRendered(ctx, v.reads, reader(ctx), v.list) })
  return router
}

/** Ends a researcher's export tokens when their sessions end; exported for the peer's wiring. */
export function endTokensOnSessionsEnded (auth: Pick<Auth, 'events'>, tokens: ExportTokens): void {
  auth.events.addEventListener('sessions:ended', (e) => tokens.endAll((e as CustomEvent<{ username: string }>).detail.username))
}

