// Zip64 in the export's zip writer (APPNOTE §4.3.14, §4.3.15, §4.5.3), judged by Info-ZIP's
// unzip and Python's zipfile. Entry counts on both sides of 65,535 cross the count threshold
// cheaply; one 4 GiB entry of zeros followed by a small one crosses the size and offset thresholds,
// written to a sparse file (runs of zeros are skipped, not written), so the disk holds a few KiB
// while the readers see every byte. Below the thresholds no Zip64 record appears at all.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { zipStream } from '../../node/research/zip.ts'
import type { ZipEntry } from '../../node/research/zip.ts'
import { StoredZipProgress } from '../../protocol/client/zip-progress.ts'
import { cleanup, tempDir } from '../helpers/ledger/fixture.ts'
import { unzip } from '../helpers/unzip.ts'

test.after.each(async () => { await cleanup() })

const ZIP64_END = Buffer.from([0x50, 0x4b, 0x06, 0x06])
const ZIP64_LOCATOR = Buffer.from([0x50, 0x4b, 0x06, 0x07])

/** Runs a Python script on an archive; answers its stdout as JSON. */
async function python (script: string, path: string): Promise<unknown> {
  return await new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, path], { maxBuffer: 64 * 1024 * 1024, timeout: 180_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`python3 failed: ${stderr}`))
      else resolve(JSON.parse(stdout))
    })
  })
}

/** Runs a command; answers its stdout. */
async function run (cmd: string, args: string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024, timeout: 180_000 }, (err, stdout, stderr) => err !== null ? reject(new Error(`${cmd} failed: ${stderr}`)) : resolve(stdout))
  })
}

/** Python's zipfile: names, sizes, offsets, testzip's verdict (every CRC) and the last entry's text. */
const ZIPFILE = `
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    infos = z.infolist()
    print(json.dumps({
        'count': len(infos),
        'first': infos[0].filename,
        'last': infos[-1].filename,
        'sizes': [i.file_size for i in infos[:3]] + [i.file_size for i in infos[-2:]],
        'offsets': [i.header_offset for i in infos[-2:]],
        'bad': z.testzip(),
        'lastText': z.read(infos[-1]).decode('utf-8'),
    }))
`

function tiny (count: number): ZipEntry[] {
  return Array.from({ length: count }, (_, i) => ({ name: `p${i % 7}/${i}.dcm`, data: new TextEncoder().encode(`entry ${i}`) }))
}

async function whole (entries: ZipEntry[]): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const p of zipStream(entries)) parts.push(p)
  return Buffer.concat(parts)
}

test('65,534 entries need no Zip64; 65,535 and 70,000 do, and unzip, zipfile and the progress reader read them all', async () => {
  for (const count of [65_534, 65_535, 70_000]) {
    const entries = tiny(count)
    const zip = await whole(entries)
    const zip64 = count >= 65_535
    assert.is(zip.includes(ZIP64_END), zip64, `${count} entries: Zip64 end record`)
    assert.is(zip.includes(ZIP64_LOCATOR), zip64, `${count} entries: Zip64 locator`)
    assert.is(zip.readUInt16LE(zip.length - 22 + 10), Math.min(count, 0xffff), 'the classic record says 0xFFFF once Zip64 holds the count')
    const judged = await unzip(zip)
    assert.is(judged.names.length, count, `${count} entries: unzip lists every one`)
    assert.is((await judged.read(entries[count - 1].name)).toString('utf8'), `entry ${count - 1}`)
    const py = await python(ZIPFILE, judged.path) as { count: number, bad: string | null, last: string, lastText: string }
    assert.equal([py.count, py.bad, py.last, py.lastText], [count, null, entries[count - 1].name, `entry ${count - 1}`], `${count} entries: zipfile`)
    const progress = new StoredZipProgress([entries[count - 1].name])
    for (let at = 0; at < zip.length; at += 65_536) progress.push(zip.subarray(at, at + 65_536))
    assert.is(progress.entries, count)
    assert.is(new TextDecoder().decode(progress.kept(entries[count - 1].name)), `entry ${count - 1}`)
  }
  const a = createHash('sha256').update(await whole(tiny(70_000))).digest('hex')
  const b = createHash('sha256').update(await whole(tiny(70_000))).digest('hex')
  assert.is(a, b, 'a Zip64 archive is byte-reproducible too')
})

