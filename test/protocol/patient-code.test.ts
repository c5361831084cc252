// Patient codes (protocol/patient-code.ts): deterministic from the id, ten characters of Crockford
// base32 with a Damm check over GF(32). Every single wrong character, every swap of neighbours and
// every swap around one is caught, for many ids, and each is a typed BAD_PATIENT_CODE.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, utf8 } from '../../protocol/bytes.ts'
import { sha256 } from '../../protocol/crypto/hash.ts'
import {
  formatPatientCode, idMatchesCode, looksLikePatientCode, parsePatientCode, PATIENT_CODE_ALPHABET, PATIENT_CODE_LENGTH, patientCodeOf
} from '../../protocol/patient-code.ts'
import { throwsCode } from '../helpers/assert.ts'

const ids = Array.from({ length: 64 }, (_, i) => sha256(utf8(`patient ${i}`)))
const bare = (code: string): string => code.replace('-', '')

test('a code is ten characters, grouped 5-5, the same for bytes and hex, and names its id', () => {
  // Known answers: all-zero bits give zeros and check 0; all-one bits give Zs and their check.
  assert.is(patientCodeOf(new Uint8Array(32)), '00000-00000')
  const ones = patientCodeOf(new Uint8Array(32).fill(0xff))
  assert.ok(ones.startsWith('ZZZZZ-ZZZZ'))
  for (const id of ids) {
    const code = patientCodeOf(id)
    assert.match(code, /^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/)
    assert.is(patientCodeOf(Buffer.from(id).toString('hex')), code)
    const parsed = parsePatientCode(code)
    assert.is(parsed.code, code)
    assert.ok(idMatchesCode(id, parsed))
  }
  assert.is(new Set(ids.map(id => patientCodeOf(id))).size, ids.length, 'different ids, different codes')
})

test('typing is forgiving: any case, spaces or hyphens anywhere, O for 0 and I or L for 1', () => {
  const id = fromHex('00' + 'ff'.repeat(31))
  const code = patientCodeOf(id)
  assert.is(parsePatientCode(code.toLowerCase()).code, code)
  assert.is(parsePatientCode(` ${bare(code).split('').join(' ')} `).code, code)
  const zeros = patientCodeOf(new Uint8Array(32))
  assert.is(parsePatientCode('OOOOO-ooooo').code, zeros)
  assert.ok(looksLikePatientCode('k7qm2 xd9hf'))
  assert.not.ok(looksLikePatientCode('a'.repeat(64)))
})

test('every single substitution, neighbour swap and swap around one is refused with BAD_PATIENT_CODE', () => {
  let tried = 0
  for (const id of ids.slice(0, 16)) {
    const code = bare(patientCodeOf(id))
    for (let i = 0; i < PATIENT_CODE_LENGTH; i++) {
      for (const ch of PATIENT_CODE_ALPHABET) {
        if (ch === code[i]) continue
        const typo = code.slice(0, i) + ch + code.slice(i + 1)
        const err = throwsCode(() => parsePatientCode(typo), 'BAD_PATIENT_CODE') as { problem: string }
        assert.is(err.problem, 'checksum')
        tried++
      }
      for (const gap of [1, 2]) {
        const j = i + gap
        if (j >= PATIENT_CODE_LENGTH || code[i] === code[j]) continue
        const swapped = [...code]
        ;[swapped[i], swapped[j]] = [swapped[j], swapped[i]]
        throwsCode(() => parsePatientCode(swapped.join('')), 'BAD_PATIENT_CODE')
        tried++
      }
    }
  }
  assert.ok(tried > 4900, `${tried} typos tried`)
})

test('a wrong length or a character outside the alphabet is its own problem', () => {
  const code = patientCodeOf(ids[0])
  assert.is((throwsCode(() => parsePatientCode(code.slice(0, -1)), 'BAD_PATIENT_CODE') as { problem: string }).problem, 'length')
  assert.is((throwsCode(() => parsePatientCode(code + '0'), 'BAD_PATIENT_CODE') as { problem: string }).problem, 'length')
  assert.is((throwsCode(() => parsePatientCode('U' + bare(code).slice(1)), 'BAD_PATIENT_CODE') as { problem: string }).problem, 'character')
  assert.is((throwsCode(() => parsePatientCode(''), 'BAD_PATIENT_CODE') as { problem: string }).problem, 'length')
  assert.is(formatPatientCode('ABCDEFGHJK'), 'ABCDE-FGHJK')
  assert.throws(() => patientCodeOf(new Uint8Array(31)))
})

test('an id matches a code only on all 45 bits: the 45th bit alone tells two ids apart', () => {
  const a = new Uint8Array(32)
  const b = new Uint8Array(32)
  b[5] = 0x08 // bit 44, the last bit a code carries
  const c = new Uint8Array(32)
  c[5] = 0x04 // bit 45, beyond the code
  assert.is.not(patientCodeOf(a), patientCodeOf(b))
  assert.is(patientCodeOf(a), patientCodeOf(c), 'ids equal on their first 45 bits share a code')
  const parsed = parsePatientCode(patientCodeOf(a))
  assert.ok(idMatchesCode(a, parsed) && idMatchesCode(c, parsed))
  assert.not.ok(idMatchesCode(b, parsed))
})

test.run()
