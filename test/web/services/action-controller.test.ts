// The ActionController (web/src/services/action-controller.ts) driven as an element drives it:
// `run` from a handler, `error` and `done` set by the element's own checks. Writes are promises
// the test settles, so `busy` is seen while one runs: a run clears the last outcome, a failure is
// kept (through `fail`) instead of thrown, and every change asks the host to re-render.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { deferred, Host } from '../../helpers/controller-host.ts'
import { ActionController } from '../../../web/src/services/action-controller.ts'

test('busy while the write runs, its answer returned, and the host re-rendered both times', async () => {
  const host = new Host()
  const ctl = new ActionController(host)
  assert.is(host.controllers.length, 1, 'it adds itself to the host')
  assert.not.ok(ctl.busy)
  const write = deferred<number>()
  const done = ctl.run(async () => await write.promise)
  assert.ok(ctl.busy, 'busy at once, before the write settles')
  assert.is(host.updates, 1)
  write.resolve(7)
  assert.is(await done, 7)
  assert.not.ok(ctl.busy)
  assert.is(ctl.error, null)
  assert.is(host.updates, 2)
})

test('a failure is kept, not thrown, and a run without fail keeps it as it is', async () => {
  const ctl = new ActionController(new Host())
  const err = new Error('down')
  const answer = await ctl.run(async () => { throw err })
  assert.is(answer, undefined)
  assert.is(ctl.error, err)
  assert.not.ok(ctl.busy, 'busy ends after a failure too')
})

test('fail maps the failure first', async () => {
  const failed: unknown[] = []
  const ctl = new ActionController(new Host(), { fail: (err) => { failed.push(err); return { code: 'MAPPED' } } })
  await ctl.run(async () => { throw new Error('down') })
  assert.equal(ctl.error, { code: 'MAPPED' })
  assert.is(failed.length, 1)
  await ctl.run(async () => 'ok')
  assert.is(failed.length, 1, 'a success maps nothing')
})

test('a run clears the last failure and the last done line before it starts', async () => {
  const ctl = new ActionController(new Host())
  ctl.error = new Error('too short')
  ctl.done = 'Saved.'
  const write = deferred<void>()
  const done = ctl.run(async () => { await write.promise; ctl.done = 'Saved again.' })
  assert.is(ctl.error, null)
  assert.is(ctl.done, null)
  write.resolve()
  await done
  assert.is(ctl.done, 'Saved again.')
  await ctl.run(async () => { throw new Error('down') })
  assert.is(ctl.done, null, 'a failed run says nothing was done')
})

test('setting error or done re-renders the host', () => {
  const host = new Host()
  const ctl = new ActionController(host)
  ctl.error = new Error('choose a file first')
  assert.is(host.updates, 1)
  ctl.done = 'Removed.'
  assert.is(host.updates, 2)
  ctl.error = ctl.done = null
  assert.is(host.updates, 4)
  assert.is(ctl.error, null)
})

test.run()
