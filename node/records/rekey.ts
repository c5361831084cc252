// "Revoke and re-key" (issue 11.3). A revoke alone stops every future read, but a grantee who
// already read an image had its data key in hand. When a patient's revoke asks for a re-key, the
// custodian of each of the patient's images re-encrypts it under fresh keys, stores the new
// ciphertext and records `image.rekey` (new CIDs, keys for the patient and itself, a link to the
// old CIDs); every member, the custodian included, then unpins and deletes the old ciphertext.
// A custodian that was down when the request arrived re-keys when it starts again.
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { CID } from 'multiformats/cid'
import { equals, toHex } from '../../protocol/bytes.ts'
import { openImageMeta, sealImageMeta } from '../../protocol/image-meta.ts'
import type { Block } from '../../protocol/chain/block.ts'
import { patientIdOf } from '../../protocol/chain/tx.ts'
import type { TxBodies, WrappedKeys } from '../../protocol/chain/tx.ts'
import type { ImageRecord } from '../../ledger/queries/queries.ts'
import type { Ledger } from '../../ledger/types.ts'
import { decryptContent, encryptContent } from '../storage/seal/content-crypto-node.ts'
import type { Storage } from '../storage/index.ts'
import { readSealedCard } from './card-bytes.ts'
import { nodeBoxKeyOf, nodeUnwrapKey, nodeWrapKey } from './node-box.ts'
import type { HospitalBox } from './reader-keys.ts'
import type { StudyKeys } from './study-keys.ts'

/** What re-keying uses; with `studyKeys`, a study's re-keyed instances are sealed under a fresh study key. */
export interface RekeyComponents { ledger: Ledger, storage: Storage, box: HospitalBox, logger: Logger, studyKeys?: StudyKeys }

/** Seals one instance's new keys under its study's fresh key (study-keys.ts `renew`). */
type Sealer = Awaited<ReturnType<StudyKeys['renew']>>

/** The service: reacts to re-key revokes and to `image.rekey`; `idle()` resolves when the queued work is done. */
export interface Rekeys {
  start(): void
  stop(): Promise<void>
  idle(): Promise<void>
}

