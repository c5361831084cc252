// A full disk under the upload temp folder (issue 10.2): ENOSPC on the temp-file write crashed the
// peer like a client abort did. The test mounts a 1 MiB tmpfs on `<data>/tmp` (root only; skipped
// with a notice otherwise) under a real `medichain start` process and uploads 3 MiB into it.
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodePng } from '../../node/imaging/encode.ts'
import { rejects } from '../helpers/assert.ts'
import { testImages } from '../helpers/images.ts'
import { startPeerProcess, staffOf, stopPeerProcess, writePeerConfig } from './peer-process.ts'
import type { PeerProcess } from './peer-process.ts'

const isRoot = process.getuid?.() === 0
let dir = ''
let mounted = false
let peer: PeerProcess | undefined

test.after.each(async () => {
  if (peer !== undefined) await stopPeerProcess(peer).catch(() => peer?.child.kill('SIGKILL'))
  peer = undefined
  if (mounted) execFileSync('umount', [join(dir, 'tmp')])
  mounted = false
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

test('ENOSPC on the temp write answers 507 STORAGE_FULL; the peer stays up and the temp folder empty', async () => {
  if (!isRoot) {
    process.stdout.write('SKIP upload-enospc: mounting a tmpfs needs root (CI runs as root)\n')
    return
  }
  dir = await mkdtemp(join(tmpdir(), 'medichain-enospc-'))
  await mkdir(join(dir, 'tmp'), { mode: 0o700 })
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', join(dir, 'tmp')])
  mounted = true
  await writePeerConfig(dir)
  peer = await startPeerProcess(dir, { setup: true })
  const staff = await staffOf(peer)
  const big = encodePng(new Uint8Array(randomBytes(1800 * 1800)), 1800, 1800)
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

test.run()
