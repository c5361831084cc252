// Research routes (docs/api.md "Research"): researchers create projects and export them,
// admins decide for their hospital, patients read where their images were used. Projects and
// decisions arrive signed by the user's own key; the peer checks who signed before submitting.
import { Readable } from 'node:stream'
import { Router } from '@koa/router'
import type { Context } from 'koa'
import { equals, fromHex, toHex } from '../../protocol/bytes.ts'
import { HASH_BYTES } from '../../protocol/constants.ts'
import { InvalidRequestError, MedichainError, NotFoundError } from '../../protocol/errors.ts'
import { txFromBase64 } from '../../protocol/chain/tx-transport.ts'
import type { Ledger } from '../../ledger/types.ts'
import type { ProjectRecord } from '../../ledger/queries/research.ts'
import type { Auth, SessionUser } from '../auth/index.ts'
import { currentUser } from '../auth/index.ts'
import { readJson } from '../auth/http/body.ts'
import { parseHexParam } from '../http/query.ts'
import type { Research } from './service.ts'
import type { Logger } from 'pino'
import { zipStream } from './zip.ts'
import type { ZipEntry } from './zip.ts'

/** HTTP statuses of the research errors. */
export const RESEARCH_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  TOO_MANY_EXPORTS: 409,
  DEID_BAD_INPUT: 422,
  UNKNOWN_PROJECT: 404,
  NOT_PROJECT_HOSPITAL: 403
}

const signerOf = (ctx: Context): Uint8Array => fromHex((currentUser(ctx) as SessionUser).signPub)
const idParam = (ctx: Context): Uint8Array => parseHexParam(ctx.params.id, 'id', HASH_BYTES)

