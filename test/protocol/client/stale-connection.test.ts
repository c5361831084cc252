// The SDK when a pooled keep-alive connection turns out closed by the server before it answered
// (the server's idle timeout racing the connection's reuse, seen after a long in-process export):
// a read is sent again and succeeds; a write is never sent twice and fails with NETWORK; any other
// failure to connect is NETWORK at once. The server is real; the fetch handed to the client fails
// its first call the way undici does on such a socket ("fetch failed", cause UND_ERR_SOCKET), since
// the race itself cannot be timed from a test.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { MedichainClient } from '../../../protocol/client/client.ts'
import { rejects } from '../../helpers/assert.ts'

/** A real server that answers every request with {"ok":true}, and the requests it saw. */
async function server (): Promise<{ url: string, seen: string[], close: () => Promise<void> }> {
  const seen: string[] = []
  const s = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`)
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"ok":true}')
  })
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    seen,
    close: async () => { s.closeAllConnections(); await new Promise(resolve => s.close(resolve)) }
  }
}

/** The platform fetch, except that its first call fails as undici does on a socket closed under it. */
function firstCallMeetsClosedSocket (code = 'UND_ERR_SOCKET'): typeof fetch {
  let calls = 0
  return async (input, init) => {
    if (calls++ === 0) throw new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code }) })
    return await fetch(input, init)
  }
}

test('a read on a connection closed under it is sent again and succeeds', async () => {
  const s = await server()
  try {
    const client = new MedichainClient({ baseUrl: s.url, fetch: firstCallMeetsClosedSocket() })
    assert.is(await (await client.request('GET', '/a')).text(), '{"ok":true}')
    assert.equal(s.seen, ['GET /a'])
    const reset = new MedichainClient({ baseUrl: s.url, fetch: firstCallMeetsClosedSocket('ECONNRESET') })
    assert.is((await reset.request('GET', '/b')).status, 200)
  } finally {
    await s.close()
  }
})

test('a write is never sent twice: NETWORK', async () => {
  const s = await server()
  try {
    const client = new MedichainClient({ baseUrl: s.url, fetch: firstCallMeetsClosedSocket() })
    await rejects(async () => await client.request('POST', '/w', { n: 1 }), 'NETWORK')
    assert.equal(s.seen, [], 'the write was not sent again')
  } finally {
    await s.close()
  }
})

test('a peer that cannot be reached is NETWORK at once, for reads too', async () => {
  const s = await server()
  await s.close()
  let calls = 0
  const counting: typeof fetch = async (input, init) => { calls++; return await fetch(input, init) }
  const client = new MedichainClient({ baseUrl: s.url, fetch: counting })
  await rejects(async () => await client.request('GET', '/a'), 'NETWORK')
  assert.is(calls, 1, 'a refused connection is not retried')
})

test.run()
