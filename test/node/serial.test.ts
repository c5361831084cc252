// node/serial.ts: work of one key runs in turn, in call order, while other keys run at once; a
// failed turn rejects only its own caller and does not stop the next.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { serialPerKey } from '../../node/serial.ts'

/** A promise and its resolve/reject, for steps the test settles by hand. */
function deferred<T = void> (): { promise: Promise<T>, resolve: (v: T) => void, reject: (e: unknown) => void } {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/** Lets every queued promise callback run. */
const settle = async (): Promise<void> => { for (let i = 0; i < 10; i++) await Promise.resolve() }

test('one key: the second call starts only after the first has settled, in call order', async () => {
  const serial = serialPerKey()
  const log: string[] = []
  const first = deferred()
  const a = serial('k', async () => { log.push('a start'); await first.promise; log.push('a end'); return 1 })
  const b = serial('k', async () => { log.push('b start'); return 2 })
  await settle()
  assert.equal(log, ['a start'], 'b waits for a')
  first.resolve()
  assert.equal(await Promise.all([a, b]), [1, 2])
  assert.equal(log, ['a start', 'a end', 'b start'])
})

test('different keys run at once', async () => {
  const serial = serialPerKey()
  const gate = deferred()
  const started: string[] = []
  const a = serial('a', async () => { started.push('a'); await gate.promise })
  const b = serial('b', async () => { started.push('b'); await gate.promise })
  await settle()
  assert.equal(started, ['a', 'b'], 'b did not wait for a')
  gate.resolve()
  await Promise.all([a, b])
})

test('a failed turn rejects its own caller only, and the next turn of the key still runs', async () => {
  const serial = serialPerKey()
  const fails = serial('k', async () => { throw new Error('disk full') })
  const next = serial('k', async () => 'ran')
  const err = await fails.then(() => null, (e: unknown) => e)
  assert.instance(err, Error)
  assert.match((err as Error).message, /disk full/)
  assert.is(await next, 'ran')
  // The key is free again: a later call runs at once.
  assert.is(await serial('k', async () => 'again'), 'again')
})

test.run()
