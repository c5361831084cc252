// The research export tokens (node/research/export-tokens.ts): a token reads only its export,
// stops at its expiry, when its export is ended and when its researcher's sessions end, and a
// token with one character changed, or a viewer token's shape, is refused alike. A researcher
// holds a bounded number of live tokens.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ExportTokens, MAX_EXPORT_TOKENS_PER_USER } from '../../node/research/export-tokens.ts'

const EXPORT = 'ab'.repeat(32)

function throwsCode (fn: () => unknown, code: string): void {
  try {
    fn()
  } catch (err) {
    assert.is((err as { code?: string }).code, code)
    return
  }
  assert.unreachable(`expected ${code}`)
}

test('a token names its researcher and export until it expires', () => {
  let now = 1_000_000
  const tokens = new ExportTokens(() => now)
  const token = tokens.issue('res', EXPORT, now + 60_000)
  assert.ok(token.startsWith('mcrx_'))
  assert.equal(tokens.check(token), { username: 'res', exportId: EXPORT })
  now += 60_000
  throwsCode(() => tokens.check(token), 'UNAUTHENTICATED')
})

test('a changed, foreign or ended token is refused', () => {
  const tokens = new ExportTokens(() => 0)
  const token = tokens.issue('res', EXPORT, 60_000)
  const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')
  throwsCode(() => tokens.check(flipped), 'UNAUTHENTICATED')
  throwsCode(() => tokens.check(`mcdw_${token.slice(5)}`), 'UNAUTHENTICATED')
  throwsCode(() => tokens.check(''), 'UNAUTHENTICATED')
  const other = tokens.issue('res', 'cd'.repeat(32), 60_000)
  tokens.endExport(EXPORT, 'someone-else')
  assert.is(tokens.check(token).exportId, EXPORT, 'only its own researcher ends an export')
  tokens.endExport(EXPORT, 'res')
  throwsCode(() => tokens.check(token), 'UNAUTHENTICATED')
  assert.is(tokens.check(other).exportId, 'cd'.repeat(32), 'the other export\'s token stays')
  tokens.endAll('res')
  throwsCode(() => tokens.check(other), 'UNAUTHENTICATED')
})

test('past the per-researcher bound, a new token ends the oldest', () => {
  const tokens = new ExportTokens(() => 0)
  const issued = Array.from({ length: MAX_EXPORT_TOKENS_PER_USER + 1 }, () => tokens.issue('res', EXPORT, 60_000))
  throwsCode(() => tokens.check(issued[0]), 'UNAUTHENTICATED')
  for (const t of issued.slice(1)) assert.is(tokens.check(t).username, 'res')
  assert.is(tokens.check(tokens.issue('other', EXPORT, 60_000)).username, 'other', 'another researcher\'s tokens are apart')
  assert.is(tokens.check(issued[1]).username, 'res')
})

test.run()
