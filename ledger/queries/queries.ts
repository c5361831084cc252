// The seed contract's queries (PatientHashExists, CreatePatientHash, UploadPatientHash,
// GetPatientHashHistory, GetAllResults) plus the per-patient reads that later routes use. Each
// one reads an index prefix: O(log n + k), never a scan of the whole ledger. The store holds only
// what this peer encoded itself, so its values are decoded without the canonical check (decodeOwn).
import type { CID } from 'multiformats/cid'
import { compare, fromHex, toHex } from '../../protocol/bytes.ts'
import { decodeOwn } from '../../protocol/codec.ts'
import type { Purpose, Tx, TxBodies } from '../../protocol/chain/tx.ts'
import { decodeBlock } from '../../protocol/chain/block.ts'
import { K } from '../store/keys.ts'
import { researchQueries } from './research.ts'
import type { Proposal } from '../state/membership.ts'
import { createRekeyQueries } from '../rules/patient-rekey.ts'
import { createEmergencyQueries } from '../rules/emergency.ts'
import { createImageRecords } from './image-records.ts'
import type { Genesis } from '../../protocol/chain/genesis.ts'
import { recoveryRuleOf } from '../../protocol/chain/genesis.ts'
import type { LedgerStore } from '../store/store.ts'
import type { ImageRecord, MemberView, TxLocation } from '../data-types.ts'

export type { ImageRecord }

/** One event in a patient's history. */
export interface HistoryEvent { txId: Uint8Array, type: Tx['type'], time: number, author: Uint8Array, height: number, index: number, order: number, tx: Tx }


/**
 * The patient's consent towards one grantee for one purpose: the latest grant or revoke of that
 * purpose by the patient's seq. A revoke record carries the purpose of its key (a revoke without a
 * purpose writes one record per purpose); only a grant carries kind, scope, expiry and keys.
 */
export type ConsentRecord = { grantee: Uint8Array, purpose: Purpose, action: 'grant' | 'revoke', seq: number, tx: Uint8Array, time: number } & Partial<Omit<TxBodies['consent.grant'], 'purpose'>>

/** A custodian's study key as the ledger records it (`study.key`): still wrapped, for the patient and the custodian. */
export interface StudyKeyRecord { patient: Uint8Array, record: Uint8Array, custodian: Uint8Array, kid: Uint8Array, keys: Array<{ to: Uint8Array, key: Uint8Array }>, tx: Uint8Array, time: number }

/** A display name in the consortium directory (`directory.set`), for a hospital or one of its staff. */
export interface DirectoryEntry { subject: Uint8Array, name: string, department: string, hospital: Uint8Array, seq: number, tx: Uint8Array, time: number }

/** One access-log entry. */
export type AccessRecord = TxBodies['access.log'] & { hospital: Uint8Array, tx: Uint8Array, time: number }

/** The published credit formula's inputs and result (docs/design.md §4). It never gates care. */
export interface CreditScore {
  score: number
  breakdown: { researchConsents: number, trainingConsents: number, imagesContributed: number, monthsInGoodStanding: number }
  formula: string
}

/** Points per event of the credit formula, and the caps that keep one term from dominating. */
export const CREDIT_WEIGHTS = { researchConsent: 10, trainingConsent: 10, imageContributed: 2, maxImages: 50, month: 1, maxMonths: 24 } as const

/**
 * A membership proposal with the hospitals that approved it (hex keys; the proposer's own vote is
 * implied, not listed) and whether the member's current status is what it asked for.
 */
export type ProposalRecord = Proposal & { approvers: string[], enacted: boolean }

/** Submits hospital transactions for the write-side seed queries, and reads live membership. */
interface Writer {
  submitOwn<T extends keyof TxBodies>(type: T, body: TxBodies[T]): Promise<TxLocation>
  members(): MemberView[]
  readonly genesis: Genesis
}

export type LedgerQueries = ReturnType<typeof createQueries>

