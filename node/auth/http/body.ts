// A bounded JSON body reader for koa: `application/json` only (415 otherwise), a size cap checked
// against Content-Length first and then while streaming (413), strict UTF-8 and JSON (400).
import type { IncomingMessage } from 'node:http'
import type { Context } from 'koa'
import { TooLargeError } from '../../../protocol/errors.ts'
import { MAX_JSON_BYTES } from '../constants.ts'
import { InvalidJsonError, UnsupportedMediaTypeError } from '../errors.ts'

/** True when the Content-Type is JSON in UTF-8 (RFC 8259 §8.1: JSON text exchanged between systems is UTF-8). */
function isJsonType (header: string | undefined): boolean {
  if (header === undefined) return false
  const [type, ...params] = header.split(';').map(s => s.trim().toLowerCase())
  if (type !== 'application/json') return false
  return params.every(p => !p.startsWith('charset=') || p === 'charset=utf-8' || p === 'charset="utf-8"')
}

/**
 * The body bytes, up to `limit`. Past the limit it stops keeping chunks and rejects, leaving the
 * stream flowing so Node discards the rest; destroying it would cut the socket before the 413.
 */
async function collect (req: IncomingMessage, limit: number, tooLarge: () => Error): Promise<Buffer> {
  return await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = (): void => {
      req.off('data', onData)
      req.off('end', onEnd)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size <= limit) {
        chunks.push(chunk)
        return
      }
      done()
      req.resume()
      reject(tooLarge())
    }
    const onEnd = (): void => {
      done()
      resolve(Buffer.concat(chunks))
    }
    // Stays attached: a client that hangs up mid-body must not become an unhandled 'error'.
    const onError = (err: Error): void => {
      done()
      reject(err)
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  })
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** The body, refused with TooLargeError (and `Connection: close`) past `limit` bytes. */
async function boundedBody (ctx: Context, limit: number): Promise<Buffer> {
  const tooLarge = (): TooLargeError => {
    ctx.set('Connection', 'close')
    return new TooLargeError(`the request body may be at most ${limit} bytes`)
  }
  const declared = ctx.get('content-length')
  if (declared !== '' && Number(declared) > limit) throw tooLarge()
  return await collect(ctx.req, limit, tooLarge)
}

/**
 * Reads a binary body of one of the media `types` (415 otherwise), up to `limit` bytes (413).
 */
export async function readBytes (ctx: Context, limit: number, types: readonly string[]): Promise<Uint8Array> {
  const type = (ctx.get('content-type') || '').split(';')[0].trim().toLowerCase()
  if (!types.includes(type)) throw new UnsupportedMediaTypeError(`expected a body of type ${types.join(' or ')}`)
  return new Uint8Array(await boundedBody(ctx, limit))
}

/**
 * Reads and parses the request body. Throws UnsupportedMediaTypeError (415), TooLargeError (413)
 * or InvalidJsonError (400). A body refused for size gets `Connection: close`, so the rest of an
 * oversized upload is not read.
 */
export async function readJson (ctx: Context, limit = MAX_JSON_BYTES): Promise<unknown> {
  if (!isJsonType(ctx.get('content-type') || undefined)) throw new UnsupportedMediaTypeError()
  const body = await boundedBody(ctx, limit)
  let text: string
  try {
    text = decoder.decode(body)
  } catch {
    throw new InvalidJsonError('the request body is not valid UTF-8')
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new InvalidJsonError()
  }
}
