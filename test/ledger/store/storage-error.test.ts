// Write failures become typed errors a client can act on: a full disk (LevelDB's and node's ways of
// saying so) is STORAGE_FULL, answered 507; any other store failure is STORE_FAILED, answered 503.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { StorageError, storageErrorOf } from '../../../ledger/store/storage-error.ts'
import { errorResponse } from '../../../node/http/middleware/errors.ts'

/** An error shaped as classic-level raises it (code LEVEL_IO_ERROR, the OS message in the text). */
function levelError (message: string): Error {
  return Object.assign(new Error(message), { code: 'LEVEL_IO_ERROR' })
}

test('a full disk is STORAGE_FULL, however it is reported', () => {
  const reported = [
    levelError('IO error: /data/ledger/000003.log: No space left on device'),
    Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
    Object.assign(new Error('EDQUOT: disk quota exceeded, write'), { code: 'EDQUOT' }),
    new Error('Database failed to open', { cause: levelError('IO error: /data/ledger/000005.ldb: No space left on device') })
  ]
  for (const err of reported) {
    const e = storageErrorOf(err, 'ledger store')
    assert.instance(e, StorageError)
    assert.is(e.code, 'STORAGE_FULL', err.message)
    assert.is(e.cause, err, 'the cause is kept for the log')
  }
})

test('any other write failure is STORE_FAILED, and a StorageError passes through unchanged', () => {
  for (const err of [levelError('IO error: /data/ledger/000003.log: Input/output error'), levelError('IO error: Read-only file system'), 'not even an Error']) {
    assert.is(storageErrorOf(err, 'ledger store').code, 'STORE_FAILED', String(err))
  }
  const full = new StorageError('STORAGE_FULL', 'full')
  assert.is(storageErrorOf(full, 'account store'), full)
})

test('the HTTP API answers 507 STORAGE_FULL and 503 STORE_FAILED with the code, never 500', () => {
  assert.equal(errorResponse(new StorageError('STORAGE_FULL', 'the disk is full')), { status: 507, body: { code: 'STORAGE_FULL', message: 'the disk is full' } })
  assert.equal(errorResponse(new StorageError('STORE_FAILED', 'the store failed')), { status: 503, body: { code: 'STORE_FAILED', message: 'the store failed' } })
})

test.run()
