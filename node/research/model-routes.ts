// Published models for researchers and hospitals (issue 15 §5): the list of `model.publish`
// transactions, each model's card (task, round, metrics, the data count each hospital trained
// on, and the publication's transaction with its inclusion proof, which the browser checks on its
// own), and the weights themselves, fetched from the members by CID if this peer lacks them.
import { Readable } from 'node:stream'
import { Router } from '@koa/router'
import { CID } from 'multiformats/cid'
import { toHex } from '../../protocol/bytes.ts'
import { InvalidRequestError, NotFoundError } from '../../protocol/errors.ts'
import type { Ledger } from '../../ledger/types.ts'
import type { PublishedModelRecord } from '../../ledger/queries/research.ts'
import type { Auth } from '../auth/index.ts'
import { renderTx } from '../http/render.ts'
import type { Storage } from '../storage/index.ts'
import { samplesMetricKey } from '../fl/task/record.ts'
import { decodeTx } from '../../protocol/chain/tx.ts'

/** Metric keys that carry one participant's sample count start so (node/fl/task/record.ts). */
const SAMPLES_PREFIX = samplesMetricKey('')

function cidParam (v: string | undefined): CID {
  try {
    return CID.parse(v ?? '')
  } catch {
    throw new InvalidRequestError('cid: expected a CID string')
  }
}

/** The data each participant trained on, read from the publication's `samples:<8 hex>` metrics. */
export function dataCounts (m: PublishedModelRecord): Array<{ hospital: string, samples: number | null }> {
  return m.participants.map(p => ({ hospital: toHex(p), samples: m.metrics[samplesMetricKey(p)] ?? null }))
}

/** Builds the router of published models; any signed-in clinician, researcher or admin reads them. */
export function publishedModelRoutes (c: { auth: Pick<Auth, 'requireUser'>, ledger: Pick<Ledger, 'queries' | 'members' | 'tx'>, storage: Pick<Storage, 'cat'> }): Router {
  const router = new Router({ prefix: '/api/models/published' })
  const staff = c.auth.requireUser('researcher', 'clinician', 'admin')
  const names = (): Map<string, string> => new Map(c.ledger.members().map(m => [toHex(m.key), m.name]))
  const find = async (cid: CID): Promise<PublishedModelRecord> => {
    const m = await c.ledger.queries.publishedModel(cid.toString())
    if (m === undefined) throw new NotFoundError('no model with this CID was published on the ledger')
    return m
  }

  router.get('/', staff, async (ctx) => {
    const n = names()
    ctx.body = {
      models: (await c.ledger.queries.publishedModels()).map(m => ({
        cid: m.model.toString(), task: m.task, round: m.round, time: m.time, hospital: toHex(m.hospital), hospitalName: n.get(toHex(m.hospital)) ?? null, tx: toHex(m.tx)
      }))
    }
  })

  router.get('/:cid/card', staff, async (ctx) => {
    const m = await find(cidParam(ctx.params.cid))
    const found = await c.ledger.tx(m.tx)
    if (found === undefined) throw new NotFoundError('the publication is not held here')
    const n = names()
    ctx.body = {
      cid: m.model.toString(),
      task: m.task,
      round: m.round,
      time: m.time,
      publisher: { hospital: toHex(m.hospital), name: n.get(toHex(m.hospital)) ?? null },
      metrics: Object.fromEntries(Object.entries(m.metrics).filter(([k]) => !k.startsWith(SAMPLES_PREFIX))),
      data: dataCounts(m).map(d => ({ ...d, name: n.get(d.hospital) ?? null })),
      provenance: renderTx(decodeTx(found.proof.tx), found.location, found.proof)
    }
  })

  router.get('/:cid/weights', staff, async (ctx) => {
    const m = await find(cidParam(ctx.params.cid))
    ctx.set('Content-Type', 'application/octet-stream')
    ctx.set('Content-Disposition', `attachment; filename="model-${m.model.toString()}.mcw"`)
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = Readable.from(c.storage.cat(m.model))
  })
  return router
}
