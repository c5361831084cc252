// Internet noise at a real peer: methods no route implements (WebDAV's PROPFIND, MKCOL, LOCK…)
// answer 405 with `Allow` on a path some route serves and 501 elsewhere, each with a code; a
// client that hangs up mid-body costs one log line; none of it logs a stack, and a flood of it
// is rate-limited in the log.
import { request } from 'node:http'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CLIENT_NOISE_LOG } from '../../../node/http/middleware/errors.ts'
import { createLogger } from '../../../node/logger.ts'
import { startHospitals, stopHospitals } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { waitFor, withTimeout } from '../../helpers/timeout.ts'

interface Line { level: number, msg: string, err?: { stack?: string }, code?: string, suppressed?: number }

let hospitals: Hospital[] = []
let lines: Line[] = []

test.before(async () => {
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => { lines.push(JSON.parse(l) as Line) } } })
  hospitals = await startHospitals(1, { logger })
})
test.after(async () => { await stopHospitals(hospitals) })
test.before.each(() => { lines = [] })

const noStacks = (): void => {
  const withStack = lines.filter(l => l.err?.stack !== undefined || l.level >= 50)
  assert.equal(withStack.map(l => l.msg), [], 'no error line and no stack in the log')
}

test('unknown methods answer 405 with Allow on a known path, 501 elsewhere, with codes and no stack', async () => {
  const { url } = hospitals[0]
  for (const method of ['PROPFIND', 'MKCOL', 'LOCK', 'UNLOCK', 'PROPPATCH', 'COPY', 'MOVE', 'SEARCH']) {
    const known = await fetch(`${url}/api/health`, { method })
    assert.is(known.status, 405, `${method} /api/health`)
    assert.is((await known.json() as { code: string }).code, 'METHOD_NOT_ALLOWED')
    assert.ok(known.headers.get('allow')?.includes('GET'), 'Allow lists the methods of the path')
    const unknown = await fetch(`${url}/api/no-such-route`, { method })
    assert.is(unknown.status, 501, `${method} on an unknown path`)
    assert.is((await unknown.json() as { code: string }).code, 'NOT_IMPLEMENTED')
  }
  const post = await fetch(`${url}/api/auth/sign-in`, { method: 'PROPFIND' })
  assert.is(post.status, 405)
  assert.is(post.headers.get('allow'), 'POST')
  noStacks()
  assert.is((await fetch(`${url}/api/health`)).status, 200, 'the peer keeps serving')
})

test('a flood of unknown methods is rate-limited in the log', async () => {
  const { url } = hospitals[0]
  const n = CLIENT_NOISE_LOG.perWindow * 4
  for (let i = 0; i < n; i++) await (await fetch(`${url}/x${i}`, { method: 'MKCOL' })).arrayBuffer()
  const refused = lines.filter(l => l.msg === 'request refused' && l.code === 'NOT_IMPLEMENTED')
  assert.ok(refused.length > 0, 'the first ones are logged')
  assert.ok(refused.length <= CLIENT_NOISE_LOG.perWindow, `at most ${CLIENT_NOISE_LOG.perWindow} lines, got ${refused.length}`)
  noStacks()
})

test('a client that aborts mid-body costs one log line without a stack', async () => {
  const { url } = hospitals[0]
  const closed = new Promise<void>((resolve) => {
    const req = request(`${url}/api/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '4096' } })
    req.on('error', () => resolve())
    req.on('close', () => resolve())
    // Half a body, then the socket goes away once the server has started reading it.
    req.write('{"username": "someone", "password": "', () => { setImmediate(() => req.destroy()) })
  })
  await withTimeout(closed, 5000, 'the aborted request to close')
  await waitFor(() => lines.some(l => l.msg === 'client aborted the request'), { timeout: 5000, what: 'the abort to be logged' })
  // Both the body reader and koa's own 'error' event see the abort; later requests let either run.
  for (let i = 0; i < 5; i++) assert.is((await fetch(`${url}/api/health`)).status, 200)
  assert.is(lines.filter(l => /abort/i.test(l.msg)).length, 1, 'one line for the abort')
  noStacks()
})

test.run()
