// Worker thread body of the decode pool: reads an uploaded file and decodes it with loadImage, off
// the main thread, so a slow or hostile image never stalls HTTP, gossip or the ledger. The pixels
// go back by transfer, not by copy.
import { readFile } from 'node:fs/promises'
import { parentPort } from 'node:worker_threads'
import { MedichainError } from '../../protocol/errors.ts'
import { imageToInput } from '../ai/preprocess.ts'
import type { DicomScaling } from './dicom-decode.ts'
import type { ImageLimits } from './limits.ts'
import { loadImage } from './load.ts'
import type { DecodedImage, ImageFormat } from './types.ts'

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
}

/** The answer: the image, or the typed error's code and message (never a stack or file content). */
export type DecodeResponse = { id: number, ok: true, image: DecodedImage, input?: Float32Array } | { id: number, ok: false, code: string, message: string }

async function decode (req: DecodeRequest): Promise<{ image: DecodedImage, input?: Float32Array }> {
  const bytes = req.bytes ?? new Uint8Array(await readFile(req.path ?? ''))
  const image = loadImage(bytes, req.format, { limits: req.limits, dicomScaling: req.dicomScaling })
  return req.modelInput === undefined ? { image } : { image, input: imageToInput(image, req.modelInput) }
}

parentPort?.on('message', (req: DecodeRequest) => {
  decode(req).then(({ image, input }) => {
    const res: DecodeResponse = { id: req.id, ok: true, image, ...(input === undefined ? {} : { input }) }
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
