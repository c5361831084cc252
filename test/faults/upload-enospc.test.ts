// A full disk under uploads (issue 10.2): ENOSPC on the temp-file write crashed the peer like a
// client abort did. The tests mount a small tmpfs (root only; skipped with a notice otherwise) on
// `<data>/tmp` or `<data>/blocks` under a real `medichain start` process and upload 3 MiB into it.
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodePng } from '../../node/imaging/raster/encode.ts'
import { rejects } from '../helpers/assert.ts'
import { testImages } from '../helpers/imaging/images.ts'
import { startPeerProcess, staffOf, stopPeerProcess, writePeerConfig } from './peer-process.ts'
import type { PeerProcess } from './peer-process.ts'

const isRoot = process.getuid?.() === 0
let dir = ''
let mounted: string | undefined
let peer: PeerProcess | undefined

test.after.each(async () => {
  if (peer !== undefined) await stopPeerProcess(peer).catch(() => peer?.child.kill('SIGKILL'))
  peer = undefined
  if (mounted !== undefined) execFileSync('umount', [mounted])
  mounted = undefined
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

/** A fresh data folder with a tmpfs of `size` mounted on its `sub` folder. */
async function smallDisk (sub: string, size: string): Promise<void> {
  dir = await mkdtemp(join(tmpdir(), 'medichain-enospc-'))
  await mkdir(join(dir, sub), { mode: 0o700 })
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', join(dir, sub)])
  mounted = join(dir, sub)
}

const bigPng = (): Uint8Array => encodePng(new Uint8Array(randomBytes(1800 * 1800)), 1800, 1800)

test('ENOSPC on the temp write answers 507 STORAGE_FULL; the peer stays up and the temp folder empty', async () => {
  if (!isRoot) {
    process.stdout.write('SKIP upload-enospc: mounting a tmpfs needs root (CI runs as root)\n')
    return
  }
  await smallDisk('tmp', '1m')
  await writePeerConfig(dir)
  peer = await startPeerProcess(dir, { setup: true })
  const staff = await staffOf(peer)
  const big = bigPng()
  assert.ok(big.length > 3 * 1024 * 1024)
  for (let i = 0; i < 2; i++) {
    const err = await rejects(async () => await staff.clinician.upload(staff.patientId, big, 'big.png'), 'STORAGE_FULL')
    assert.is((err as { status: number }).status, 507)
    assert.equal(await readdir(join(dir, 'tmp')), [], 'the partial file is removed')
  }
  assert.is(peer.child.exitCode, null, 'the peer is alive')
  const health = await fetch(`${peer.url}/api/health`)
  assert.is(health.status, 200)
  // Space is back once the partial file is gone: a small upload goes through.
  const stored = await staff.clinician.upload(staff.patientId, testImages().png, 'small.png')
  assert.type(stored.raw, 'string')
})

test('ENOSPC in the image blockstore answers 507 STORAGE_FULL, records nothing, and removes the partial blocks at once', async () => {
  if (!isRoot) {
    process.stdout.write('SKIP upload-enospc (blocks): mounting a tmpfs needs root (CI runs as root)\n')
    return
  }
  await smallDisk('blocks', '2m')
  // The collector is kept away (a day's grace): the failed upload must clean up after itself.
  await writePeerConfig(dir, { collectGraceMs: 24 * 3600_000 })
  peer = await startPeerProcess(dir, { setup: true })
  const p = peer
  const staff = await staffOf(p)
  const err = await rejects(async () => await staff.clinician.upload(staff.patientId, bigPng(), 'big.png'), 'STORAGE_FULL')
  assert.is((err as { status: number }).status, 507)
  // No image.add: the custodian's clinician, who may open every image this hospital recorded,
  // gets the answer for "no images" (the same as "none you may open", issue 11.4).
  await rejects(async () => await staff.clinician.patientImages(staff.patientId), 'NO_CONSENT')
  assert.equal(await readdir(join(dir, 'tmp')), [])
  // Blocks the seal wrote before the disk filled are gone already; none is left for the collector.
  const blocks = await readdir(join(dir, 'blocks'), { recursive: true })
  assert.equal(blocks.filter(name => name.endsWith('.data')), [], 'no block file of the failed upload is left')
  const h = await (await fetch(`${p.url}/api/health`)).json() as { collectedBlocks: number | null }
  assert.is(h.collectedBlocks ?? 0, 0)
  const stored = await staff.clinician.upload(staff.patientId, testImages().png, 'small.png')
  assert.equal((await staff.clinician.patientImages(staff.patientId)).map(i => i.raw), [stored.raw])
  assert.is(p.child.exitCode, null)
})

test.run()
