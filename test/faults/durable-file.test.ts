// node/durable/file.ts replaceFile on a disk that fills: the write that does not fit throws
// (ENOSPC) and leaves the old file whole and no temporary file behind; once space is free the new
// text replaces the old one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { replaceFile } from '../../node/durable/file.ts'
import { mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs.ts'
import type { Tmpfs } from '../helpers/tmpfs.ts'

let fs: Tmpfs | null = null
test.after.each(() => {
  fs?.unmount()
  fs = null
})

test('a replace that does not fit leaves the old file whole; after freeing space it lands', async () => {
  const why = tmpfsUnavailable()
  if (why !== null) { console.log(why); return }
  fs = await mountTmpfs(1024 * 1024)
  const path = join(fs.path, 'config.json')
  await writeFile(path, '{"name":"North Hospital"}\n')
  await fs.fill()
  const bigger = `${JSON.stringify({ name: 'South Hospital', note: 'x'.repeat(64 * 1024) })}\n`
  const err = await replaceFile(path, bigger, 0o600).then(() => null, (e: unknown) => e as NodeJS.ErrnoException)
  assert.is(err?.code, 'ENOSPC')
  assert.is(await readFile(path, 'utf8'), '{"name":"North Hospital"}\n', 'the old file is whole')
  assert.equal((await readdir(fs.path)).filter(n => n.endsWith('.tmp')), [], 'no temporary file is left')
  await fs.free()
  await replaceFile(path, bigger, 0o600)
  assert.is(await readFile(path, 'utf8'), bigger)
})

test.run()
