// Labelling and the hospital's training data (docs/design.md §6, "each hospital trains on its own
// images"): a clinician attaches a ground-truth lesion mask to an image this hospital holds as
// custodian; federated learning then reads the labelled images whose patients hold a live
// `training` consent for this hospital. Images are decrypted here, on the custodian's own peer,
// with the key the upload wrapped for it. The first training use of an image under each consent
// is logged on the ledger (`access.log`, basis consent, use train, or validate for a held-out
// image), so the patient sees it in "who viewed".
import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import { CID } from 'multiformats/cid'
import { concat, equals, toHex } from '../../protocol/bytes.ts'
import { InvalidRequestError, MedichainError, NotFoundError } from '../../protocol/errors.ts'
import { unwrapKey } from '../../protocol/crypto/key-wrap.ts'
import type { ImageRecord } from '../../ledger/queries/queries.ts'
import type { Clock, Ledger } from '../../ledger/types.ts'
import type { TrainSample } from '../ai/train/train.ts'
import { filterByTrainingConsent, sampleOf } from '../fl/round/consent.ts'
import type { ConsentFilterResult, TrainingItem } from '../fl/round/consent.ts'
import type { DecodePool } from '../imaging/pool/decode-pool.ts'
import { detectFormat } from '../imaging/detect.ts'
import { loadImage } from '../imaging/load.ts'
import { loadCodecs } from '../imaging/dicom/codecs.ts'
import type { DecodedImage } from '../imaging/types.ts'
import { MAX_DECODE_BYTES } from '../records/upload.ts'
import type { HospitalBox } from '../records/reader-keys.ts'
import { KeysUnavailableError } from '../records/reader-keys.ts'
import { decryptContent } from '../storage/seal/content-crypto-node.ts'
import type { Storage } from '../storage/index.ts'
import type { Label, LabelMeta, LabelStore, LabelUse } from './store.ts'

/** Decoded samples kept between rounds, in bytes (image float32 + mask byte per pixel). */
export const SAMPLE_CACHE_BYTES = 256 * 1024 * 1024

/** Share of labels held out for validation when the clinician does not choose (1 in 5). */
const HELD_OUT_PER_256 = 51

/** Thrown when a label is asked for an image this hospital is not the custodian of. */
export class NotCustodianError extends MedichainError {
  constructor () {
    super('FORBIDDEN', 'only the custodian hospital labels an image; this hospital does not hold it')
    this.name = 'NotCustodianError'
  }
}

/** Thrown when a mask does not have the size of the image it labels. */
export class LabelMismatchError extends MedichainError {
  constructor (mask: { width: number, height: number }, image: { width: number, height: number }) {
    super('LABEL_MISMATCH', `the mask is ${mask.width}×${mask.height} but the image is ${image.width}×${image.height}`)
    this.name = 'LabelMismatchError'
  }
}

/** What the service uses. */
export interface LabelComponents {
  ledger: Pick<Ledger, 'self' | 'queries' | 'submitOwn'>
  storage: Pick<Storage, 'cat'>
  box: HospitalBox
  store: LabelStore
  /** Decodes clinicians' masks off the main thread, under the pixel budget. */
  decoder: Pick<DecodePool, 'withImage'>
  logger: Logger
  clock: Clock
}

/** A label request: the mask as PNG bytes, from the signed-in clinician. */
export interface LabelInput { cid: string, maskPng: Uint8Array, use?: LabelUse, author: Uint8Array }

/** Counts for the admin's and clinician's view of the training data. */
export interface TrainingSummary {
  labelled: Record<LabelUse, number>
  /** The consent filter as it stands now, per use. */
  eligible: Record<LabelUse, Omit<ConsentFilterResult, 'kept'> & { kept: number }>
}

/** The default use of an image: a stable 1-in-5 held-out split by a hash of its CID. */
export function defaultUse (cid: string): LabelUse {
  return createHash('sha256').update(cid).digest()[0] < HELD_OUT_PER_256 ? 'validation' : 'train'
}

