// Ciphertext this hospital fetched for a read under a consent, of images it does not hold in
// custody (neither the custodian nor a replica pinner). When no live consent lets this hospital or
// one of its users read such an image any more (a revoke, or an expiry), its blocks are deleted
// from this disk (issue 11.3). Unwrapped data keys are never kept: each read unwraps, re-wraps for
// the reader and zeroes them (reader-keys.ts), so there is nothing else to discard.
import type { Logger } from 'pino'
import type { CID } from 'multiformats/cid'
import { equals } from '../../protocol/bytes.ts'
import type { Block } from '../../protocol/chain/block.ts'
import type { ConsentRecord, ImageRecord } from '../../ledger/queries/queries.ts'
import type { Clock, Ledger } from '../../ledger/types.ts'
import type { Storage } from '../storage/index.ts'
import { consentCovers } from './access.ts'

/** What the service uses. */
export interface FetchedCopiesComponents { ledger: Ledger, storage: Storage, logger: Logger, clock: Clock }

/** The service: note each consent read's fetch; sweep on revokes, on a timer, and on demand. */
export interface FetchedCopies {
  start(): Promise<void>
  stop(): Promise<void>
  /** Records that `cid` (a part of `image`) was read here; ignored for images held in custody. */
  noteFetched(cid: CID, image: ImageRecord): void
  /** Deletes every noted copy no live consent covers any more; resolves how many were deleted. */
  sweep(): Promise<number>
}

/** Creates the service; `sweepMs` is how often expiries are looked for (0: only on revokes and `sweep()`). */
export function createFetchedCopies (init: { sweepMs: number }, c: FetchedCopiesComponents): FetchedCopies {
  const log = c.logger.child({ component: 'fetched-copies' })
  const noted = new Map<string, { cid: CID, image: ImageRecord }>()
  let timer: NodeJS.Timeout | undefined
  let running: Promise<number> | undefined
  let initial: Promise<void> = Promise.resolve()

  const inCustody = (cid: CID, image: ImageRecord): boolean => equals(image.custodian, c.ledger.self) || c.storage.isPinned(cid)

  /** True when the grantee is this hospital or one of its registered users. */
  async function ours (consent: ConsentRecord): Promise<boolean> {
    if (equals(consent.grantee, c.ledger.self)) return true
    const account = await c.ledger.queries.account(consent.grantee)
    return account !== undefined && equals(account.hospital, c.ledger.self)
  }

  /** Whether some live consent still lets this hospital, or one of its users, read the image. */
  async function stillOpen (image: ImageRecord, now: number): Promise<boolean> {
    for (const consent of await c.ledger.queries.consentsOf(image.patient)) {
      if (consentCovers(consent, image, consent.purpose, now) && await ours(consent)) return true
    }
    return false
  }

  async function sweepOnce (): Promise<number> {
    const now = c.clock()
    let deleted = 0
    for (const [key, { cid, image }] of noted) {
      if (inCustody(cid, image)) { noted.delete(key); continue }
      if (await stillOpen(image, now)) continue
      await c.storage.discard(cid)
      noted.delete(key)
      deleted++
    }
    if (deleted > 0) log.info({ deleted }, 'copies fetched under ended consents deleted')
    return deleted
  }

  const sweep = async (): Promise<number> => {
    // One sweep at a time; a call during one waits for it and runs again, so nothing is missed.
    while (running !== undefined) await running.catch(() => 0)
    running = sweepOnce().finally(() => { running = undefined })
    return await running
  }

  const onBlock = (event: Event): void => {
    const block = (event as CustomEvent<Block>).detail
    if (!block.txs.some(t => t.tx.type === 'consent.revoke')) return
    sweep().catch(err => log.warn({ err }, 'sweep after a revoke failed'))
  }

  /** Copies left on disk by reads before a restart: parts of images not in custody whose root is here. */
  async function findLeftovers (): Promise<void> {
    for (const r of await c.ledger.queries.getAllResults()) {
      if (equals(r.custodian, c.ledger.self)) continue
      const image = (await c.ledger.queries.imagesByAnyCid(r.raw.toString())).find(x => x.part === 'raw' && equals(x.image.custodian, r.custodian))?.image
      if (image === undefined) continue
      for (const cid of [r.raw, r.result, r.meta]) {
        if (cid !== null && !c.storage.isPinned(cid) && await c.storage.has(cid)) noted.set(cid.toString(), { cid, image })
      }
    }
  }

  return {
    async start () {
      c.ledger.addEventListener('block:appended', onBlock)
      if (init.sweepMs > 0) {
        timer = setInterval(() => { sweep().catch(err => log.warn({ err }, 'sweep failed')) }, init.sweepMs)
        timer.unref()
      }
      // In the background: finding leftovers reads every image record, which must not delay start.
      initial = findLeftovers().then(async () => { await sweep() }).catch(err => log.warn({ err }, 'looking for leftover copies failed'))
    },
    async stop () {
      c.ledger.removeEventListener('block:appended', onBlock)
      clearInterval(timer)
      await initial
      await running?.catch(() => 0)
    },
    noteFetched (cid, image) {
      if (!inCustody(cid, image)) noted.set(cid.toString(), { cid, image })
    },
    sweep
  }
}