/** Hashes data of any length (node's hash takes under 4 GiB at once). */
function hashParts (hash: ReturnType<typeof createHash>, data: Uint8Array): void {
  for (let at = 0; at < data.length; at += 2 ** 30) hash.update(data.subarray(at, at + 2 ** 30))
}

/** Writes a stream to `path` as a sparse file: chunks of zeros only move the position. */
async function sparseSink (stream: AsyncIterable<Uint8Array>, path: string, onChunk: (c: Uint8Array) => void): Promise<number> {
  const file = await open(path, 'w')
  const zeros = Buffer.alloc(64 * 1024 * 1024)
  let at = 0
  try {
    for await (const chunk of stream) {
      onChunk(chunk)
      for (let i = 0; i < chunk.length; i += zeros.length) {
        const part = chunk.subarray(i, i + zeros.length)
        if (Buffer.compare(part, zeros.subarray(0, part.length)) !== 0) await file.write(part, 0, part.length, at + i)
      }
      at += chunk.length
    }
    await file.truncate(at)
  } finally {
    await file.close()
  }
  return at
}

test('an entry of 4 GiB and one past 4 GiB: Zip64 sizes, offset and end record, read by zipfile, zipinfo and unzip', async () => {
  const BIG = 2 ** 32 + 3
  // Untouched zero pages cost no memory: reading them maps the kernel's one zero page.
  const entries: ZipEntry[] = [{ name: 'big.bin', data: new Uint8Array(BIG) }, { name: 'manifest.json', data: new TextEncoder().encode('{"after":"4 GiB"}\n') }]
  const path = join(await tempDir('medichain-zip64-'), 'big.zip')
  const progress = new StoredZipProgress(['manifest.json'])
  const hash = createHash('sha256')
  const size = await sparseSink(zipStream(entries), path, (c) => { progress.push(c); hashParts(hash, c) })
  assert.is((await stat(path)).size, size)
  assert.ok(size > BIG, 'the archive is over 4 GiB')
  assert.ok((await stat(path)).blocks * 512 < 1024 * 1024, 'and sparse on disk')
  assert.is(progress.entries, 2, 'the progress reader follows the Zip64 local header')
  assert.is(new TextDecoder().decode(progress.kept('manifest.json')), '{"after":"4 GiB"}\n')

  const py = await python(ZIPFILE, path) as { count: number, sizes: number[], offsets: number[], bad: string | null, lastText: string }
  assert.is(py.count, 2)
  assert.equal(py.sizes.slice(-2), [BIG, 18])
  assert.equal(py.offsets, [0, 30 + 'big.bin'.length + 20 + BIG], 'the second entry starts past 4 GiB')
  assert.is(py.bad, null, 'zipfile checked every CRC, 4 GiB of them')
  assert.is(py.lastText, '{"after":"4 GiB"}\n')
  // Info-ZIP: the listing from the Zip64 central directory, and the entry past 4 GiB extracted
  // (its CRC checked) through its Zip64 offset. zipfile above checked the 4 GiB entry's CRC.
  const info = await run('zipinfo', [path])
  assert.match(info, /2 files/)
  assert.match(info, new RegExp(`${BIG}.*big\\.bin`))
  assert.is(await run('unzip', ['-p', path, 'manifest.json']), '{"after":"4 GiB"}\n')
  // Reproducible: the same entries give the same bytes (hashed as they streamed, twice).
  const again = createHash('sha256')
  for await (const c of zipStream(entries)) hashParts(again, c)
  assert.is(again.digest('hex'), hash.digest('hex'))
})

test('a small archive has no Zip64 field and the bytes the writer gave before Zip64', async () => {
  const zip = await whole([{ name: 'p1/1.2.dcm', data: new Uint8Array(1000).map((_, i) => i % 251) }, { name: 'manifest.json', data: new TextEncoder().encode('{"files":["é"]}\n') }])
  assert.not.ok(zip.includes(ZIP64_END))
  assert.is(zip.readUInt16LE(4), 20, 'version 2.0')
  assert.is(zip.readUInt16LE(28), 0, 'no extra field')
  // SHA-256 of the same two entries from the writer before Zip64 (commit b15e82d).
  assert.is(createHash('sha256').update(zip).digest('hex'), '556fc9a80e9949409be3949d5a7438583b3e75c037f22457ee1b87db05574ee4')
})

test.run()