/** Builds the query functions over a store; writes go through the ledger's own submission path. */
export function createQueries (store: LedgerStore, writer: Writer) {
  async function value<T> (key: string): Promise<T | undefined> {
    const bytes = await store.get(key)
    return bytes === undefined ? undefined : decodeOwn(bytes) as T
  }
  const images = createImageRecords()

  const queries = {
    /** Assisted-recovery requests (issue 16.3) and their status at a given time. */
    rekeys: createRekeyQueries(store, recoveryRuleOf(writer.genesis)),
    /** Emergency roles and cross-hospital emergency releases (issue 16.4). */
    emergencies: createEmergencyQueries(store),
    /** PatientHashExists: whether any record, registration or image names this patient id. */
    async patientHashExists (patient: Uint8Array): Promise<boolean> {
      return await store.get(K.patient(patient)) !== undefined
    },

    /** CreatePatientHash: opens a record for a patient id at this hospital. */
    async createPatientHash (patient: Uint8Array, record: Uint8Array): Promise<TxLocation> {
      return await writer.submitOwn('record.create', { patient, record })
    },

    /** UploadPatientHash: records an image with its raw and result CIDs (`image.add`). */
    async uploadPatientHash (body: TxBodies['image.add']): Promise<TxLocation> {
      return await writer.submitOwn('image.add', body)
    },

    /** GetPatientHashHistory: every event for one patient, in causal order. */
    async getPatientHashHistory (patient: Uint8Array): Promise<HistoryEvent[]> {
      const events = await queries.patientEvents(patient)
      const txs = await queries.eventTxs(events)
      return events.map((e, i) => ({ ...e, tx: txs[i] }))
    },

    /** The patient's events in causal order without their transactions: read from the index alone, no block decoded. */
    async patientEvents (patient: Uint8Array): Promise<Array<Omit<HistoryEvent, 'tx'>>> {
      const events: Array<Omit<HistoryEvent, 'tx'>> = []
      for await (const [key, bytes] of store.entries(K.historyPrefix(patient))) {
        const v = decodeOwn(bytes) as { order: number, author: Uint8Array, height: number, index: number, type: Tx['type'], time: number }
        events.push({ ...v, txId: fromHex(key.split(':')[3]) })
      }
      events.sort((a, b) => a.order - b.order || compare(a.author, b.author) || a.height - b.height || a.index - b.index)
      return events
    },

    /** The transactions of `events` (from patientEvents), each block read and decoded once however many of them it holds. */
    async eventTxs (events: ReadonlyArray<Omit<HistoryEvent, 'tx'>>): Promise<Tx[]> {
      const keys = [...new Set(events.map(e => K.block(e.author, e.height)))]
      const bytes = await store.getMany(keys)
      const blocks = new Map(keys.map((k, i) => [k, decodeBlock(bytes[i] as Uint8Array)]))
      return events.map(e => (blocks.get(K.block(e.author, e.height)) as ReturnType<typeof decodeBlock>).txs[e.index].tx)
    },

    /** GetAllResults: every image with its result CID (and its sealed card's, when it has one), in CID order. */
    async getAllResults (): Promise<Array<{ raw: CID, result: CID | null, meta: CID | null, patient: Uint8Array, model: CID | null, score: number | null, custodian: Uint8Array, time: number }>> {
      const out = []
      for await (const [, bytes] of store.entries(K.imagePrefix)) {
        const img = decodeOwn(bytes) as ImageRecord
        out.push({ raw: img.raw, result: img.result, meta: img.meta ?? null, patient: img.patient, model: img.model, score: img.score, custodian: img.custodian, time: img.time })
      }
      return out
    },

    /**
     * Images of one patient in (raw CID, custodian hex) order; with `after` (a `cid:custodian`
     * key, as the index orders them) only those past it, and at most `limit`. The index keys are
     * read in one iterator pass and the records in one batched read.
     */
    async imagesOf (patient: Uint8Array, page: { after?: string, limit?: number } = {}): Promise<ImageRecord[]> {
      const prefix = K.patientImagePrefix(patient)
      const keys: string[] = []
      // `after` + '\x00' is the first key past `after` itself (index keys never hold NUL).
      for await (const key of store.keys(prefix, { gte: page.after === undefined ? undefined : `${prefix}${page.after}\x00`, limit: page.limit })) {
        const [, , , cid, custodian] = key.split(':')
        keys.push(K.image(cid, custodian))
      }
      const values = await store.getMany(keys)
      const out: ImageRecord[] = []
      for (const [i, bytes] of values.entries()) {
        if (bytes === undefined) continue
        const img = images.decode(keys[i], bytes)
        if (compare(img.patient, patient) === 0) out.push(img)
      }
      return out
    },

    /**
     * The DICOM images of one study (record) of a patient, in series then InstanceNumber order:
     * a series of 300 slices reads as one ordered run (docs/design.md §5 "Studies and series").
     */
    async studyImages (patient: Uint8Array, record: Uint8Array): Promise<ImageRecord[]> {
      const keys: string[] = []
      for await (const key of store.keys(K.studyImagePrefix(patient, record))) {
        const parts = key.split(':')
        keys.push(K.image(parts[6], parts[7]))
      }
      const values = await store.getMany(keys)
      const out: ImageRecord[] = []
      for (const [i, bytes] of values.entries()) {
        const img = bytes === undefined ? undefined : images.decode(keys[i], bytes)
        if (img !== undefined && compare(img.patient, patient) === 0) out.push(img)
      }
      return out
    },

    /**
     * The study keys recorded for `patient` (`study.key`), of one study when `record` is given, in
     * (study, custodian, key id) order: a few per study, so a consent carries keys, not instances.
     */
    async studyKeysOf (patient: Uint8Array, record?: Uint8Array): Promise<StudyKeyRecord[]> {
      const out: StudyKeyRecord[] = []
      for await (const [key, bytes] of store.entries(K.studyKeyPrefix(patient, record))) {
        const [, , , rec, custodian, kid] = key.split(':')
        const v = decodeOwn(bytes) as { keys: StudyKeyRecord['keys'], tx: Uint8Array, time: number }
        out.push({ patient, record: fromHex(rec), custodian: fromHex(custodian), kid: fromHex(kid), ...v })
      }
      return out
    },

    /** Whether record (a study) `record` was recorded for `patient` by a `record.create` or an `image.add`. */
    async recordExists (patient: Uint8Array, record: Uint8Array): Promise<boolean> {
      return await store.get(K.recordOwner(patient, record)) !== undefined
    },

    /**
     * Ids of registered patients whose id, in hex, starts with `prefixHex` (at most `limit`, in id
     * order): what a patient code (protocol/patient-code.ts) resolves through.
     */
    async patientIdsWithPrefix (prefixHex: string, limit: number): Promise<Uint8Array[]> {
      const out: Uint8Array[] = []
      for await (const key of store.keys(K.patientAccount(prefixHex.toLowerCase()), { limit })) out.push(fromHex(key.slice(K.patientAccount('').length)))
      return out
    },

    /** The patient's consents, one per (grantee, purpose) that any grant or revoke named (latest by the patient's seq). */
    async consentsOf (patient: Uint8Array): Promise<ConsentRecord[]> {
      const out: ConsentRecord[] = []
      for await (const [, bytes] of store.entries(K.consentPrefix(patient))) out.push(decodeOwn(bytes) as ConsentRecord)
      return out
    },

    /** Consents naming `grantee`, across patients, one per (patient, purpose): [patient id, consent]. */
    async consentsFor (grantee: Uint8Array): Promise<Array<{ patient: Uint8Array, consent: ConsentRecord }>> {
      const out = []
      for await (const key of store.keys(K.granteePrefix(grantee))) {
        const patient = fromHex(key.split(':')[3])
        for await (const [, bytes] of store.entries(K.consentGranteePrefix(patient, grantee))) out.push({ patient, consent: decodeOwn(bytes) as ConsentRecord })
      }
      return out
    },

    /** Who accessed the patient's images, oldest first. */
    async auditOf (patient: Uint8Array): Promise<AccessRecord[]> {
      const out: AccessRecord[] = []
      for await (const [, bytes] of store.entries(K.accessPrefix(patient))) out.push(decodeOwn(bytes) as AccessRecord)
      return out.sort((a, b) => a.time - b.time || compare(a.tx, b.tx))
    },

    /**
     * Transactions of one patient's history by id, read through the history index (two batched
     * reads, however long the history): a page of the audit names the consents it relied on.
     * Ids not in the patient's history are missing from the map.
     */
    async patientTxs (patient: Uint8Array, ids: readonly Uint8Array[]): Promise<Map<string, Tx>> {
      const out = new Map<string, Tx>()
      const locs = await store.getMany(ids.map(id => K.history(patient, id)))
      const found = locs.flatMap((bytes, i) => bytes === undefined ? [] : [{ id: ids[i], loc: decodeOwn(bytes) as { author: Uint8Array, height: number, index: number } }])
      const blocks = await store.getMany(found.map(f => K.block(f.loc.author, f.loc.height)))
      found.forEach((f, i) => {
        const block = blocks[i]
        if (block !== undefined) out.set(toHex(f.id), decodeBlock(block).txs[f.loc.index].tx)
      })
      return out
    },

    /** The account of a registered patient id (its keys and home hospital). */
    async patientAccount (patient: Uint8Array): Promise<{ user: Uint8Array, role: string, box: Uint8Array, hospital: Uint8Array, tx: Uint8Array, time: number } | undefined> {
      const user = await store.get(K.patientAccount(patient))
      if (user === undefined) return undefined
      const account = await value<{ role: string, box: Uint8Array, hospital: Uint8Array, tx: Uint8Array, time: number }>(K.account(user))
      return account === undefined ? undefined : { ...account, user }
    },

    /**
     * The image records whose raw or result CID is `cid`, and which part it is. Usually one; more
     * when several members recorded the same CID (each under its own custodian).
     */
    async imagesByAnyCid (cid: string): Promise<Array<{ image: ImageRecord, part: 'raw' | 'result' }>> {
      const out: Array<{ image: ImageRecord, part: 'raw' | 'result' }> = []
      for await (const [key, bytes] of store.entries(K.imageCidPrefix(cid))) out.push({ image: images.decode(key, bytes), part: 'raw' })
      for await (const [key, rawCid] of store.entries(K.resultImagePrefix(cid))) {
        const imageKey = K.image(new TextDecoder().decode(rawCid), key.split(':')[3])
        const bytes = await store.get(imageKey)
        if (bytes !== undefined) out.push({ image: images.decode(imageKey, bytes), part: 'result' })
      }
      return out
    },

    /**
     * Every membership proposal, oldest first (time, then id: the order membership replays them
     * in). `enacted` compares with the live member list: an add is enacted while the member is
     * active, a remove while it is removed.
     */
    async proposals (): Promise<ProposalRecord[]> {
      const members = writer.members()
      const status = new Map(members.map(m => [toHex(m.key), m.status]))
      const resolvedBy = new Set(members.flatMap(m => m.resolutions.map(r => toHex(r.proposal))))
      const out: ProposalRecord[] = []
      for await (const [key, bytes] of store.entries(K.proposalPrefix)) {
        const id = key.slice(K.proposalPrefix.length)
        const p = decodeOwn(bytes) as Omit<Proposal, 'id'>
        const approvers: string[] = []
        for await (const k of store.keys(`${K.approvalPrefix}${id}:`)) approvers.push(k.split(':')[3])
        const wanted = p.action === 'add' ? 'active' : 'removed'
        const enacted = p.action === 'resolve' ? resolvedBy.has(id) : status.get(toHex(p.member)) === wanted
        out.push({ ...p, id, approvers, enacted })
      }
      return out.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    },

    /** The highest seq `signer` has used on the ledger, or -1: a patient's browser signs the next. */
    async lastSeq (signer: Uint8Array): Promise<number> {
      let last = -1
      for await (const key of store.keys(K.seqPrefix(signer), { reverse: true, limit: 1 })) last = Number(key.split(':')[3])
      return last
    },

    /** The directory entry of a hospital or staff key: its display name, department and hospital. */
    async directoryEntry (subject: Uint8Array): Promise<DirectoryEntry | undefined> {
      const v = await value<Omit<DirectoryEntry, 'subject'>>(K.directory(subject))
      return v === undefined ? undefined : { ...v, subject }
    },

    /** Every directory entry: the consortium's hospitals and staff by display name (a few thousand at most). */
    async directory (): Promise<DirectoryEntry[]> {
      const out: DirectoryEntry[] = []
      for await (const [key, bytes] of store.entries(K.directoryPrefix)) {
        out.push({ ...(decodeOwn(bytes) as Omit<DirectoryEntry, 'subject'>), subject: fromHex(key.slice(K.directoryPrefix.length)) })
      }
      return out
    },

    /** A registered account by its signing key. */
    async account (user: Uint8Array): Promise<{ role: string, box: Uint8Array, hospital: Uint8Array, tx: Uint8Array, time: number } | undefined> {
      return await value(K.account(user))
    },

    /**
     * Images of the patient contributed to federated learning: distinct images named by an
     * `access.log` whose consent is one of the patient's `training` grants (a hospital logs the
     * first training use of each image under each consent). Read from the access records and the
     * history index, so it depends only on which transactions the ledger holds, not their order.
     */
    async imagesContributed (patient: Uint8Array): Promise<number> {
      // From the access records and the few grants they name: no block of the (ever longer)
      // history is decoded except those grants', so a patient's credit does not slow with reads.
      const uses = (await queries.auditOf(patient)).filter(a => a.basis === 'consent' && a.consent !== null)
      if (uses.length === 0) return 0
      const ids = [...new Map(uses.map(u => [toHex(u.consent as Uint8Array), u.consent as Uint8Array])).values()]
      const training = new Set<string>()
      for (const [id, tx] of await queries.patientTxs(patient, ids)) {
        if (tx.type === 'consent.grant' && tx.body.purpose === 'training') training.add(id)
      }
      return new Set(uses.filter(u => u.image !== null && training.has(toHex(u.consent as Uint8Array))).map(u => String(u.image))).size
    },

    /**
     * Credit score = 10 × research consents + 10 × training consents + 2 per image contributed to
     * federated learning (at most 50) + 1 per full 30 days since the patient id first appeared
     * (at most 24). Recomputable by any peer from ledger events.
     */
    async credit (patient: Uint8Array, now: number): Promise<CreditScore> {
      const counts = await value<{ research: number, training: number }>(K.credit(patient)) ?? { research: 0, training: 0 }
      const since = (await value<{ since: number }>(K.patient(patient)))?.since
      const months = since === undefined ? 0 : Math.min(CREDIT_WEIGHTS.maxMonths, Math.max(0, Math.floor((now - since) / (30 * 86_400_000))))
      const images = Math.min(CREDIT_WEIGHTS.maxImages, await queries.imagesContributed(patient))
      return {
        score: counts.research * CREDIT_WEIGHTS.researchConsent + counts.training * CREDIT_WEIGHTS.trainingConsent +
          images * CREDIT_WEIGHTS.imageContributed + months * CREDIT_WEIGHTS.month,
        breakdown: { researchConsents: counts.research, trainingConsents: counts.training, imagesContributed: images, monthsInGoodStanding: months },
        formula: '10 × research consents + 10 × training consents + 2 per image contributed to model training (max 50) + 1 per 30 days since first seen (max 24)'
      }
    }
  }
  return { ...queries, ...researchQueries(store) }
}