/** Builds the research router. */
export function researchRoutes (c: { auth: Auth, research: Research, ledger: Pick<Ledger, 'queries' | 'members'>, logger: Logger }): Router {
  const router = new Router()
  const researcher = c.auth.requireUser('researcher')
  const staff = c.auth.requireUser('researcher', 'admin')
  const names = (): Map<string, string> => new Map(c.ledger.members().map(m => [toHex(m.key), m.name]))

  const render = async (p: ProjectRecord): Promise<Record<string, unknown>> => {
    const n = names()
    const decisions = await c.ledger.queries.decisions(p.id)
    return {
      id: toHex(p.id), title: p.title, purpose: p.purpose, criteria: p.criteria, options: p.options, researcher: toHex(p.researcher), time: p.time,
      decisions: decisions.map(d => ({ hospital: toHex(d.hospital), hospitalName: n.get(toHex(d.hospital)) ?? null, approve: d.approve, time: d.time }))
    }
  }

  /** Reads `{ tx }`: a transaction of `type` signed by the session's own key. */
  const signed = async (ctx: Context, type: 'research.project' | 'research.decision'): Promise<ReturnType<typeof txFromBase64>> => {
    const body = await readJson(ctx, 64 * 1024) as { tx?: unknown }
    const dtx = txFromBase64(body?.tx)
    if (dtx.tx.type !== type) throw new InvalidRequestError(`expected a ${type} transaction`)
    if (!equals(dtx.tx.signer, signerOf(ctx))) throw new MedichainError('FORBIDDEN', `a ${type} must be signed by the signed-in user`)
    return dtx
  }

  router.get('/api/research/next-seq', staff, async (ctx) => {
    ctx.body = { nextSeq: await c.ledger.queries.lastSeq(signerOf(ctx)) + 1 }
  })

  router.get('/api/research/projects', staff, async (ctx) => {
    const me = signerOf(ctx)
    const all = await c.ledger.queries.projects()
    // Admins see every project to decide on; a researcher sees their own.
    const mine = (currentUser(ctx) as SessionUser).role === 'admin' ? all : all.filter(p => equals(p.researcher, me))
    ctx.body = { projects: await Promise.all(mine.map(render)) }
  })

  // Any signed-in user (a patient choosing what a research consent names) reads the titles and
  // purposes: the researcher's words about the study, never about a patient.
  router.get('/api/research/projects/open', c.auth.requireUser(), async (ctx) => {
    ctx.body = { projects: (await c.ledger.queries.projects()).map(p => ({ id: toHex(p.id), title: p.title, purpose: p.purpose })) }
  })

  router.post('/api/research/projects', researcher, async (ctx) => {
    const loc = await c.research.submit((await signed(ctx, 'research.project')).tx)
    ctx.status = 201
    ctx.body = { id: toHex(loc.txId) }
  })

  router.get('/api/research/projects/:id', staff, async (ctx) => {
    ctx.body = await render(await c.research.project(idParam(ctx)))
  })

  router.post('/api/research/projects/:id/decisions', c.auth.requireUser('admin'), async (ctx) => {
    const dtx = await signed(ctx, 'research.decision')
    if (dtx.tx.type !== 'research.decision' || !equals(dtx.tx.body.project, idParam(ctx))) throw new InvalidRequestError('the decision names another project')
    const loc = await c.research.submit(dtx.tx)
    ctx.status = 201
    ctx.body = { id: toHex(loc.txId) }
  })

  router.get('/api/research/projects/:id/cohort', researcher, async (ctx) => {
    ctx.body = await c.research.counts(idParam(ctx), signerOf(ctx))
  })

  router.get('/api/research/projects/:id/exports', researcher, async (ctx) => {
    const p = await c.research.project(idParam(ctx))
    if (!equals(p.researcher, signerOf(ctx))) throw new MedichainError('FORBIDDEN', 'only the researcher who created the project sees its exports')
    // One export may span several ledger transactions: grouped by export id, first time kept.
    const byId = new Map<string, { export: string, time: number, images: number, txs: string[] }>()
    for (const e of await c.ledger.queries.exportsOf(p.id)) {
      const key = toHex(e.export)
      const row = byId.get(key) ?? { export: key, time: e.time, images: 0, txs: [] }
      row.images += e.count
      row.txs.push(toHex(e.tx))
      byId.set(key, row)
    }
    ctx.body = { exports: [...byId.values()] }
  })

  // The archive streams as it is made (no Content-Length): X-Medichain-Cohort gives the number of
  // cohort images for a count-based progress bar, and manifest.json, last, says what was held or
  // skipped. A client that goes away stops the export before its next image or batch.
  router.post('/api/research/projects/:id/export', researcher, async (ctx) => {
    const plan = await c.research.export(idParam(ctx), signerOf(ctx))
    const id = toHex(plan.exportId)
    const abort = new AbortController()
    let images = 0
    ctx.res.once('close', () => { if (!ctx.res.writableFinished) abort.abort() })
    async function * counted (): AsyncGenerator<ZipEntry> {
      for await (const e of plan.entries(abort.signal)) {
        if (e.name.endsWith('.dcm')) images++
        yield e
      }
    }
    async function * archive (): AsyncGenerator<Uint8Array> {
      try {
        for await (const piece of zipStream(counted())) {
          if (abort.signal.aborted) break
          yield piece
        }
      } finally {
        // Uses logged for a batch in flight stay logged: the ledger errs on the side of telling.
        if (abort.signal.aborted) c.logger.info({ export: id, images }, 'research export aborted by the client')
        else c.logger.info({ export: id, images }, 'research export ended')
      }
    }
    ctx.set('Content-Type', 'application/zip')
    ctx.set('Content-Disposition', `attachment; filename="research-${id.slice(0, 16)}.zip"`)
    ctx.set('Cache-Control', 'private, no-store')
    ctx.set('X-Medichain-Export', id)
    ctx.set('X-Medichain-Cohort', String(plan.total))
    const body = Readable.from(archive())
    // A failure mid-stream (headers already sent) ends the response short; the client sees a
    // broken download, and the peer logs it. A cancel destroys the stream too
    // (ERR_STREAM_PREMATURE_CLOSE): the client's choice, not a failure.
    body.on('error', (err) => {
      if (!abort.signal.aborted) c.logger.warn({ export: id, code: (err as { code?: string }).code, images }, 'research export ended early')
    })
    ctx.body = body
  })

  const admin = c.auth.requireUser('admin')
  router.get('/api/research/reviews', admin, async (ctx) => {
    ctx.body = { reviews: c.research.reviews.waiting().map(r => ({ ...r, preview: c.research.reviews.preview(r.project, r.image) !== undefined })) }
  })
  router.get('/api/research/reviews/:id/:cid/preview', admin, async (ctx) => {
    const png = c.research.reviews.preview(toHex(idParam(ctx)), ctx.params.cid)
    if (png === undefined) throw new NotFoundError('no preview here: the next export of the project makes it again')
    ctx.set('Content-Type', 'image/png')
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = Buffer.from(png)
  })
  router.post('/api/research/reviews/:id/:cid', admin, async (ctx) => {
    const body = await readJson(ctx) as { release?: unknown }
    if (typeof body?.release !== 'boolean') throw new InvalidRequestError('release: expected true or false')
    ctx.body = await c.research.decideReview(toHex(idParam(ctx)), ctx.params.cid, body.release)
  })

  router.get('/api/me/research', c.auth.requireUser('patient'), async (ctx) => {
    const me = currentUser(ctx) as SessionUser
    const uses = await c.ledger.queries.researchUsesOf(fromHex(me.patientId as string))
    const n = names()
    const titles = new Map<string, string>()
    for (const u of uses) {
      const key = toHex(u.project)
      if (!titles.has(key)) titles.set(key, (await c.ledger.queries.project(u.project))?.title ?? '')
    }
    ctx.body = {
      uses: uses.map(u => ({
        project: toHex(u.project), title: titles.get(toHex(u.project)) ?? '', image: u.image.toString(),
        hospital: toHex(u.hospital), hospitalName: n.get(toHex(u.hospital)) ?? null, export: toHex(u.export), time: u.time, tx: toHex(u.tx)
      }))
    }
  })

  return router
}