/** Creates the re-key service of one peer. */
export function createRekeys (c: RekeyComponents): Rekeys {
  const log = c.logger.child({ component: 'rekey' })
  const key = nodeBoxKeyOf(c.box)
  /** One job at a time, in block order: a re-key and the drop of what it replaced never interleave. */
  let queue: Promise<void> = Promise.resolve()
  let stopped = false

  const enqueue = (what: string, job: () => Promise<void>): void => {
    queue = queue.then(async () => {
      if (stopped) return
      await job()
    }).catch(err => log.warn({ err, what }, 're-key job failed'))
  }

  /** Re-encrypts one part under a fresh key; the old key is opened with the hospital's box. */
  async function reencrypt (cid: CID, wrapped: Uint8Array): Promise<{ cid: CID, key: Uint8Array }> {
    const oldKey = nodeUnwrapKey(wrapped, key)
    const newKey = new Uint8Array(randomBytes(32))
    try {
      const added = await c.storage.add(encryptContent(newKey, decryptContent(oldKey, c.storage.cat(cid))))
      return { cid: added.cid, key: newKey }
    } finally {
      oldKey.fill(0)
    }
  }

  /** Re-seals an image card under the card key of the new raw key (the card key derives from it). */
  async function reseal (meta: CID, wrappedRaw: Uint8Array, newRaw: Uint8Array): Promise<CID> {
    const oldKey = nodeUnwrapKey(wrappedRaw, key)
    try {
      const card = await openImageMeta(oldKey, await readSealedCard(c.storage, meta))
      return (await c.storage.add([await sealImageMeta(newRaw, card)])).cid
    } finally {
      oldKey.fill(0)
    }
  }

  /**
   * One fresh study key per study and re-key run, made on first use: the old study key is in the
   * hands of the grantees the patient just revoked, so the new keys must not be sealed under it.
   * An instance of a study ingested before study keys is sealed now too.
   */
  function studySealers (patient: Uint8Array, patientBox: Uint8Array): (image: ImageRecord) => Promise<Sealer | undefined> {
    const sealers = new Map<string, Promise<Sealer>>()
    return async (image) => {
      const studyKeys = c.studyKeys
      const record = image.record
      if (studyKeys === undefined || record === null || image.dicom === undefined) return undefined
      let sealer = sealers.get(toHex(record))
      if (sealer === undefined) {
        sealer = studyKeys.renew(patient, patientBox, record)
        sealers.set(toHex(record), sealer)
      }
      return await sealer
    }
  }

  async function rekeyImage (image: ImageRecord, patientBox: Uint8Array, sealerOf: (image: ImageRecord) => Promise<Sealer | undefined>): Promise<void> {
    const mine = image.keys.find(k => equals(k.to, c.box.publicKey))
    if (mine === undefined || (image.result !== null && mine.result === null)) {
      log.warn({ raw: image.raw.toString() }, 'no key of ours for an image we hold: not re-keyed')
      return
    }
    const raw = await reencrypt(image.raw, mine.raw)
    const result = image.result === null || mine.result === null ? null : await reencrypt(image.result, mine.result)
    try {
      const meta = image.meta === undefined ? undefined : await reseal(image.meta, mine.raw, raw.key)
      const wrapFor = (to: Uint8Array): WrappedKeys => ({ to, raw: nodeWrapKey(raw.key, to), result: result === null ? null : nodeWrapKey(result.key, to) })
      const sealer = await sealerOf(image)
      const study = sealer?.({ raw: { cid: raw.cid.bytes, key: raw.key }, result: result === null ? null : { cid: raw.cid.bytes, key: result.key } })
      const body: TxBodies['image.rekey'] = {
        patient: image.patient,
        old: { raw: image.raw, result: image.result, ...(image.meta === undefined ? {} : { meta: image.meta }) },
        raw: raw.cid,
        result: result?.cid ?? null,
        keys: [wrapFor(patientBox), wrapFor(c.box.publicKey)],
        ...(meta === undefined ? {} : { meta }),
        ...(study === undefined ? {} : { study })
      }
      await c.ledger.submitOwn('image.rekey', body)
      log.info({ old: image.raw.toString(), raw: raw.cid.toString() }, 'image re-keyed')
    } finally {
      raw.key.fill(0)
      result?.key.fill(0)
    }
  }

  /** Re-keys every image of the patient this hospital holds as custodian. */
  async function rekeyPatient (patient: Uint8Array): Promise<void> {
    const account = await c.ledger.queries.patientAccount(patient)
    if (account === undefined) return
    const sealerOf = studySealers(patient, account.box)
    for (const image of await c.ledger.queries.imagesOf(patient)) {
      if (equals(image.custodian, c.ledger.self)) await rekeyImage(image, account.box, sealerOf)
    }
  }

  /**
   * Re-keys what a restart would otherwise miss: images held here as custodian whose patient asked
   * for a re-key (a revoke with `rekey`) after the image was recorded, in the ledger's causal order.
   */
  async function catchUp (): Promise<void> {
    const held = new Map<string, Uint8Array>()
    for (const r of await c.ledger.queries.getAllResults()) {
      if (equals(r.custodian, c.ledger.self)) held.set(toHex(r.patient), r.patient)
    }
    for (const patient of held.values()) {
      // The index names each event's type: only a patient with a revoke has a block decoded (a
      // restart at 100,000 images otherwise decoded a whole block per image, for minutes).
      const history = await c.ledger.queries.patientEvents(patient)
      const revokes = history.flatMap((e, at) => e.type === 'consent.revoke' ? [at] : [])
      if (revokes.length === 0) continue
      const txs = await c.ledger.queries.eventTxs(revokes.map(at => history[at]))
      const last = txs.findLastIndex(tx => tx.type === 'consent.revoke' && tx.body.rekey === true)
      if (last < 0) continue
      const asked = revokes[last]
      const before = new Set(history.slice(0, asked).map(e => toHex(e.txId)))
      const account = await c.ledger.queries.patientAccount(patient)
      if (account === undefined) continue
      const sealerOf = studySealers(patient, account.box)
      for (const image of await c.ledger.queries.imagesOf(patient)) {
        if (equals(image.custodian, c.ledger.self) && before.has(toHex(image.tx))) await rekeyImage(image, account.box, sealerOf)
      }
    }
  }

  /** Unpins and deletes the ciphertext an `image.rekey` replaced. */
  async function dropOld (old: TxBodies['image.rekey']['old']): Promise<void> {
    for (const cid of [old.raw, old.result, old.meta]) {
      if (cid === null || cid === undefined) continue
      await c.storage.unpin(cid)
      await c.storage.discard(cid)
    }
  }

  const onBlock = (event: Event): void => {
    const block = (event as CustomEvent<Block>).detail
    for (const { tx } of block.txs) {
      if (tx.type === 'consent.revoke' && tx.body.rekey === true) {
        const patient = patientIdOf(tx.signer)
        enqueue('re-key', async () => await rekeyPatient(patient))
      }
      if (tx.type === 'image.rekey') {
        const old = tx.body.old
        enqueue('drop old ciphertext', async () => await dropOld(old))
      }
    }
  }

  return {
    start () {
      stopped = false
      c.ledger.addEventListener('block:appended', onBlock)
      enqueue('catch up', catchUp)
    },
    async stop () {
      stopped = true
      c.ledger.removeEventListener('block:appended', onBlock)
      await queue
    },
    async idle () {
      await queue
    }
  }
}
