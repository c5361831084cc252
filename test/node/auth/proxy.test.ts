// Throttling behind a reverse proxy (issue 11.8). With `http.trustProxy` naming the proxy, the
// peer counts each client by the address the proxy forwards, so one client's guesses lock out
// neither the others behind the same proxy nor the account's owner elsewhere; a forged
// X-Forwarded-For from an untrusted sender, or prepended by a client, changes nothing. Runs a
// real nginx as a child process; the test clients bind to distinct loopback addresses.
import { request } from 'node:http'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { clientAddress, TrustedProxies } from '../../../node/http/middleware/client-ip.ts'
import { findNginx, startNginx } from '../../helpers/peers/nginx.ts'
import type { Nginx } from '../../helpers/peers/nginx.ts'
import { signUp, startAuth, stopAll } from './fixture.ts'

const PASSWORD = 'correct horse battery staple'
const nginxBinary = findNginx()
let proxy: Nginx | undefined

test.after.each(async () => {
  await proxy?.stop()
  proxy = undefined
  await stopAll()
})

/** A sign-in from local address `from` (127.0.0.x), with extra headers; resolves to status and code. */
async function signInFrom (url: string, from: string, username: string, password: string, headers: Record<string, string> = {}): Promise<{ status: number, code: string | undefined }> {
  const body = JSON.stringify({ username, password })
  return await new Promise((resolve, reject) => {
    const req = request(`${url}/api/auth/sign-in`, { method: 'POST', localAddress: from, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { text += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: text === '' ? undefined : (JSON.parse(text) as { code?: string }).code }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

test('only a trusted proxy\'s X-Forwarded-For is read, from the right, skipping trusted hops', () => {
  const trusted = new TrustedProxies(['127.0.0.1', '10.0.0.0/8', '::1'])
  assert.is(clientAddress('127.0.0.1', '203.0.113.7', trusted), '203.0.113.7')
  assert.is(clientAddress('::ffff:127.0.0.1', '203.0.113.7', trusted), '203.0.113.7', 'IPv4-mapped socket address')
  assert.is(clientAddress('198.51.100.1', '203.0.113.7', trusted), '198.51.100.1', 'an untrusted sender is the client')
  assert.is(clientAddress('127.0.0.1', '1.2.3.4, 203.0.113.7', trusted), '203.0.113.7', 'what the client prepended is ignored')
  assert.is(clientAddress('127.0.0.1', '203.0.113.7, 10.1.2.3', trusted), '203.0.113.7', 'a chain of trusted proxies')
  assert.is(clientAddress('127.0.0.1', 'junk, 203.0.113.7', trusted), '203.0.113.7')
  assert.is(clientAddress('127.0.0.1', '203.0.113.7, junk', trusted), '127.0.0.1', 'a malformed last hop stops at the proxy')
  assert.is(clientAddress('127.0.0.1', undefined, trusted), '127.0.0.1')
  assert.is(clientAddress('127.0.0.1', '1.2.3.4', new TrustedProxies([])), '127.0.0.1', 'nothing is trusted by default')
  assert.throws(() => new TrustedProxies(['not-an-ip']))
  assert.throws(() => new TrustedProxies(['10.0.0.0/33']))
})

test('behind nginx, one client\'s guesses lock out neither other clients nor the owner', async () => {
  if (nginxBinary === undefined) {
    if (process.env.CI === 'true') assert.unreachable('nginx is not installed (CI installs nginx-light)')
    console.log('SKIP: nginx is not installed; install nginx-light to run the reverse-proxy test')
    return
  }
  const h = await startAuth({ limits: { perClient: 20 } }, { trustProxy: ['127.0.0.1'] })
  await signUp(h, 'alice', 'patient')
  await signUp(h, 'bob', 'patient')
  proxy = await startNginx(nginxBinary, h.url)
  const attacker = '127.0.0.2'
  const alice = '127.0.0.3'
  const bob = '127.0.0.4'
  // The attacker guesses at alice until throttled, forging a new X-Forwarded-For each time.
  const guesses = []
  for (let i = 0; i < 8; i++) guesses.push((await signInFrom(proxy.url, attacker, 'alice', `guess number ${i}`, { 'x-forwarded-for': `198.51.100.${i}` })).code)
  assert.equal(guesses.slice(0, 5), Array(5).fill('BAD_CREDENTIALS'))
  assert.equal(guesses.slice(5), Array(3).fill('RATE_LIMITED'), 'forged headers do not reset the count')
  // Then sprays every name it can think of.
  for (let i = 0; i < 20; i++) await signInFrom(proxy.url, attacker, `user${i}`, 'a wrong password', { 'x-forwarded-for': `203.0.113.${i}` })
  assert.is((await signInFrom(proxy.url, attacker, 'bob', PASSWORD)).code, 'RATE_LIMITED', 'the attacker is throttled')
  assert.is((await signInFrom(proxy.url, alice, 'alice', PASSWORD)).status, 200, 'alice, behind the same proxy, signs in')
  assert.is((await signInFrom(proxy.url, bob, 'bob', PASSWORD)).status, 200, 'so does bob')
  // Straight to the peer, not through the proxy, a forged header is not believed.
  assert.is((await signInFrom(h.url, attacker, 'alice', 'another guess', { 'x-forwarded-for': '127.0.0.3' })).code, 'RATE_LIMITED')
})

test.run()
