// The JSON body reader through the sign-up and sign-in routes: garbage JSON, bad UTF-8, empty
// bodies, wrong content types and oversized bodies (declared or streamed) each get a 4xx with a
// code, store nothing, and the peer keeps serving.
import { request } from 'node:http'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MAX_JSON_BYTES } from '../../../node/auth/constants.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { call, newUser, signUpBody, startAuth, stopAll } from './fixture.ts'

test.after.each(stopAll)

test('garbage, non-UTF-8 and empty bodies are INVALID_JSON', async () => {
  const h = await startAuth()
  const bodies: Array<string | Uint8Array<ArrayBuffer>> = ['{"username": "pat", ', 'not json at all', '', new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])]
  for (const body of bodies) {
    for (const path of ['/api/auth/sign-up', '/api/auth/sign-in']) {
      const reply = await call(h.url, path, { raw: { body, type: 'application/json' } })
      assert.is(reply.status, 400, `${path} ${String(body)}`)
      assert.is(reply.body?.code, 'INVALID_JSON')
    }
  }
  assert.is((await call(h.url, '/api/health')).status, 200)
})

test('a body that is not application/json in UTF-8 is 415', async () => {
  const h = await startAuth()
  const json = JSON.stringify(signUpBody(h.ledger, newUser(), 'pat', 'patient'))
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', undefined]) {
    const reply = await call(h.url, '/api/auth/sign-up', { raw: { body: json, type } })
    assert.is(reply.status, 415, String(type))
    assert.is(reply.body?.code, 'UNSUPPORTED_MEDIA_TYPE')
  }
  assert.is(await h.auth.accounts.get('pat'), undefined)
  const ok = await call(h.url, '/api/auth/sign-up', { raw: { body: json, type: 'Application/JSON; charset=UTF-8' } })
  assert.is(ok.status, 201)
})

test('an oversized body is 413 and nothing is stored', async () => {
  const h = await startAuth()
  const body = signUpBody(h.ledger, newUser(), 'pat', 'patient', { padding: 'x'.repeat(MAX_JSON_BYTES) })
  const reply = await call(h.url, '/api/auth/sign-up', { json: body })
  assert.is(reply.status, 413)
  assert.is(reply.body?.code, 'TOO_LARGE')
  assert.is(await h.auth.accounts.get('pat'), undefined)
  assert.is((await call(h.url, '/api/health')).status, 200)
})

test('an oversized body sent without Content-Length is cut off at the limit', async () => {
  const h = await startAuth()
  const { hostname, port } = new URL(h.url)
  const status = await new Promise<{ status: number, body: string }>((resolve, reject) => {
    const req = request({ hostname, port, path: '/api/auth/sign-in', method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    // The server may close the socket before every chunk is written: that is the point.
    req.on('error', reject)
    const chunk = Buffer.alloc(16 * 1024, 0x20)
    let sent = 0
    const pump = (): void => {
      while (sent < MAX_JSON_BYTES * 4) {
        sent += chunk.length
        if (!req.write(chunk)) {
          req.once('drain', pump)
          return
        }
      }
      req.end()
    }
    pump()
  })
  assert.is(status.status, 413)
  assert.is(JSON.parse(status.body).code, 'TOO_LARGE')
  assert.is((await call(h.url, '/api/health')).status, 200)
})

test('a declared oversized body is refused before any of it arrives', async () => {
  const h = await startAuth()
  const { hostname, port } = new URL(h.url)
  const reply = new Promise<number>((resolve, reject) => {
    const req = request({ hostname, port, path: '/api/auth/sign-up', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
      req.destroy()
    })
    req.on('error', reject)
    // Headers only: the body never comes, so only the Content-Length check can answer.
    req.flushHeaders()
  })
  assert.is(await withTimeout(reply, 5000, 'the 413'), 413)
})

test('a body that is JSON but not an object is BAD_SCHEMA', async () => {
  const h = await startAuth()
  for (const body of ['[]', '"pat"', 'null', '42']) {
    const reply = await call(h.url, '/api/auth/sign-in', { raw: { body, type: 'application/json' } })
    assert.is(reply.status, 400, body)
    assert.is(reply.body?.code, 'BAD_SCHEMA')
  }
})

test('a GET to a POST route is 405, an unknown auth route 404', async () => {
  const h = await startAuth()
  const get = await call(h.url, '/api/auth/sign-in')
  assert.is(get.status, 405)
  assert.is(get.body?.code, 'METHOD_NOT_ALLOWED')
  assert.is((await call(h.url, '/api/auth/nothing-here')).status, 404)
})

test.run()
