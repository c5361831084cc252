// One file upload with progress. fetch cannot report upload progress, and streaming request
// bodies need HTTP/2 in Chromium, so this uses XMLHttpRequest's upload events (XHR Living
// Standard §4.7). Errors come back as the SDK's ApiError/NetworkError, with the same codes.
import { ApiError, NetworkError, parseRetryAfter, uploadForm } from '../../../protocol/client/client.ts'
import type { UploadCard } from '../../../protocol/client/client.ts'
import { MedichainError } from '../../../protocol/errors.ts'

/** What to send and whom to tell. */
export interface UploadRequest {
  url: string
  file: Blob
  fileName: string
  /** The description and date sealed into the image's card with the file name. */
  card?: UploadCard
  csrfToken: string | null
  onProgress: (sent: number, total: number) => void
  signal?: AbortSignal
}

/** Posts `file` as multipart/form-data field `file`; resolves to the JSON answer. */
export function uploadWithProgress (req: UploadRequest): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', req.url)
    xhr.responseType = 'text'
    if (req.csrfToken !== null) xhr.setRequestHeader('x-csrf-token', req.csrfToken)
    xhr.upload.addEventListener('progress', (e) => { req.onProgress(e.loaded, e.lengthComputable ? e.total : req.file.size) })
    xhr.addEventListener('load', () => {
      let body: unknown = null
      try { body = xhr.responseText === '' ? null : JSON.parse(xhr.responseText) } catch { body = null }
      if (xhr.status >= 200 && xhr.status < 300) { resolve(body); return }
      const b = (typeof body === 'object' && body !== null ? body : {}) as { code?: unknown, message?: unknown }
      reject(new ApiError(xhr.status, typeof b.code === 'string' ? b.code : `HTTP_${xhr.status}`, typeof b.message === 'string' ? b.message : xhr.statusText, parseRetryAfter(xhr.getResponseHeader('retry-after'))))
    })
    xhr.addEventListener('error', () => { reject(new NetworkError('the upload could not reach the peer')) })
    xhr.addEventListener('abort', () => { reject(new MedichainError('ABORTED', 'the upload was cancelled')) })
    req.signal?.addEventListener('abort', () => { xhr.abort() }, { once: true })
    xhr.send(uploadForm(req.file, req.fileName, req.card))
  })
}
