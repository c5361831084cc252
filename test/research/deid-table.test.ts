// PS3.15 Table E.1-1 tag by tag: the action table the de-identifier uses equals the standard's
// table (test/vectors/ps3.15-table-e1-1.json, a transcription of the standard's columns), and for
// every attribute the table lists, a data set holding that attribute comes out of the profile with
// the action the table and the chosen options give.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import dcmjs from 'dcmjs'
import type { DicomDataset, DicomElement } from 'dcmjs'
import { TABLE_E1_1 } from '../../node/research/deid/table-e1-1.ts'
import { actionFor, isPrivateTag, rowFor } from '../../node/research/deid/actions.ts'
import type { ProfileOptions } from '../../node/research/deid/actions.ts'
import { deidentifyDataset } from '../../node/research/deid/deidentify.ts'
import { remapUid, shiftDate } from '../../node/research/deid/values.ts'

interface Vector { columns: string[], rows: string[][] }
const vector = JSON.parse(readFileSync(new URL('../vectors/ps3.15-table-e1-1.json', import.meta.url), 'utf8')) as Vector
const col = (name: string): number => vector.columns.indexOf(name)
const TAG = col('tag'); const BASIC = col('basic'); const MODIF = col('modif'); const CLEAN = col('cleanDesc')

const KEYS = { uidKey: new Uint8Array(32).fill(9), pseudonym: 'RP-TEST', dateShiftDays: -1000 }
const BOTH: ProfileOptions = { modifiedDates: true, cleanDescriptors: true }
const NONE: ProfileOptions = { modifiedDates: false, cleanDescriptors: false }

test('the action table has every row of the standard, with the same Basic, Modified Dates and Clean Descriptors actions', () => {
  assert.is(vector.rows.length, 441)
  assert.is(TABLE_E1_1.length, vector.rows.length)
  const ours = new Map(TABLE_E1_1.map(r => [r[0].toUpperCase(), r]))
  for (const row of vector.rows) {
    const mine = ours.get(row[TAG].toUpperCase())
    assert.ok(mine, `table lacks ${row[TAG]}`)
    assert.is(mine[1], row[BASIC], `basic action of ${row[TAG]}`)
    assert.is(mine[2], row[MODIF], `modified-dates action of ${row[TAG]}`)
    assert.is(mine[3], row[CLEAN], `clean-descriptors action of ${row[TAG]}`)
  }
})

test('private attributes are removed, repeating groups match their rows, unlisted attributes are kept', () => {
  assert.ok(isPrivateTag('00091001'))
  assert.is(actionFor('00091001', NONE), 'remove')
  assert.is(actionFor('00090010', NONE), 'remove')
  assert.is(rowFor('60023000')?.[0], '60xx3000')
  assert.is(rowFor('501A0010')?.[0], '50xxxxxx')
  assert.is(rowFor('60013000'), undefined, 'an odd group is private, never an overlay')
  assert.is(actionFor('00280010', BOTH), 'keep')
})

/** A value for an attribute of VR `vr` that differs from every dummy. */
function sample (vr: string): DicomElement | null {
  switch (vr) {
    case 'PN': return { vr, Value: [{ Alphabetic: 'ROE^RICHARD' }] }
    case 'DA': return { vr, Value: ['20230704'] }
    case 'DT': return { vr, Value: ['20230704123000'] }
    case 'TM': return { vr, Value: ['123000'] }
    case 'UI': return { vr, Value: ['1.2.826.0.1.3680043.8.498.77'] }
    case 'AS': return { vr, Value: ['041Y'] }
    case 'IS': return { vr, Value: ['17'] }
    case 'DS': return { vr, Value: ['1.5'] }
    case 'AE': case 'CS': return { vr, Value: ['ROE'] }
    case 'SH': case 'LO': case 'LT': case 'ST': case 'UT': case 'UC': return { vr, Value: ['CHEST ROE 4711'] }
    case 'US': case 'SS': case 'UL': case 'SL': case 'FL': case 'FD': return { vr, Value: [17] }
    case 'SQ': return { vr, Value: [{ '00100010': { vr: 'PN', Value: [{ Alphabetic: 'ROE^RICHARD' }] }, '00081155': { vr: 'UI', Value: ['1.2.826.0.1.3680043.8.498.77'] } }] }
    default: return null
  }
}