/** Binarises a decoded mask image: any non-zero pixel is lesion. */
function binarise (mask: DecodedImage): { mask: Uint8Array, lesionPixels: number } {
  const out = new Uint8Array(mask.pixels.length)
  let lesionPixels = 0
  for (let i = 0; i < out.length; i++) {
    if (mask.pixels[i] > 0) {
      out[i] = 1
      lesionPixels++
    }
  }
  return { mask: out, lesionPixels }
}

/** The labelling service and the training sets it feeds. */
export function createLabels (c: LabelComponents) {
  const log = c.logger
  const cache = new Map<string, { sample: TrainSample, bytes: number }>()
  let cached = 0

  const remember = (cid: string, sample: TrainSample): void => {
    const bytes = sample.image.pixels.byteLength + sample.mask.byteLength
    if (bytes > SAMPLE_CACHE_BYTES) return
    cache.set(cid, { sample, bytes })
    cached += bytes
    for (const [key, v] of cache) {
      if (cached <= SAMPLE_CACHE_BYTES) break
      cache.delete(key)
      cached -= v.bytes
    }
  }
  const forget = (cid: string): void => {
    const v = cache.get(cid)
    if (v === undefined) return
    cache.delete(cid)
    cached -= v.bytes
  }

  /** The image record this hospital holds as custodian for a raw CID. */
  const ownImage = async (cid: string): Promise<ImageRecord> => {
    const found = await c.ledger.queries.imagesByAnyCid(cid)
    const raw = found.filter(f => f.part === 'raw')
    if (raw.length === 0) throw new NotFoundError('no image on the ledger has this raw CID')
    const own = raw.find(f => equals(f.image.custodian, c.ledger.self))
    if (own === undefined) throw new NotCustodianError()
    return own.image
  }

  /** Decrypts and decodes one of this hospital's images with the key the upload wrapped for it. */
  const decode = async (image: ImageRecord): Promise<DecodedImage> => {
    if (image.size > MAX_DECODE_BYTES) throw new MedichainError('IMAGE_TOO_LARGE', `images over ${MAX_DECODE_BYTES} bytes are not decoded for training`)
    const entry = image.keys.find(k => equals(k.to, c.box.publicKey))
    if (entry === undefined) throw new KeysUnavailableError('this hospital holds no key for the image')
    const key = unwrapKey(entry.raw, c.box.secretKey)
    try {
      const parts: Uint8Array[] = []
      for await (const piece of decryptContent(key, c.storage.cat(image.raw))) parts.push(piece)
      const bytes = concat(...parts)
      await loadCodecs()
      return loadImage(bytes, detectFormat(bytes))
    } finally {
      key.fill(0)
    }
  }

  /**
   * Logs the first use of an image under the consent that allows it, as training or, for a
   * held-out image, as validation: the patient reads which it was. A validation use is marked apart
   * (the training marker kept its old form), so an image moved from one set to the other is logged
   * again under its new use.
   */
  const logFirstUse = async (meta: LabelMeta): Promise<void> => {
    const consents = await c.ledger.queries.consentsOf(meta.patient)
    const consent = consents.find(x => equals(x.grantee, c.ledger.self) && x.action === 'grant' && x.purpose === 'training')
    if (consent === undefined) return
    const use = meta.use === 'validation' ? 'validate' : 'train'
    const marker = use === 'train' ? toHex(consent.tx) : `${toHex(consent.tx)}.validate`
    if (await c.store.usedUnder(meta.cid, marker)) return
    await c.ledger.submitOwn('access.log', { patient: meta.patient, image: CID.parse(meta.cid), accessor: c.ledger.self, basis: 'consent', consent: consent.tx, use })
    await c.store.markUsed(meta.cid, marker)
  }

  /** The item of one label: loaded (decrypted, decoded, logged) only if the consent filter keeps it. */
  const itemOf = (meta: LabelMeta): TrainingItem => ({
    patient: meta.patient,
    cid: CID.parse(meta.cid),
    record: meta.record ?? undefined,
    load: async () => {
      await logFirstUse(meta)
      const hit = cache.get(meta.cid)
      if (hit !== undefined) return hit.sample
      const label = await c.store.get(meta.cid)
      if (label === undefined) throw new NotFoundError('the label was removed')
      const image = await decode(await ownImage(meta.cid))
      if (image.width !== label.width || image.height !== label.height) throw new LabelMismatchError(label, image)
      const sample = { image, mask: label.mask }
      remember(meta.cid, sample)
      return sample
    }
  })

  const itemsFor = async (use: LabelUse): Promise<TrainingItem[]> => {
    const metas = await c.store.list((cid, err) => log.warn({ cid, code: err.code }, 'label skipped'))
    return metas.filter(m => m.use === use).map(itemOf)
  }

  const filtered = async (use: LabelUse): Promise<ConsentFilterResult> =>
    await filterByTrainingConsent(await itemsFor(use), { consentsOf: async (p) => await c.ledger.queries.consentsOf(p), hospital: c.ledger.self, now: c.clock() })

  return {
    /** Attaches (or replaces) the ground-truth mask of one of this hospital's images. */
    async put (input: LabelInput): Promise<LabelMeta> {
      const image = await ownImage(input.cid)
      if (detectFormat(input.maskPng) !== 'png') throw new MedichainError('UNSUPPORTED_FORMAT', 'a mask is a PNG image')
      const maskImage = await c.decoder.withImage({ bytes: input.maskPng, format: 'png' }, async mask => mask)
      const decoded = await decode(image)
      if (decoded.width !== maskImage.width || decoded.height !== maskImage.height) throw new LabelMismatchError(maskImage, decoded)
      const { mask, lesionPixels } = binarise(maskImage)
      const label: Label = {
        cid: image.raw.toString(),
        patient: image.patient,
        record: image.record,
        use: input.use ?? defaultUse(image.raw.toString()),
        width: decoded.width,
        height: decoded.height,
        lesionPixels,
        author: input.author,
        time: c.clock(),
        mask
      }
      await c.store.put(label)
      forget(label.cid)
      log.info({ cid: label.cid, use: label.use }, 'label stored')
      const { mask: _mask, ...meta } = label
      return meta
    },

    /** The label's facts (no mask) of one of this hospital's images, or NOT_FOUND. */
    async get (cid: string): Promise<LabelMeta> {
      await ownImage(cid)
      const label = await c.store.get(cid)
      if (label === undefined) throw new NotFoundError('this image has no label')
      const { mask: _mask, ...meta } = label
      return meta
    },

    /** Removes a label; NOT_FOUND when there was none. */
    async delete (cid: string): Promise<void> {
      await ownImage(cid)
      if (!await c.store.delete(cid)) throw new NotFoundError('this image has no label')
      forget(cid)
      log.info({ cid }, 'label removed')
    },

    /** Federated learning's training set: labelled for training (the participant filters by consent). */
    trainingSet: async (): Promise<TrainingItem[]> => await itemsFor('train'),

    /** The coordinator's held-out set: labelled for validation and under a live training consent. */
    async validationSet (): Promise<TrainSample[]> {
      const { kept } = await filtered('validation')
      const out: TrainSample[] = []
      for (const item of kept) out.push(await sampleOf(item))
      return out
    },

    /** How many images are labelled and how many the consent filter would let training read now. */
    async summary (): Promise<TrainingSummary> {
      const counts = async (use: LabelUse): Promise<TrainingSummary['eligible'][LabelUse]> => {
        const r = await filtered(use)
        return { total: r.total, kept: r.kept.length, excluded: r.excluded, reasons: r.reasons }
      }
      const train = await counts('train')
      const validation = await counts('validation')
      return { labelled: { train: train.total, validation: validation.total }, eligible: { train, validation } }
    }
  }
}

/** The labelling service type. */
export type Labels = ReturnType<typeof createLabels>

/** Parses a CID path parameter into its canonical string, or INVALID. */
export function cidParam (value: string | undefined): string {
  try {
    return CID.parse(value ?? '').toString()
  } catch {
    throw new InvalidRequestError('cid: expected a CID string')
  }
}
