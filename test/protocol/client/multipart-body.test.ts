// The SDK's multipart body (protocol/client/multipart-body.ts): busboy, the parser the peer uses,
// reads back every field and the file byte for byte, with names escaped as browsers do; the client
// sends it over real HTTP with its length declared, unchunked, and the caller's file untouched.
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import busboy from 'busboy'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { equals } from '../../../protocol/bytes.ts'
import { MedichainClient, uploadBody } from '../../../protocol/client/client.ts'
import type { EncodedBody } from '../../../protocol/client/multipart-body.ts'

interface Parsed { fields: Record<string, string>, files: Array<{ field: string, name: string | undefined, bytes: Uint8Array }> }

async function parse (body: EncodedBody | { bytes: Uint8Array, type: string }): Promise<Parsed> {
  const bb = busboy({ headers: { 'content-type': body.type }, defParamCharset: 'utf8' })
  const out: Parsed = { fields: {}, files: [] }
  const files: Array<Promise<void>> = []
  bb.on('field', (name, value) => { out.fields[name] = value })
  bb.on('file', (field, stream, info) => {
    const parts: Buffer[] = []
    stream.on('data', (p: Buffer) => parts.push(p))
    files.push(new Promise(resolve => stream.on('end', () => {
      out.files.push({ field, name: info.filename, bytes: new Uint8Array(Buffer.concat(parts)) })
      resolve()
    })))
  })
  const done = new Promise<void>((resolve, reject) => { bb.on('close', resolve); bb.on('error', reject) })
  bb.end(Buffer.from(body.bytes))
  await done
  await Promise.all(files)
  return out
}

test('every field and the file read back; names with quotes and line breaks are escaped', async () => {
  const file = new Uint8Array(randomBytes(300_000))
  const parsed = await parse(uploadBody(file, 'scan "left"\r\nknee.dcm', { description: 'two\nlines', date: '2026-12-07' }))
  assert.equal(parsed.fields, { name: 'scan "left"\r\nknee.dcm', description: 'two\r\nlines', date: '2026-12-07' })
  assert.is(parsed.files.length, 1)
  assert.is(parsed.files[0].field, 'file')
  assert.is(parsed.files[0].name, 'scan %22left%22%0D%0Aknee.dcm')
  assert.ok(equals(parsed.files[0].bytes, file))
})

test('an unnamed file goes as "image" with an empty name field; an empty file stays empty', async () => {
  const parsed = await parse(uploadBody(new Uint8Array(0), undefined))
  assert.equal(parsed.fields, { name: '' })
  assert.is(parsed.files[0].name, 'image')
  assert.is(parsed.files[0].bytes.length, 0)
})

test('each body has its own boundary', () => {
  assert.is.not(uploadBody(new Uint8Array(1), 'a').type, uploadBody(new Uint8Array(1), 'a').type)
})

test('the file is a piece of the body, not a copy', () => {
  const file = new Uint8Array(1000)
  assert.ok(uploadBody(file, 'a').pieces.includes(file))
})

test('the client sends the body over HTTP with its length, unchunked, and leaves the file as it was', async () => {
  const seen: Array<{ headers: IncomingHttpHeaders, body: Buffer }> = []
  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (p: Buffer) => parts.push(p))
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(parts) })
      res.writeHead(201, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  try {
    const client = new MedichainClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
    const file = new Uint8Array(randomBytes(3_000_000))
    const copy = file.slice()
    await client.upload('ab'.repeat(32), file, 'scan.dcm', { description: 'knee' })
    assert.is(seen.length, 1)
    const { headers, body } = seen[0]
    assert.is(headers['transfer-encoding'], undefined)
    assert.is(Number(headers['content-length']), body.length)
    const type = headers['content-type'] ?? ''
    const parsed = await parse({ bytes: new Uint8Array(body), type })
    assert.equal(parsed.fields, { name: 'scan.dcm', description: 'knee' })
    assert.ok(equals(parsed.files[0].bytes, copy))
    // Neither detached nor changed: the caller may upload it again.
    assert.is(file.byteLength, copy.length)
    assert.ok(equals(file, copy))
  } finally {
    await new Promise<void>(resolve => server.close(() => resolve()))
  }
})

test.run()