const nameMap = dcmjs.data.DicomMetaDictionary.nameMap
const vrByTag = new Map(Object.values(nameMap).map(e => [e.tag.replace(/[(),]/g, '').toUpperCase(), e.vr]))

function checkItem (item: DicomDataset, tag: string): void {
  assert.equal(item['00100010']?.Value ?? [], [], `${tag}: a patient name inside the sequence is emptied`)
  assert.equal(item['00081155'].Value, [remapUid(KEYS.uidKey, '1.2.826.0.1.3680043.8.498.77')], `${tag}: a UID inside the sequence is replaced`)
}

/** Checks that `out` (the profile applied to `{tag: input}`) shows `action`. */
function expectAction (tag: string, input: DicomElement, out: DicomElement | undefined, action: string): void {
  const v = out?.Value ?? []
  switch (action) {
    case 'remove': assert.is(out, undefined, `${tag} removed`); return
    case 'empty': assert.equal(v, [], `${tag} emptied`); return
    case 'keep': assert.equal(out, input, `${tag} kept`); return
    case 'uid': assert.equal(v, [remapUid(KEYS.uidKey, '1.2.826.0.1.3680043.8.498.77')], `${tag} UID replaced`); return
  }
  if (input.vr === 'SQ') {
    assert.is(v.length, 1, `${tag}: the sequence keeps its item`)
    checkItem(v[0] as DicomDataset, tag)
    return
  }
  if (action === 'dummy') {
    assert.ok(v.length > 0, `${tag}: a dummy is non-empty`)
    assert.not.equal(v, input.Value, `${tag}: the dummy replaces the value`)
  } else if (action === 'shift') {
    if (input.vr === 'DA') assert.equal(v, [shiftDate('20230704', KEYS.dateShiftDays)], `${tag} shifted`)
    else if (input.vr === 'DT') assert.equal(v, [shiftDate('20230704', KEYS.dateShiftDays) + '123000'], `${tag} shifted`)
    else assert.equal(out, input, `${tag}: no date to shift`)
  } else if (action === 'clean') {
    if (input.vr === 'PN') assert.equal(v, [], `${tag}: a person's name is cleaned away`)
    else if (typeof input.Value?.[0] === 'string' && input.vr !== 'CS' && input.vr !== 'AE') assert.equal(v, ['CHEST'], `${tag} cleaned`)
  }
}

for (const [label, options] of [['Basic Profile alone', NONE], ['with Modified Dates and Clean Descriptors', BOTH]] as const) {
  test(`every listed attribute gets its table action: ${label}`, () => {
    let checked = 0
    for (const row of TABLE_E1_1) {
      const tag = row[0]
      if (tag.includes('x') || tag.startsWith('0000') || tag.startsWith('0002') || tag === '00100010' || tag === '00100020') continue
      const input = sample(vrByTag.get(tag) ?? '')
      if (input === null) continue
      const out = deidentifyDataset({ [tag]: input }, KEYS, options)
      expectAction(tag, input, out[tag], actionFor(tag, options))
      checked++
    }
    assert.ok(checked > 400, `only ${checked} attributes had a testable VR`)
  })
}

test('Patient Name and Patient ID become the pseudonym; the method is recorded', () => {
  const out = deidentifyDataset({ '00100010': sample('PN') as DicomElement, '00100020': sample('LO') as DicomElement }, KEYS, BOTH)
  assert.equal(out['00100010'].Value, [{ Alphabetic: 'RP-TEST' }])
  assert.equal(out['00100020'].Value, ['RP-TEST'])
  assert.equal(out['00120062'].Value, ['YES'])
  assert.equal(out['00280303'].Value, ['MODIFIED'])
  const codes = (out['00120064'].Value as DicomDataset[]).map(i => i['00080100'].Value?.[0])
  assert.equal(codes, ['113100', '113107', '113105'])
  assert.equal((deidentifyDataset({}, KEYS, NONE)['00120064'].Value as DicomDataset[]).length, 1)
})

test.run()
