// The FL charts' maths (web/src/lib/fl/chart.ts): round-numbered ticks, linear scales, and series
// drawn as polylines that break where a round has no value instead of dropping to zero.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { layoutChart, niceTicks, scaleLinear } from '../../../web/src/lib/fl/chart.ts'

const FRAME = { width: 110, height: 60, left: 10, right: 0, top: 0, bottom: 10 }

test('nice ticks step by 1, 2 or 5 × 10^k and cover the range', () => {
  assert.equal(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1])
  assert.equal(niceTicks(0.13, 0.87, 4), [0.2, 0.4, 0.6, 0.8])
  assert.equal(niceTicks(1, 10, 5), [2, 4, 6, 8, 10])
  assert.equal(niceTicks(3, 3), [3])
  assert.equal(niceTicks(Number.NaN, 1), [])
  assert.equal(niceTicks(0, 1, 0), [])
})

test('linear scale, and a zero-width domain maps to the middle', () => {
  const s = scaleLinear(0, 10, 100, 0)
  assert.is(s(0), 100)
  assert.is(s(5), 50)
  assert.is(scaleLinear(2, 2, 0, 10)(2), 5)
})

test('a missing value splits the line into segments', () => {
  const l = layoutChart([{ name: 'loss', points: [{ x: 1, y: 1 }, { x: 2, y: 0.5 }, { x: 3, y: null }, { x: 4, y: 0 }, { x: 5, y: 0.25 }] }], FRAME)
  assert.equal(l.lines[0].segments, ['10,0 35,25', '85,50 110,37.5'])
  assert.ok(l.xTicks.every(t => Number.isInteger(t.value)), 'rounds are whole numbers')
  assert.is(l.yTicks[0].value, 0)
})

test('a fixed y domain (Dice in [0, 1]) is used as given', () => {
  const l = layoutChart([{ name: 'dice', points: [{ x: 1, y: 0.5 }] }], FRAME, [0, 1])
  assert.equal(l.lines[0].segments, ['60,25'])
  assert.is(l.yTicks.at(-1)?.value, 1)
})

test.run()
