// A multipart/form-data body (RFC 7578) for an upload whose file is already in memory as bytes
// (the SDK in Node, the benchmarks, tools), kept as its pieces: the parts' heads and the file itself,
// never copied. The client sends them in order (request-body.ts), where a FormData with a Blob goes
// through a web stream that copies every piece again: for a 105 MB image that was about a second
// of the sender's CPU, and one array built from the pieces cost three copies of the file, one here
// and two in fetch (docs/benchmarks.md). Browsers upload a File through FormData, which they encode
// natively.

/** A request body with its exact Content-Type: its pieces, sent in order and as they are. */
export class EncodedBody {
  readonly pieces: readonly Uint8Array[]
  readonly type: string
  /** Bytes in all. */
  readonly length: number
  constructor (pieces: Uint8Array[], type: string) {
    this.pieces = pieces
    this.type = type
    this.length = pieces.reduce((n, p) => n + p.length, 0)
  }

  /** The body as one array (a copy). */
  get bytes (): Uint8Array {
    const body = new Uint8Array(this.length)
    let at = 0
    for (const p of this.pieces) {
      body.set(p, at)
      at += p.length
    }
    return body
  }
}

/** One part: a text field, or a file with its name. */
export type MultipartPart = { name: string, value: string } | { name: string, file: Uint8Array, fileName: string, type?: string }

/**
 * Escapes a field or file name inside a quoted Content-Disposition parameter the way browsers do
 * (WHATWG HTML, "multipart/form-data encoding algorithm"): `"` → %22, CR → %0D, LF → %0A.
 */
function quoted (name: string): string {
  return name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

/**
 * A boundary of 32 random hex digits after a fixed prefix. RFC 7578 §4.1 asks that it not occur
 * in the content: with 128 random bits that is left to chance, as browsers leave it.
 */
function newBoundary (): string {
  const random = new Uint8Array(16)
  globalThis.crypto.getRandomValues(random)
  return `----medichain${Array.from(random, b => b.toString(16).padStart(2, '0')).join('')}`
}

/** Encodes `parts` as one multipart/form-data body; the file's bytes are one of its pieces, not copied. */
export function multipartBody (parts: MultipartPart[]): EncodedBody {
  const enc = new TextEncoder()
  const boundary = newBoundary()
  const pieces: Uint8Array[] = []
  for (const p of parts) {
    const head = 'file' in p
      ? `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(p.name)}"; filename="${quoted(p.fileName)}"\r\nContent-Type: ${p.type ?? 'application/octet-stream'}\r\n\r\n`
      : `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(p.name)}"\r\n\r\n`
    // Text values go with CRLF line ends, as a browser's FormData sends them.
    pieces.push(enc.encode(head), 'file' in p ? p.file : enc.encode(p.value.replace(/\r?\n|\r/g, '\r\n')), enc.encode('\r\n'))
  }
  pieces.push(enc.encode(`--${boundary}--\r\n`))
  return new EncodedBody(pieces, `multipart/form-data; boundary=${boundary}`)
}
