// Group commit of synced level puts (node/durable/group-commit.ts): concurrent puts share batches, each
// put resolves only once its batch is written, and a failed batch fails every put in it with
// STORE_FAILED, after which the store is reopened and writes again.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { DurableWrites } from '../../../node/durable/level.ts'
import { GroupCommit } from '../../../node/durable/group-commit.ts'
import type { GroupCommitStore } from '../../../node/durable/group-commit.ts'
import { rejects } from '../../helpers/assert.ts'

let dir = ''
let db: Level<string, Uint8Array>

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medichain-group-commit-'))
  db = new Level<string, Uint8Array>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
})
test.after.each(async () => {
  await db.close()
  await rm(dir, { recursive: true, force: true })
})

/** The store with its batches counted (the real LevelDB underneath); `fail` makes the next batch fail as a disk error would. */
function counted (): { store: GroupCommitStore, batches: () => number, writes: DurableWrites, fail: () => void } {
  let n = 0
  let failNext = false
  const store: GroupCommitStore = {
    batch: async (ops, options) => {
      n++
      if (failNext) {
        failNext = false
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' })
      }
      assert.is(options.sync, true, 'every batch is synced')
      await db.batch(ops, options)
    }
  }
  const writes = new DurableWrites({ db, path: dir, name: 'test store', open: async () => await db.open() })
  return { store, batches: () => n, writes, fail: () => { failNext = true } }
}

test('twenty concurrent puts share batches; each is readable once its put resolves', async () => {
  const { store, batches, writes } = counted()
  const group = new GroupCommit(store, writes)
  await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    await group.put(`k${i}`, Uint8Array.of(i))
    assert.equal([...(await db.get(`k${i}`)) ?? []], [i], `k${i} is written when its put resolves`)
  }))
  assert.ok(batches() >= 1 && batches() < 20, `${batches()} batches for 20 puts`)
  await group.settled()
})

test('one put alone is one batch; settled waits for what was asked', async () => {
  const { store, batches, writes } = counted()
  const group = new GroupCommit(store, writes)
  const p = group.put('alone', Uint8Array.of(1))
  await group.settled()
  assert.equal([...(await db.get('alone')) ?? []], [1])
  await p
  assert.is(batches(), 1)
})

test('a failed batch fails its puts with STORE_FAILED; the store is reopened for the next batch', async () => {
  const { store, writes, fail } = counted()
  const group = new GroupCommit(store, writes)
  fail()
  // The first put goes at once, alone; the next two wait for it and go together after the reopen.
  const first = group.put('a', Uint8Array.of(1))
  const next = [group.put('b', Uint8Array.of(2)), group.put('c', Uint8Array.of(3))]
  await rejects(async () => await first, 'STORE_FAILED')
  await Promise.all(next)
  assert.equal([...(await db.get('c')) ?? []], [3])
  assert.is(await db.get('a'), undefined, 'nothing of the failed batch was written')
})

test.run()
