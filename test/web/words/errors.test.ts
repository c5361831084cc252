// What people read when something fails (web/src/lib/words/errors.ts, format.ts): each code the
// accounts pages meet has its own words, a rate limit says how long to wait, an unknown code
// falls back to the server's message; and the small formats used beside them.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ApiError, NetworkError } from '../../../protocol/client/client.ts'
import { MedichainError } from '../../../protocol/errors.ts'
import { describeError } from '../../../web/src/lib/words/errors.ts'
import { formatBytes, formatScore, formatWait, isoDate, shortHex } from '../../../web/src/lib/words/format.ts'
import { mimeOf, sniffFormat } from '../../../web/src/lib/images/image-format.ts'

test('the account errors each have their own words, and keep their code', () => {
  const texts = new Set<string>()
  for (const code of ['WEAK_PASSWORD', 'USERNAME_TAKEN', 'BAD_CREDENTIALS', 'ACCOUNT_PENDING', 'ACCOUNT_LOCKED', 'BAD_PASSWORD', 'NO_CONSENT', 'UNAUTHENTICATED']) {
    const shown = describeError(new ApiError(400, code, 'server words'))
    assert.is(shown.code, code)
    assert.is.not(shown.text, 'server words')
    texts.add(shown.text)
  }
  assert.is(texts.size, 8)
})

test('labelling and FL codes have words; a size mismatch keeps the sizes; a page may word a code itself', () => {
  const mismatch = describeError(new ApiError(400, 'LABEL_MISMATCH', 'the mask is 16×16 but the image is 32×32'))
  assert.is(mismatch.code, 'LABEL_MISMATCH')
  assert.match(mismatch.text, /width and height of the image.*16×16 but the image is 32×32/)
  for (const code of ['NO_VALIDATION_SET', 'NO_MODEL', 'INTERRUPTED']) assert.is.not(describeError(new MedichainError(code, 'server words')).text, 'server words', code)
  const own = { FORBIDDEN: 'Only the custodian labels.', LABEL_MISMATCH: 'The mask must be 32×32 pixels.' }
  assert.equal(describeError(new ApiError(403, 'FORBIDDEN', 'x'), own), { code: 'FORBIDDEN', text: own.FORBIDDEN })
  assert.equal(describeError(new ApiError(400, 'LABEL_MISMATCH', 'x'), own), { code: 'LABEL_MISMATCH', text: own.LABEL_MISMATCH }, 'no server words after the page\'s own')
  assert.is(describeError(new ApiError(404, 'NOT_FOUND', 'x'), own).text, 'Not found.', 'other codes keep the general words')
})

test('a rate limit says how long to wait, from Retry-After', () => {
  assert.match(describeError(new ApiError(429, 'RATE_LIMITED', 'x', 840)).text, /14 minutes/)
  assert.match(describeError(new ApiError(429, 'RATE_LIMITED', 'x', 30)).text, /30 seconds/)
  assert.match(describeError(new ApiError(429, 'RATE_LIMITED', 'x')).text, /few minutes/)
})

test('unknown codes show the server message; non-errors still get a code', () => {
  assert.equal(describeError(new MedichainError('SOMETHING_NEW', 'the peer says so')), { code: 'SOMETHING_NEW', text: 'the peer says so' })
  assert.is(describeError(new NetworkError('x')).code, 'NETWORK')
  assert.is(describeError('boom').code, 'ERROR')
  assert.match(describeError(new MedichainError('INVALID', 'limit too big')).text, /limit too big/)
})

test('formats: waits, bytes, keys, scores, dates', () => {
  assert.equal([formatWait(1), formatWait(89), formatWait(90), formatWait(61 * 60)], ['1 second', '89 seconds', '2 minutes', '61 minutes'])
  assert.equal([formatBytes(512), formatBytes(1536), formatBytes(50 * 1024 ** 2), formatBytes(-1)], ['512 B', '1.5 KB', '50.0 MB', '—'])
  assert.is(shortHex('0123456789abcdef0123'), '01234567…0123')
  assert.is(shortHex('abcd'), 'abcd')
  assert.equal([formatScore(0.1234), formatScore(null)], ['12.3 %', 'not analysed'])
  assert.is(isoDate(new Date(2026, 0, 5, 23, 0).getTime()), '2026-01-05')
})

test('image formats by magic bytes', () => {
  const dicom = new Uint8Array(140)
  dicom.set([0x44, 0x49, 0x43, 0x4d], 128)
  assert.is(sniffFormat(Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)), 'png')
  assert.is(sniffFormat(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0)), 'jpeg')
  assert.is(sniffFormat(dicom), 'dicom')
  assert.is(sniffFormat(Uint8Array.of(0x89, 0x50, 0x4e, 0x47)), null, 'a truncated PNG signature')
  assert.is(sniffFormat(dicom.subarray(0, 131)), null)
  assert.is(mimeOf('jpeg'), 'image/jpeg')
})

test.run()
