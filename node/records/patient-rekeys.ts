// The custodian's side of assisted recovery (issue 16.3): once a `patient.rekey` request takes
// effect (enough custodians co-signed, and the waiting period passed without a veto, judged by
// ledger/rules/patient-rekey.ts), this hospital wraps its copies of the old patient's image keys for
// the new key and records `patient.rewrap`. Nothing is re-wrapped before then: a request that a
// single hospital made, or that was vetoed, never gets a key from here. A request still waiting
// gets a timer at its effective time, and each new block re-checks, so no test needs to sleep.
import type { Logger } from 'pino'
import { equals, toHex } from '../../protocol/bytes.ts'
import type { Block } from '../../protocol/chain/block.ts'
import type { TxBodies, WrappedKeys } from '../../protocol/chain/tx.ts'
import type { RekeyView } from '../../ledger/rules/patient-rekey.ts'
import type { Clock, Ledger } from '../../ledger/types.ts'
import { nodeBoxKeyOf, nodeUnwrapKey, nodeWrapKey } from './node-box.ts'
import type { HospitalBox } from './reader-keys.ts'

/** What the service uses. */
export interface PatientRekeyComponents { ledger: Ledger, box: HospitalBox, logger: Logger, clock: Clock }

/** Emitted on the service when this hospital re-wrapped its keys for a request; detail: the request id (hex). */
export const REKEY_REWRAPPED = 'rekey:rewrapped'

/** The service; `idle()` resolves once queued work is done. */
export interface PatientRekeys extends EventTarget {
  start(): void
  stop(): Promise<void>
  idle(): Promise<void>
}

/** At most this many images per `patient.rewrap` (the schema's bound on its list). */
const IMAGES_PER_TX = 64

/** Creates the assisted-recovery service of one custodian peer. */
export function createPatientRekeys (c: PatientRekeyComponents): PatientRekeys {
  const log = c.logger.child({ component: 'patient-rekey' })
  const key = nodeBoxKeyOf(c.box)
  const events = new EventTarget()
  const timers = new Map<string, NodeJS.Timeout>()
  let queue: Promise<void> = Promise.resolve()
  let stopped = true

  const rewrapFor = (wrapped: Uint8Array, to: Uint8Array): Uint8Array => {
    const dataKey = nodeUnwrapKey(wrapped, key)
    try {
      return nodeWrapKey(dataKey, to)
    } finally {
      dataKey.fill(0)
    }
  }

  /** Wraps this hospital's keys of the old patient's images, not yet re-wrapped, for the new key. */
  async function rewrap (r: RekeyView): Promise<void> {
    const images: TxBodies['patient.rewrap']['images'] = []
    for (const image of await c.ledger.queries.imagesOf(r.old)) {
      if (!equals(image.custodian, c.ledger.self)) continue
      if (await c.ledger.queries.rekeys.rewrapped(r.tx, image.raw.toString(), c.ledger.self) !== undefined) continue
      const mine = image.keys.find(k => equals(k.to, c.box.publicKey))
      if (mine === undefined) continue
      const keys: WrappedKeys = { to: r.box, raw: rewrapFor(mine.raw, r.box), result: mine.result === null ? null : rewrapFor(mine.result, r.box) }
      images.push({ raw: image.raw, keys })
    }
    // This hospital's study keys of the old patient's studies too, so the new key can grant a study
    // with one key (docs/design.md §5 "Study keys").
    const studies: NonNullable<TxBodies['patient.rewrap']['studies']> = []
    for (const s of await c.ledger.queries.studyKeysOf(r.old)) {
      if (!equals(s.custodian, c.ledger.self)) continue
      if (await c.ledger.queries.rekeys.rewrappedStudy(r.tx, s.record, c.ledger.self, s.kid) !== undefined) continue
      const mine = s.keys.find(k => equals(k.to, c.box.publicKey))
      if (mine !== undefined) studies.push({ record: s.record, kid: s.kid, key: rewrapFor(mine.key, r.box) })
    }
    for (let i = 0; i < Math.max(images.length, studies.length); i += IMAGES_PER_TX) {
      const part = studies.slice(i, i + IMAGES_PER_TX)
      await c.ledger.submitOwn('patient.rewrap', { rekey: r.tx, patient: r.old, images: images.slice(i, i + IMAGES_PER_TX), ...(part.length === 0 ? {} : { studies: part }) })
    }
    if (images.length > 0 || studies.length > 0) {
      log.info({ images: images.length, studies: studies.length }, 'image and study keys re-wrapped for a recovered patient key')
      events.dispatchEvent(new CustomEvent(REKEY_REWRAPPED, { detail: toHex(r.tx) }))
    }
  }

  /** Looks at every request concerning a patient this hospital holds images of. */
  async function scan (): Promise<void> {
    const now = c.clock()
    for (const r of await c.ledger.queries.rekeys.all(now)) {
      if (!r.custodians.some(k => equals(k, c.ledger.self))) continue
      const id = toHex(r.tx)
      if (r.status === 'effective') {
        await rewrap(r)
      } else if (r.status === 'waiting' && r.effectiveAt !== null && !timers.has(id)) {
        const timer = setTimeout(() => { timers.delete(id); enqueue() }, Math.max(0, r.effectiveAt - now) + 1)
        timer.unref()
        timers.set(id, timer)
      }
    }
  }

  function enqueue (): void {
    queue = queue.then(async () => {
      if (!stopped) await scan()
    }).catch(err => log.warn({ err }, 'assisted-recovery re-wrap failed; retried at the next block'))
  }

  const onBlock = (event: Event): void => {
    const block = (event as CustomEvent<Block>).detail
    if (block.txs.some(({ tx }) => tx.type.startsWith('patient.') || tx.type === 'image.add')) enqueue()
  }

  return Object.assign(events, {
    start () {
      stopped = false
      c.ledger.addEventListener('block:appended', onBlock)
      enqueue()
    },
    async stop () {
      stopped = true
      c.ledger.removeEventListener('block:appended', onBlock)
      for (const t of timers.values()) clearTimeout(t)
      timers.clear()
      await queue
    },
    async idle () {
      await queue
    }
  })
}
