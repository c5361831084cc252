// The label store on a real level folder: records are sealed at rest (no mask or patient id in
// clear on disk), a tampered record or a wrong key is CORRUPT_LABEL and skipped when listing,
// and a folder of another schema version is refused.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Level } from 'level'
import { toHex } from '../../../protocol/bytes.ts'
import { labelKey, LabelStore } from '../../../node/labels/store.ts'
import type { Label } from '../../../node/labels/store.ts'
import { cleanup, tempDir, testSeed } from '../../helpers/ledger/fixture.ts'
import { rejects } from '../../helpers/assert.ts'

const CID_A = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
const CID_B = 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4'

function label (cid: string): Label {
  const mask = new Uint8Array(32 * 32)
  mask.fill(1, 100, 180)
  return {
    cid, patient: new Uint8Array(32).fill(0xab), record: null, use: 'train', width: 32, height: 32, lesionPixels: 80,
    author: new Uint8Array(32).fill(7), time: 1_700_000_000_000, mask
  }
}

test.after.each(cleanup)

test('a label round-trips, sealed: its patient id is nowhere on disk in clear', async () => {
  const dir = await tempDir()
  const store = new LabelStore(dir, labelKey(testSeed(1)))
  await store.open()
  await store.put(label(CID_A))
  const got = await store.get(CID_A)
  assert.equal(got, label(CID_A))
  assert.equal((await store.list(() => assert.unreachable())).map(m => m.cid), [CID_A])
  await store.close()
  const probe = toHex(new Uint8Array(32).fill(0xab))
  for (const file of await readdir(dir)) {
    const bytes = await readFile(join(dir, file))
    assert.not.ok(bytes.includes(Buffer.from(new Uint8Array(32).fill(0xab))), `${file} holds the patient id in clear`)
    assert.not.ok(bytes.toString('latin1').includes(probe), `${file} holds the patient id in hex`)
  }
})

test('a tampered record and a wrong key are CORRUPT_LABEL; listing skips and reports them', async () => {
  const dir = await tempDir()
  const store = new LabelStore(dir, labelKey(testSeed(1)))
  await store.open()
  await store.put(label(CID_A))
  await store.put(label(CID_B))
  await store.close()
  const raw = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
  const sealed = await raw.get(`l:${CID_B}`) as Uint8Array
  sealed[sealed.length - 5] ^= 1
  await raw.put(`l:${CID_B}`, sealed)
  await raw.close()

  const reopened = new LabelStore(dir, labelKey(testSeed(1)))
  await reopened.open()
  await rejects(async () => await reopened.get(CID_B), 'CORRUPT_LABEL')
  const reported: string[] = []
  assert.equal((await reopened.list((cid, err) => reported.push(`${cid}:${err.code}`))).map(m => m.cid), [CID_A])
  assert.equal(reported, [`${CID_B}:CORRUPT_LABEL`])
  await reopened.close()

  const stranger = new LabelStore(dir, labelKey(testSeed(2)))
  await stranger.open()
  await rejects(async () => await stranger.get(CID_A), 'CORRUPT_LABEL')
  await stranger.close()
})

test('a folder of another schema version is refused', async () => {
  const dir = await tempDir()
  const raw = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
  await raw.put('meta:schema', '99')
  await raw.close()
  await rejects(async () => await new LabelStore(dir, labelKey(testSeed(1))).open(), 'SCHEMA_VERSION')
})

test('first training uses are remembered per image and consent', async () => {
  const dir = await tempDir()
  const store = new LabelStore(dir, labelKey(testSeed(1)))
  await store.open()
  assert.not.ok(await store.usedUnder(CID_A, 'aa'))
  await store.markUsed(CID_A, 'aa')
  assert.ok(await store.usedUnder(CID_A, 'aa'))
  assert.not.ok(await store.usedUnder(CID_A, 'bb'))
  assert.not.ok(await store.usedUnder(CID_B, 'aa'))
  await store.close()
})

test.run()
