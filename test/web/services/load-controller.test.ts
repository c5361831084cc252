// The LoadController (web/src/services/load-controller.ts) driven as Lit drives it: hostConnected,
// then hostUpdate before each render. Loads are promises the test settles, so the order of
// answers is chosen, never timed: a stale answer is dropped, changed inputs drop the old value,
// reload keeps it on show, failures go through `fail`, and a disconnect aborts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { deferred, Host } from '../../helpers/controller-host.ts'
import { LoadController } from '../../../web/src/services/load-controller.ts'

/** A controller whose loads are queued for the test to settle, with the signal each got. */
function setup (opts: { args?: () => readonly unknown[], fail?: (err: unknown) => unknown } = {}) {
  const host = new Host()
  const loads: Array<{ answer: ReturnType<typeof deferred<string>>, signal: AbortSignal }> = []
  let settled = 0
  const ctl = new LoadController<string>(host, {
    ...opts,
    load: async (signal) => {
      const answer = deferred<string>()
      loads.push({ answer, signal })
      return await answer.promise
    },
    settled: () => { settled++ }
  })
  return { host, ctl, loads, settled: () => settled }
}

/** Lets awaited answers reach the controller. */
async function flush (): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

test('loads on connect, once, and shows loading until the answer', async () => {
  const { host, ctl, loads, settled } = setup()
  assert.is(host.controllers.length, 1, 'it adds itself to the host')
  host.connect()
  host.update()
  host.update()
  assert.is(loads.length, 1, 'one load, however many renders')
  assert.ok(ctl.loading)
  assert.is(ctl.value, undefined)
  loads[0].answer.resolve('a')
  await flush()
  assert.is(ctl.value, 'a')
  assert.not.ok(ctl.loading)
  assert.is(ctl.error, null)
  assert.is(settled(), 1)
  assert.ok(host.updates >= 2, 'the host re-renders when loading starts and ends')
})

test('changed inputs drop the old value, load again, and a stale answer is ignored', async () => {
  let id = 'x'
  const { host, ctl, loads, settled } = setup({ args: () => [id] })
  host.connect()
  host.update()
  loads[0].answer.resolve('for x')
  await flush()
  id = 'y'
  host.update()
  assert.is(ctl.value, undefined, 'the value of x is not shown for y')
  assert.is(loads.length, 2)
  id = 'z'
  host.update()
  assert.is(loads.length, 3)
  assert.ok(loads[1].signal.aborted, 'the load for y is stale')
  loads[2].answer.resolve('for z')
  loads[1].answer.resolve('for y')
  await flush()
  assert.is(ctl.value, 'for z')
  assert.is(settled(), 2, 'the stale load never settles')
  host.update()
  assert.is(loads.length, 3, 'unchanged inputs load nothing')
})

test('reload keeps the value on show until the new one arrives', async () => {
  const { host, ctl, loads } = setup()
  host.connect()
  host.update()
  loads[0].answer.resolve('first')
  await flush()
  const done = ctl.reload()
  assert.ok(ctl.loading)
  assert.is(ctl.value, 'first')
  loads[1].answer.resolve('second')
  await done
  assert.is(ctl.value, 'second')
})

test('a failure is mapped by fail, clears on the next load, and keeps the value', async () => {
  const failed: unknown[] = []
  const { host, ctl, loads, settled } = setup({ fail: (err) => { failed.push(err); return { code: 'MAPPED' } } })
  host.connect()
  host.update()
  loads[0].answer.resolve('ok')
  await flush()
  const done = ctl.reload()
  loads[1].answer.reject(new Error('down'))
  await done
  assert.equal(ctl.error, { code: 'MAPPED' })
  assert.is(failed.length, 1)
  assert.is(ctl.value, 'ok', 'the last good value stays')
  assert.is(settled(), 2)
  const again = ctl.reload()
  assert.is(ctl.error, null, 'a new load clears the error')
  loads[2].answer.resolve('back')
  await again
  assert.is(ctl.value, 'back')
})

test('a failure that maps to nothing still counts as one', async () => {
  const { host, ctl, loads } = setup({ fail: () => null })
  host.connect()
  host.update()
  loads[0].answer.reject(new Error('down'))
  await flush()
  assert.ok(ctl.error instanceof Error)
})

test('disconnecting aborts the load; connecting again loads again', async () => {
  const { host, ctl, loads } = setup()
  host.connect()
  host.update()
  host.disconnect()
  assert.ok(loads[0].signal.aborted)
  assert.not.ok(ctl.loading)
  loads[0].answer.resolve('late')
  await flush()
  assert.is(ctl.value, undefined, 'an answer after leaving is dropped')
  host.connect()
  host.update()
  assert.is(loads.length, 2)
})

test('render: a status while the first load runs, nothing after a failure, else the value', async () => {
  const { host, ctl, loads } = setup()
  host.connect()
  host.update()
  const loading = ctl.render(v => v, 'Loading images…') as { values?: unknown[] }
  assert.equal(loading.values, ['Loading images…'])
  loads[0].answer.reject(new Error('down'))
  await flush()
  assert.is(typeof ctl.render(v => v), 'symbol', 'lit\'s nothing')
  const done = ctl.reload()
  loads[1].answer.resolve('shown')
  await done
  assert.is(ctl.render(v => `<${v}>`), '<shown>')
})

test.run()
