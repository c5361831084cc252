// The clock monitor's judgement from status samples: the median member decides, a round trip's
// uncertainty never makes a correct clock look skewed, and a hold stays until a member says the
// clock is back (the end-to-end run under libfaketime is test/faults/clock.test.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { WriteGate } from '../../../ledger/store/write-gate.ts'
import { createLogger } from '../../../node/logger.ts'
import { ClockMonitor } from '../../../node/p2p/clock.ts'
import { CLOCK_SKEW_WRITE_LIMIT_MS } from '../../../node/p2p/constants.ts'
import type { StatusSample } from '../../../node/p2p/status.ts'

const logger = createLogger({ silent: true })
const NOW = 1_700_000_000_000

/** A sample in which the member's clock reads `ahead` ms more than ours, over a `rtt` ms round trip. */
function sample (ahead: number, rtt = 2): StatusSample {
  return { peer: 'p', sentAt: NOW, receivedAt: NOW + rtt, remoteTime: NOW + rtt / 2 + ahead, head: null }
}

const held = (gate: WriteGate): boolean => gate.holds().some(h => h.code === 'CLOCK_SKEW')

test('a clock ahead of the median member beyond the limit holds writes; back within it releases them', () => {
  const gate = new WriteGate()
  const clock = new ClockMonitor({ gate, logger })
  clock.record('a', sample(-(CLOCK_SKEW_WRITE_LIMIT_MS + 60_000)))
  assert.ok(held(gate))
  assert.is(clock.skew()?.aheadMs, CLOCK_SKEW_WRITE_LIMIT_MS + 60_000)
  clock.record('a', sample(-1_000))
  assert.not.ok(held(gate))
  assert.equal(clock.skew(), { aheadMs: 1_000, members: 1 })
})

test('one member with a wrong clock does not decide for the others', () => {
  const gate = new WriteGate()
  const clock = new ClockMonitor({ gate, logger })
  clock.record('slow', sample(-3_600_000))
  clock.record('b', sample(0))
  clock.record('c', sample(5))
  assert.not.ok(held(gate), 'the median member agrees with this clock')
})

test('a slow link never turns a correct clock into a skewed one', () => {
  const gate = new WriteGate()
  const clock = new ClockMonitor({ gate, logger })
  // The answer took 2 × (limit + 10 s): the true offset could be anywhere within that.
  clock.record('far', { peer: 'p', sentAt: NOW, receivedAt: NOW + 2 * (CLOCK_SKEW_WRITE_LIMIT_MS + 10_000), remoteTime: NOW, head: null })
  assert.not.ok(held(gate))
})

test('the hold stays when the last member disconnects, until a member says otherwise', () => {
  const gate = new WriteGate()
  const clock = new ClockMonitor({ gate, logger })
  clock.record('a', sample(-600_000))
  assert.ok(held(gate))
  clock.forget('a')
  assert.ok(held(gate))
  assert.is(clock.skew(), null)
  clock.record('b', sample(0))
  assert.not.ok(held(gate))
})

test.run()
