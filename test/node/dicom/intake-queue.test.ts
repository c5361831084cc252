// The intake queue (node/dicom/custody/intake.ts): a query waits for the instances acknowledged
// before it, and only those, whether each is attached or fails; stopping wakes it. While senders
// are answered the intake runs one job at a time, and catches up once nudged.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import { MedichainError } from '../../../protocol/errors.ts'
import { createIntake } from '../../../node/dicom/custody/intake.ts'
import type { IntakeJob } from '../../../node/dicom/custody/intake.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { rejects } from '../../helpers/assert.ts'

/** An intake whose attach calls wait until the test ends them, by job id. */
function gatedIntake (concurrency: number, limit?: () => number) {
  const gates = new Map<string, { resolve: () => void, reject: (err: Error) => void }>()
  const started: string[] = []
  const intake = createIntake({ concurrency })({
    ...(limit === undefined ? {} : { limit }),
    logger: pino({ level: 'silent' }),
    attach: async (job) => {
      started.push(job.id)
      await new Promise<void>((resolve, reject) => gates.set(job.id, { resolve, reject }))
    }
  })
  const job = (id: string): IntakeJob => ({ mrn: 'MRN', id, size: 1, patient: new Uint8Array(32) })
  const end = async (id: string, err?: Error): Promise<void> => {
    await withTimeout((async () => { while (gates.get(id) === undefined) await new Promise(resolve => setImmediate(resolve)) })(), 5_000, `job ${id} to start`)
    const gate = gates.get(id)
    if (err === undefined) gate?.resolve()
    else gate?.reject(err)
  }
  return { intake, job, end, started }
}

/** Whether `p` has settled after the microtasks and immediates queued now have run. */
async function settledYet (p: Promise<unknown>): Promise<boolean> {
  let done = false
  p.then(() => { done = true }, () => { done = true })
  await new Promise(resolve => setImmediate(resolve))
  return done
}

test('an idle intake is caught up at once', async () => {
  const { intake } = gatedIntake(2)
  assert.ok(await settledYet(intake.caughtUp()))
})

test('caughtUp waits for the jobs enqueued before it, attached or failed, and not for later ones', async () => {
  const { intake, job, end } = gatedIntake(1)
  const a = intake.enqueue(job('a'))
  const b = intake.enqueue(job('b'))
  const caught = intake.caughtUp()
  const c = intake.enqueue(job('c'))
  assert.not.ok(await settledYet(caught), 'a and b are still to end')
  await end('a')
  await a
  assert.not.ok(await settledYet(caught), 'b is still to end')
  await end('b', new MedichainError('SYNCING', 'held'))
  await b.catch(() => {})
  assert.ok(await settledYet(caught), 'b failed: it stays in custody, and the query answers')
  assert.not.ok(await settledYet(intake.caughtUp()), 'a query now waits for c')
  await end('c')
  await c
  assert.ok(await settledYet(intake.caughtUp()))
})

test('a job enqueued twice is waited for once, and stopping wakes a waiting query', async () => {
  const { intake, job, end, started } = gatedIntake(1)
  const first = intake.enqueue(job('x'))
  const again = intake.enqueue(job('x'))
  const queued = intake.enqueue(job('y'))
  queued.catch(() => {})
  const caught = intake.caughtUp()
  const stopping = intake.stop()
  assert.not.ok(await settledYet(caught), 'x is in flight')
  await end('x')
  await Promise.all([first, again, stopping])
  assert.ok(await settledYet(caught), 'y was dropped (it stays in custody): nothing is left to wait for')
  assert.equal(started, ['x'], 'x ran once; y never started')
  await rejects(async () => await queued, 'UNAVAILABLE')
})

test('while senders are answered the intake runs one job at a time; nudged once they are quiet, it runs up to its concurrency', async () => {
  let senders = true
  const { intake, job, end, started } = gatedIntake(3, () => senders ? 1 : 3)
  const runs = ['p', 'q', 'r', 's'].map(id => intake.enqueue(job(id)))
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(started, ['p'], 'one job while senders are active')
  senders = false
  intake.nudge()
  assert.equal(started, ['p', 'q', 'r'], 'up to the concurrency once nudged')
  for (const id of ['p', 'q', 'r', 's']) await end(id)
  await Promise.all(runs)
  assert.equal(started, ['p', 'q', 'r', 's'])
})

test.run()
