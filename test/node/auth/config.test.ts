// The `auth` block of the config file: defaults when absent, fields taken from the file with the
// rest defaulted, and every out-of-range or mistyped value rejected with INVALID_CONFIG.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { AUTH_DEFAULTS } from '../../../node/auth/constants.ts'
import { loadConfig } from '../../../node/config/index.ts'
import { rejects } from '../../helpers/assert.ts'
import { configFolder } from '../../helpers/config-folder.ts'

const folder = configFolder(test, 'medichain-auth-config-')
const { withFile } = folder

test('without an auth block the defaults apply: N = 2^17, 30 min idle, 12 h absolute, no Secure', async () => {
  const c = await loadConfig({ cwd: folder.cwd, env: {} })
  assert.equal(c.auth, { scryptN: 2 ** 17, sessionIdleMs: 30 * 60_000, sessionMaxMs: 12 * 3_600_000, secureCookies: false })
  assert.equal(c.auth, { ...AUTH_DEFAULTS })
})

test('fields given in the file win, the others keep their defaults', async () => {
  await withFile({ auth: { scryptN: 2 ** 15, secureCookies: true } })
  const c = await loadConfig({ cwd: folder.cwd, env: {} })
  assert.equal(c.auth, { scryptN: 2 ** 15, sessionIdleMs: 30 * 60_000, sessionMaxMs: 12 * 3_600_000, secureCookies: true })
  await withFile({ auth: { sessionIdleMs: 60_000, sessionMaxMs: 60_000 } })
  assert.equal((await loadConfig({ cwd: folder.cwd, env: {} })).auth.sessionMaxMs, 60_000)
})

test('throttling limits and trusted proxies come from the file', async () => {
  await withFile({ auth: { limits: { signUpsPerClient: 1000, perClient: 500, windowMs: 3_600_000 } }, http: { trustProxy: ['10.0.0.5', '10.1.0.0/16', '::1'] } })
  const c = await loadConfig({ cwd: folder.cwd, env: {} })
  assert.equal(c.auth.limits, { signUpsPerClient: 1000, perClient: 500, windowMs: 3_600_000 })
  assert.equal(c.http.trustProxy, ['10.0.0.5', '10.1.0.0/16', '::1'])
  await withFile({})
  assert.equal((await loadConfig({ cwd: folder.cwd, env: {} })).http.trustProxy, [], 'no proxy is trusted by default')
})

test('bad auth values are INVALID_CONFIG', async () => {
  const cases: unknown[] = [
    { auth: { scryptN: 2 ** 13 } },
    { auth: { scryptN: 2 ** 21 } },
    { auth: { scryptN: 100_000 } },
    { auth: { scryptN: '131072' } },
    { auth: { sessionIdleMs: 59_999 } },
    { auth: { sessionIdleMs: 1.5e6 + 0.5 } },
    { auth: { sessionMaxMs: 8 * 86_400_000 } },
    { auth: { sessionIdleMs: 2 * 3_600_000, sessionMaxMs: 3_600_000 } },
    { auth: { sessionIdleMs: 13 * 3_600_000 } },
    { auth: { secureCookies: 'yes' } },
    { auth: { pepper: 'x' } },
    { auth: [] },
    { auth: null },
    { auth: { limits: { perClient: 0 } } },
    { auth: { limits: { signUpsPerClient: 1.5 } } },
    { auth: { limits: { windowMs: 999 } } },
    { auth: { limits: { perIp: 20 } } },
    { auth: { limits: [] } },
    { http: { trustProxy: '127.0.0.1' } },
    { http: { trustProxy: ['proxy.example'] } },
    { http: { trustProxy: ['10.0.0.0/33'] } },
    { http: { trustProxy: [7] } }
  ]
  for (const c of cases) {
    await withFile(c)
    await rejects(async () => await loadConfig({ cwd: folder.cwd, env: {} }), 'INVALID_CONFIG')
  }
})

test.run()
