// The training data and label wording (web/src/lib/words/labels.ts): the summary of
// `GET /api/labels/summary` is read with mistyped fields counted as zero, zero reasons dropped,
// both uses' reasons added up largest first in plain words, and each use has its words.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { REASON_TEXT, USE_TEXT, exclusions, parseTrainingData } from '../../../web/src/lib/words/labels.ts'

const SUMMARY = {
  labelled: { train: 5, validation: 2 },
  eligible: {
    train: { total: 5, kept: 2, excluded: 3, reasons: { 'no-consent': 1, revoked: 2, expired: 0, 'other-purpose': 0, 'out-of-scope': 0 } },
    validation: { total: 2, kept: 1, excluded: 1, reasons: { 'no-consent': 1, revoked: 0, expired: 0, 'other-purpose': 0, 'out-of-scope': 0 } }
  }
}

test('the summary per use, zero reasons dropped', () => {
  const d = parseTrainingData(SUMMARY)
  assert.equal(d.train, { total: 5, kept: 2, excluded: 3, reasons: { 'no-consent': 1, revoked: 2 } })
  assert.equal(d.validation, { total: 2, kept: 1, excluded: 1, reasons: { 'no-consent': 1 } })
})

test('reasons of both uses added up, largest first, in words; an unknown reason keeps its key', () => {
  assert.equal(exclusions(parseTrainingData(SUMMARY)), [[REASON_TEXT['no-consent'], 2], [REASON_TEXT.revoked, 2]])
  const odd = parseTrainingData({ eligible: { train: { total: 1, kept: 0, excluded: 1, reasons: { 'new-reason': 1 } } } })
  assert.equal(exclusions(odd), [['new-reason', 1]])
  for (const reason of ['no-consent', 'revoked', 'expired', 'other-purpose', 'out-of-scope']) assert.ok(REASON_TEXT[reason].length > 10, reason)
})

test('mistyped or missing fields count as zero, never as data', () => {
  const zero = { total: 0, kept: 0, excluded: 0, reasons: {} }
  assert.equal(parseTrainingData(null), { train: zero, validation: zero })
  assert.equal(parseTrainingData({ eligible: 'x' }), { train: zero, validation: zero })
  const d = parseTrainingData({ eligible: { train: { total: '5', kept: -1, excluded: 1.5, reasons: { revoked: '2', expired: Infinity, 'no-consent': 3 } }, validation: [] } })
  assert.equal(d.train, { total: 0, kept: 0, excluded: 0, reasons: { 'no-consent': 3 } })
  assert.equal(d.validation, zero)
})

test('each use has its words', () => {
  assert.equal(USE_TEXT, { train: 'training', validation: 'held out for validation' })
})

test.run()
