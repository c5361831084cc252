// Grouping a patient's images into series and studies (web/src/lib/images/series.ts): the slices of one
// series are one entry in InstanceNumber order, shown by the middle slice; images outside a series
// stay single; series of two custodians, or of two studies, never merge; the studies a consent may
// name list with their images; and the grant summary names a study.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { ApiImage } from '../../../protocol/client/client.ts'
import { groupImages, seriesOf, studiesOf } from '../../../web/src/lib/images/series.ts'
import { grantSummary } from '../../../web/src/lib/patient/consent-form.ts'

let n = 0
function img (over: Partial<ApiImage> & { series?: string, number?: number } = {}): ApiImage {
  n++
  const { series, number, ...rest } = over
  return {
    raw: `bafy${String(n).padStart(4, '0')}`, result: null, patientId: 'p', modality: 'CT', size: 10, score: null, model: null,
    custodian: 'a'.repeat(64), custodianName: null, time: 1000 + n, basis: 'patient', keys: { raw: '', result: null },
    record: series === undefined ? null : 's1'.padEnd(32, '0'),
    dicom: series === undefined ? null : { series, instance: `i${n}`.padEnd(32, '0'), number: number ?? 1 },
    ...rest
  } as ApiImage
}

test('one entry per series, slices in InstanceNumber order (numbers, not text), the middle slice leads', () => {
  const slices = [11, 2, 10, 1, 3].map(k => img({ series: 'x', number: k }))
  const png = img()
  const groups = groupImages([...slices, png])
  assert.is(groups.length, 2)
  const series = groups.find(g => g.images.length > 1)
  assert.equal(series?.images.map(i => i.dicom?.number), [1, 2, 3, 10, 11])
  assert.is(series?.lead.dicom?.number, 3)
  assert.equal(seriesOf(slices[0], [...slices, png]).map(i => i.dicom?.number), [1, 2, 3, 10, 11])
  assert.equal(seriesOf(png, [...slices, png]), [png], 'an image outside a series is its own')
})

test('series of another custodian or another study stay apart', () => {
  const a = img({ series: 'x', number: 1 })
  const b = img({ series: 'x', number: 2, custodian: 'b'.repeat(64) })
  const c = img({ series: 'x', number: 3, record: 's2'.padEnd(32, '0') })
  assert.is(groupImages([a, b, c]).length, 3)
})

test('studies a consent may name, and the summary that names one', () => {
  const s1 = [img({ series: 'x', number: 1 }), img({ series: 'y', number: 1, modality: 'MR' })]
  const s2 = [img({ series: 'z', number: 1, record: 's2'.padEnd(32, '0') })]
  const studies = studiesOf([...s1, ...s2, img()])
  assert.is(studies.length, 2)
  const first = studies.find(s => s.record === 's1'.padEnd(32, '0'))
  assert.is(first?.images.length, 2)
  assert.match(first?.label ?? '', /^CT, MR study, 2 series, 2 images/)
  assert.is(grantSummary({ who: 'Hospital B', kind: 'hospital', purpose: 'treatment', images: { study: 12 }, until: null }), 'You let the clinicians of Hospital B open the study you chose (12 images) to treat you.')
})

test.run()
