// The HTTP error middleware: each error code maps to its status, bodies are `{code, message}`,
// unexpected errors become 500 INTERNAL with the stack in the log and nothing leaked to the client,
// and security headers are on error responses too. Runs a real koa server on port 0.
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Router } from '@koa/router'
import Koa from 'koa'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { InvalidRequestError, LedgerRuleError, MedichainError, NotFoundError, SchemaError } from '../../../protocol/errors.ts'
import { errorMiddleware, errorResponse, STATUS_BY_CODE } from '../../../node/http/middleware/errors.ts'
import { SECURITY_HEADERS, securityHeaders } from '../../../node/http/middleware/security.ts'
import { createLogger } from '../../../node/logger.ts'

const servers: Server[] = []

test.after.each(async () => {
  await Promise.all(servers.splice(0).map(async s => await new Promise(resolve => s.close(resolve))))
})

test('codes map to the documented statuses', () => {
  const expected: Record<string, number> = {
    INVALID: 400,
    BAD_SCHEMA: 400,
    BAD_ENCODING: 400,
    NON_CANONICAL: 400,
    BAD_SIGNATURE: 400,
    NOT_MEMBER: 400,
    BAD_PREV: 400,
    UNAUTHENTICATED: 401,
    FORBIDDEN: 403,
    NOT_FOUND: 404,
    CONFLICT: 409,
    DUPLICATE_TX: 409,
    REPLAYED_SEQ: 409,
    EQUIVOCATION: 409,
    TOO_LARGE: 413,
    RATE_LIMITED: 429,
    UNAVAILABLE: 503
  }
  for (const [code, status] of Object.entries(expected)) {
    const res = errorResponse(new MedichainError(code, `because ${code}`))
    assert.is(res.status, status, code)
    assert.equal(res.body, { code, message: `because ${code}` })
  }
  assert.is(errorResponse(new SchemaError('x')).status, 400)
  assert.is(errorResponse(new LedgerRuleError('DUPLICATE_TX', 'x')).status, 409)
  assert.is(errorResponse(new NotFoundError('x')).status, 404)
  assert.is(errorResponse(new InvalidRequestError('x')).status, 400)
  for (const status of Object.values(STATUS_BY_CODE)) assert.ok(status >= 400 && status < 600)
})

test('unknown codes and plain errors are 500 INTERNAL without their message', () => {
  for (const err of [new MedichainError('SOMETHING_NEW', 'secret detail'), new TypeError('secret detail'), 'a string', null]) {
    const res = errorResponse(err)
    assert.is(res.status, 500)
    assert.equal(res.body, { code: 'INTERNAL', message: 'internal error' })
  }
  const extra = errorResponse(new MedichainError('CONSENT_REVOKED', 'revoked'), { CONSENT_REVOKED: 403 })
  assert.equal(extra, { status: 403, body: { code: 'CONSENT_REVOKED', message: 'revoked' } })
})

/** A koa app with the real middleware and routes that throw what the test asks for. */
async function serve (): Promise<{ url: string, logs: string[] }> {
  const logs: string[] = []
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => { logs.push(line) } } })
  const app = new Koa()
  app.use(securityHeaders())
  app.use(errorMiddleware(logger))
  const router = new Router()
  router.get('/crash', () => { throw new TypeError('secret detail') })
  router.get('/rule', () => { throw new LedgerRuleError('REPLAYED_SEQ', 'seq 3 was already used') })
  router.get('/ok', (ctx) => { ctx.body = { fine: true } })
  app.use(router.routes())
  app.use(router.allowedMethods({ throw: true }))
  const server = createServer(app.callback())
  servers.push(server)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, logs }
}

test('an unexpected error is a 500 with the stack only in the log; the server keeps serving', async () => {
  const { url, logs } = await serve()
  const res = await fetch(`${url}/crash`)
  assert.is(res.status, 500)
  const text = await res.text()
  assert.equal(JSON.parse(text), { code: 'INTERNAL', message: 'internal error' })
  assert.not.match(text, 'secret')
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) assert.is(res.headers.get(name), value, name)
  const line = logs.map(l => JSON.parse(l) as { msg: string, err?: { stack?: string } }).find(l => l.msg === 'request failed')
  assert.ok(line?.err?.stack?.includes('secret detail'), 'the stack is logged')
  assert.is((await fetch(`${url}/ok`)).status, 200)
})

test('typed errors keep their code and message; unknown routes and methods get codes too', async () => {
  const { url } = await serve()
  const rule = await fetch(`${url}/rule`)
  assert.is(rule.status, 409)
  assert.equal(await rule.json(), { code: 'REPLAYED_SEQ', message: 'seq 3 was already used' })
  const missing = await fetch(`${url}/missing`)
  assert.is(missing.status, 404)
  assert.is((await missing.json() as { code: string }).code, 'NOT_FOUND')
  assert.is(missing.headers.get('x-content-type-options'), 'nosniff')
  const put = await fetch(`${url}/ok`, { method: 'PUT' })
  assert.is(put.status, 405)
  assert.is((await put.json() as { code: string }).code, 'METHOD_NOT_ALLOWED')
})

test.run()
