// The client's count of a streamed export (protocol/client/zip-progress.ts) against our zip writer: fed
// the archive in chunks of any size, it counts each entry once its bytes are all in, keeps the
// manifest's bytes exactly, and stops at the central directory.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { StoredZipProgress } from '../../protocol/client/zip-progress.ts'
import { zipStream } from '../../node/research/zip.ts'
import { unzip } from '../helpers/unzip.ts'

const entries = [
  { name: 'p1/1.2.dcm', data: new Uint8Array(1000).map((_, i) => i % 251) },
  { name: 'p2/empty.dcm', data: new Uint8Array(0) },
  // Bytes that look like a local header inside an entry's data do not count as one.
  { name: 'p2/3.4.dcm', data: Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 1, 2, 3]) },
  { name: 'manifest.json', data: new TextEncoder().encode('{"files":["é"]}\n') }
]

async function archive (): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of zipStream(entries)) parts.push(p)
  return Buffer.concat(parts)
}

test('counts entries and keeps the manifest whatever the chunk size', async () => {
  const zip = await archive()
  assert.equal((await unzip(zip)).names, entries.map(e => e.name))
  for (const size of [1, 7, 30, 31, 4096, zip.length]) {
    const p = new StoredZipProgress(['manifest.json'])
    const counts: number[] = []
    for (let at = 0; at < zip.length; at += size) {
      p.push(zip.subarray(at, at + size))
      counts.push(p.entries)
    }
    assert.is(p.entries, entries.length, `chunks of ${size}`)
    assert.equal(counts, [...counts].sort((a, b) => a - b))
    assert.equal(p.kept('manifest.json'), entries[3].data, `chunks of ${size}`)
    assert.is(p.kept('p1/1.2.dcm'), undefined, 'only what was asked is kept')
  }
})

test('an archive cut short has no manifest and counts only whole entries', async () => {
  const zip = await archive()
  const p = new StoredZipProgress(['manifest.json'])
  p.push(zip.subarray(0, 30 + 'p1/1.2.dcm'.length + 999))
  assert.is(p.entries, 0, 'the first entry misses its last byte')
  assert.is(p.kept('manifest.json'), undefined)
})

test.run()
