// Worker thread body of the decode pool: reads an uploaded file and decodes it with loadImage, off
// the main thread, so a slow or hostile image never stalls HTTP, gossip or the ledger. A large
// DICOM is read without the Pixel Data past its first frame (../dicom/file.ts). The pixels go back
// by transfer, not by copy. On request it also makes the image card's preview (thumbnail
// and, for DICOM, the header's date and descriptions), which go back only to be sealed.
import { parentPort } from 'node:worker_threads'
import { MedichainError } from '../../../protocol/errors.ts'
import { imageToInput } from '../../ai/model/preprocess.ts'
import type { ImageMeta } from '../../../protocol/image-meta.ts'
import { dicomCardFields } from '../dicom/card.ts'
import { readImageFile } from '../dicom/file.ts'
import type { DicomScaling } from '../dicom/decode.ts'
import type { ImageLimits } from '../limits.ts'
import { loadImage } from '../load.ts'
import { loadCodecs } from '../dicom/codecs.ts'
import { makeThumbnail } from '../derived/thumbnail.ts'
import type { DecodedImage, ImageFormat } from '../types.ts'

/** A request: decode the file at `path`, or `bytes`, under `limits`. */
export interface DecodeRequest {
  id: number
  path?: string
  bytes?: Uint8Array
  format?: ImageFormat
  limits: ImageLimits
  dicomScaling?: DicomScaling
  /** Side of the analyser's model input: the worker prepares that input too (imageToInput). */
  modelInput?: number
  /** Also make the card preview: a thumbnail, plus date, descriptions and modality from a DICOM header. */
  preview?: boolean
}

/** The parts of an image card the worker can read from the file itself. */
export type ImagePreview = Pick<ImageMeta, 'thumbnail' | 'date' | 'description' | 'modality'>

/** The answer: the image, or the typed error's code and message (never a stack or file content). */
export type DecodeResponse = { id: number, ok: true, image: DecodedImage, input?: Float32Array, preview?: ImagePreview } | { id: number, ok: false, code: string, message: string }

/** The card preview; a header the decoder accepted but whose text attributes do not read gives a thumbnail alone. */
function previewOf (bytes: Uint8Array, image: DecodedImage): ImagePreview {
  const preview: ImagePreview = { thumbnail: makeThumbnail(image) }
  if (image.format !== 'dicom') return preview
  try {
    return { ...dicomCardFields(bytes), ...preview }
  } catch {
    return preview
  }
}

async function decode (req: DecodeRequest): Promise<{ image: DecodedImage, input?: Float32Array, preview?: ImagePreview }> {
  // The WebAssembly codecs of compressed DICOM compile once per worker, before its first decode.
  await loadCodecs()
  const bytes = req.bytes ?? await readImageFile(req.path ?? '')
  const image = loadImage(bytes, req.format, { limits: req.limits, dicomScaling: req.dicomScaling })
  return {
    image,
    ...(req.modelInput === undefined ? {} : { input: imageToInput(image, req.modelInput) }),
    ...(req.preview === true ? { preview: previewOf(bytes, image) } : {})
  }
}

parentPort?.on('message', (req: DecodeRequest) => {
  decode(req).then(({ image, input, preview }) => {
    const res: DecodeResponse = { id: req.id, ok: true, image, ...(input === undefined ? {} : { input }), ...(preview === undefined ? {} : { preview }) }
    const buffers = [image.pixels.buffer, input?.buffer].filter(b => b instanceof ArrayBuffer)
    parentPort?.postMessage(res, buffers)
  }, (err: unknown) => {
    // loadImage throws only typed errors; anything else is the file system (a missing temp file).
    const res: DecodeResponse = err instanceof MedichainError
      ? { id: req.id, ok: false, code: err.code, message: err.message }
      : { id: req.id, ok: false, code: 'INTERNAL', message: 'the decode worker could not read the file' }
    parentPort?.postMessage(res)
  })
})
