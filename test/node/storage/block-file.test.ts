// node/storage/blocks/block-file.ts: a block file lands whole under its name, in a shard folder made on
// first use, with no temp file left; a write that does not fit (ENOSPC on a tmpfs) leaves neither
// the block nor a temp file; an existence check that fails for another reason than a missing file
// says so rather than "absent".
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { blockFileExists, writeBlockFile } from '../../../node/storage/blocks/block-file.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { mountTmpfs, tmpfsUnavailable } from '../../helpers/tmpfs.ts'
import type { Tmpfs } from '../../helpers/tmpfs.ts'

let fs: Tmpfs | null = null
test.after.each(async () => {
  fs?.unmount()
  fs = null
  await cleanup()
})

const bytesOf = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)

test('a block lands whole in a shard folder made on first use, with no temp file left', async () => {
  const root = await tempDir()
  const path = join(root, 'AB', 'CIQAB.data')
  assert.is(await blockFileExists(path), false)
  const block = bytesOf(1024 * 1024 + 7, 3)
  await writeBlockFile(path, block, { sync: true })
  assert.is(await blockFileExists(path), true)
  assert.equal(new Uint8Array(await readFile(path)), block)
  // A second block in the same folder, without sync, and the first rewritten: each whole.
  const other = join(root, 'AB', 'CIQCD.data')
  await writeBlockFile(other, bytesOf(10, 9), { sync: false })
  await writeBlockFile(path, block, { sync: false })
  assert.equal(new Uint8Array(await readFile(other)), bytesOf(10, 9))
  assert.equal(new Uint8Array(await readFile(path)), block)
  assert.equal((await readdir(join(root, 'AB'))).sort(), ['CIQAB.data', 'CIQCD.data'])
})

test('an existence check that fails for another reason than a missing file throws', async () => {
  const root = await tempDir()
  // A file where the shard folder should be: ENOTDIR, not "absent".
  await writeFile(join(root, 'AB'), 'not a folder')
  await rejects(async () => await blockFileExists(join(root, 'AB', 'CIQAB.data')), 'ENOTDIR')
  await rejects(async () => await writeBlockFile(join(root, 'AB', 'CIQAB.data'), bytesOf(8, 1), { sync: false }), 'ENOTDIR')
})

test('a block that does not fit leaves neither the block nor a temp file; once space is free it lands', async () => {
  const why = tmpfsUnavailable()
  if (why !== null) { console.log(why); return }
  fs = await mountTmpfs(1024 * 1024)
  await mkdir(join(fs.path, 'AB'))
  const path = join(fs.path, 'AB', 'CIQAB.data')
  await fs.fill()
  await rejects(async () => await writeBlockFile(path, bytesOf(256 * 1024, 5), { sync: true }), 'ENOSPC')
  assert.equal(await readdir(join(fs.path, 'AB')), [], 'no block and no temp file')
  await fs.free()
  await writeBlockFile(path, bytesOf(256 * 1024, 5), { sync: true })
  assert.equal(new Uint8Array(await readFile(path)), bytesOf(256 * 1024, 5))
})

test.run()
