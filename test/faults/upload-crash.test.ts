// kill -9 of a peer process in the middle of uploads, then restarts (issues 10.1, 10.3): the temp
// folder is emptied at start and its plaintext overwritten, every acknowledged upload is still
// there and decrypts to its bytes, the blocks of the interrupted uploads are orphans the collector
// keeps within the grace period and frees after it, and never a block an image needs.
import { randomBytes } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { watch } from 'node:fs'
import { link, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodePng } from '../../node/imaging/raster/encode.ts'
import { waitFor, withTimeout } from '../helpers/timeout.ts'
import { recordingClient, startPeerProcess, staffOf, stopPeerProcess, writePeerConfig } from './peer-process.ts'
import type { PeerProcess } from './peer-process.ts'

const MAIN = fileURLToPath(new URL('../../node/main.ts', import.meta.url))
const PASSWORD = 'correct horse battery staple'
/** 1600² random 8-bit pixels: a ~2.5 MiB PNG, so each upload writes several 1 MiB blocks. */
const SIDE = 1600

let root = ''
const peers: PeerProcess[] = []

test.after(async () => {
  for (const p of peers) await stopPeerProcess(p).catch(() => p.child.kill('SIGKILL'))
  await rm(root, { recursive: true, force: true })
})

const bigPng = (): Uint8Array => encodePng(new Uint8Array(randomBytes(SIDE * SIDE)), SIDE, SIDE)

async function blockFiles (data: string): Promise<string[]> {
  const entries = await readdir(join(data, 'blocks'), { recursive: true, withFileTypes: true })
  return entries.filter(e => e.isFile() && e.name.endsWith('.data')).map(e => e.name)
}

/** Waits for the collector's pass at start and returns its log line. */
async function collectorPass (p: PeerProcess): Promise<Record<string, unknown>> {
  await waitFor(() => p.logs().some(l => l.msg === 'orphan blocks collected'), { timeout: 30_000, what: 'the collector pass at start' })
  const line = p.logs().find(l => l.msg === 'orphan blocks collected')
  if (line === undefined) throw new Error('unreachable')
  return line
}

/** Signs the clinician in again and checks every acknowledged image decrypts to its bytes. */
async function checkAcknowledged (p: PeerProcess, patientId: string, acked: Map<string, Uint8Array>): Promise<void> {
  const doctor = recordingClient(p.url).client
  await doctor.signIn('doctor', PASSWORD)
  const images = await doctor.patientImages(patientId)
  for (const [raw, bytes] of acked) {
    const image = images.find(i => i.raw === raw)
    assert.ok(image !== undefined, `acknowledged image ${raw} is listed`)
    assert.ok(Buffer.from(await doctor.openImage(image)).equals(bytes), `acknowledged image ${raw} decrypts to its bytes`)
  }
}

async function health (p: PeerProcess): Promise<Record<string, unknown>> {
  return await (await fetch(`${p.url}/api/health`)).json() as Record<string, unknown>
}

test('kill -9 during uploads: temp wiped, acknowledged uploads kept, orphans freed only after the grace period', async () => {
  root = await mkdtemp(join(tmpdir(), 'medichain-crash-'))
  const data = join(root, 'data')
  await mkdir(data)
  await writePeerConfig(data, { collectIntervalMs: 0 })
  const first = await startPeerProcess(data, { setup: true })
  peers.push(first)
  const staff = await staffOf(first)

  const acked = new Map<string, Uint8Array>()
  for (let i = 0; i < 2; i++) {
    const png = bigPng()
    const r = await staff.clinician.upload(staff.patientId, png, `scan-${i}.png`)
    acked.set(String(r.raw), png)
  }

  // Uploads in flight; the first block file one of them writes triggers the kill.
  const before = new Set(await blockFiles(data))
  const watcher = watch(join(data, 'blocks'), { recursive: true })
  const wrote = new Promise<void>(resolve => watcher.on('change', (_type, name) => {
    if (typeof name === 'string' && name.endsWith('.data') && !before.has(name.split('/').pop() ?? '')) resolve()
  }))
  const inFlight = [0, 1, 2].map(async () => {
    const png = bigPng()
    const r = await staff.clinician.upload(staff.patientId, png, 'scan.png')
    acked.set(String(r.raw), png)
  })
  for (const u of inFlight) u.catch(() => {})
  await withTimeout(wrote, 60_000, 'an in-flight upload to write a block')
  first.child.kill('SIGKILL')
  watcher.close()
  assert.is((await withTimeout(first.exited, 10_000, 'the kill')).signal, 'SIGKILL')
  await Promise.allSettled(inFlight)

  // Plaintext of the interrupted uploads: kept reachable through hard links to check the wipe.
  const left = await readdir(join(data, 'tmp'))
  assert.ok(left.length > 0, 'uploads were in flight at the kill')
  await mkdir(join(root, 'links'))
  for (const name of left) await link(join(data, 'tmp', name), join(root, 'links', name))
  const blocksAtCrash = (await blockFiles(data)).length

  // Restart within the grace period (default 1 h).
  const second = await startPeerProcess(data)
  peers.push(second)
  assert.equal(await readdir(join(data, 'tmp')), [], 'the temp folder is emptied at start')
  for (const name of left) {
    const bytes = await readFile(join(root, 'links', name))
    assert.ok(bytes.length > 0 && bytes.every(b => b === 0), `${name} was overwritten before it was unlinked`)
  }
  assert.ok(second.logs().some(l => l.msg?.toString().startsWith('removed partial uploads') === true && l.files === left.length))
  const kept = await collectorPass(second)
  assert.is(kept.freedBlocks, 0, 'no orphan is collected within the grace period')
  assert.is((await blockFiles(data)).length, blocksAtCrash)
  await checkAcknowledged(second, staff.patientId, acked)
  await stopPeerProcess(second)
  const verify = spawnSync(process.execPath, [MAIN, 'ledger', 'verify', '--data', data], { encoding: 'utf8' })
  assert.is(verify.status, 0, verify.stdout + verify.stderr)

  // Past the grace period (0 here): the orphans go, nothing an image needs does.
  await writePeerConfig(data, { collectIntervalMs: 0, collectGraceMs: 0 })
  const third = await startPeerProcess(data)
  peers.push(third)
  const freed = await collectorPass(third)
  assert.ok(Number(freed.freedBlocks) > 0, 'the interrupted uploads left orphan blocks, now freed')
  assert.is((await blockFiles(data)).length, blocksAtCrash - Number(freed.freedBlocks))
  const h = await health(third)
  assert.is(h.collectedBlocks, freed.freedBlocks, 'health reports what the collector freed')
  assert.is(h.collectedBytes, freed.freedBytes)
  await checkAcknowledged(third, staff.patientId, acked)
})

test.run()
