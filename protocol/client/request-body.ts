// How a request's body goes to fetch: serialised JSON, a form, a Blob, or an upload already in
// memory kept as its pieces (multipart-body.ts), with the multipart forms of an image upload that
// carry the file and the card a person gave it (docs/api.md).
import { EncodedBody, multipartBody } from './multipart-body.ts'
import type { MultipartPart } from './multipart-body.ts'

/** What a person says about an image at upload: sealed into its card with the file name. */
export interface UploadCard { description?: string, date?: string }

/**
 * The multipart form of an upload: the file, and the card's `name`, `description` and `date`
 * fields (docs/api.md). The name always goes as a field too: a part without a file name would be
 * no file at all, so an unnamed upload sends `image` as the part's name and an empty `name`.
 */
export function uploadForm (file: Blob | Uint8Array, name: string | undefined, card: UploadCard = {}): FormData {
  const form = new FormData()
  form.append('name', name ?? '')
  if (card.description !== undefined) form.append('description', card.description)
  if (card.date !== undefined) form.append('date', card.date)
  form.append('file', file instanceof Blob ? file : new Blob([file as BlobPart]), name === undefined || name === '' ? 'image' : name)
  return form
}

/**
 * Node's fetch (undici) sends a stream body piece by piece as the pieces are, where it copies an
 * array body twice first (with the array built from the pieces, three copies of the file: about
 * 0.3 s of CPU for a 105 MB image). Browsers send a streamed body only over HTTP/2, so there an
 * EncodedBody goes as one Blob, which they build natively.
 */
const PIECES_AS_THEY_ARE = typeof process === 'object' && typeof process.versions?.node === 'string'

/** The pieces as a plain (not byte) stream, which fetch reads as they are: no copy, no transfer. */
function inOrder (pieces: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start (controller) {
      for (const p of pieces) controller.enqueue(p)
      controller.close()
    }
  })
}

/**
 * The same form as `uploadForm` for a file already in memory, kept as pieces around the file and
 * sent without copying it (protocol/client/multipart-body.ts). The caller leaves the file as it is
 * until the upload is answered.
 */
export function uploadBody (file: Uint8Array, name: string | undefined, card: UploadCard = {}): EncodedBody {
  const parts: MultipartPart[] = [{ name: 'name', value: name ?? '' }]
  if (card.description !== undefined) parts.push({ name: 'description', value: card.description })
  if (card.date !== undefined) parts.push({ name: 'date', value: card.date })
  parts.push({ name: 'file', file, fileName: name === undefined || name === '' ? 'image' : name })
  return multipartBody(parts)
}

/** What fetch is given for a request body: the headers it implies, the body, and `duplex` for a stream. */
export interface FetchBody {
  headers: Record<string, string>
  body: BodyInit | undefined
  duplex?: 'half'
}

/** The fetch body of `body`: a string is taken as serialised JSON, any other value but a form, Blob or EncodedBody is sent as JSON. */
export function fetchBody (body: unknown): FetchBody {
  const headers: Record<string, string> = {}
  if (body === undefined) return { headers, body: undefined }
  if (body instanceof FormData) return { headers, body }
  if (body instanceof EncodedBody) {
    headers['content-type'] = body.type
    if (!PIECES_AS_THEY_ARE) return { headers, body: new Blob(body.pieces as Array<Uint8Array<ArrayBuffer>>) }
    // The declared length keeps the body unchunked, so the peer refuses an oversized upload up front.
    headers['content-length'] = String(body.length)
    return { headers, body: inOrder(body.pieces), duplex: 'half' }
  }
  if (body instanceof Blob) {
    headers['content-type'] = body.type
    return { headers, body }
  }
  headers['content-type'] = 'application/json'
  // A string is already-serialised JSON, sent as is.
  return { headers, body: typeof body === 'string' ? body : JSON.stringify(body) }
}
