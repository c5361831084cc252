// Aborted uploads against a real peer process (issue 10.2): a client that sends 2 MiB of an 8 MiB
// multipart body and drops the socket must not crash the peer (it did, exit 7, 3 times out of 3).
// The peer stays up, the temp folder is empty, and the abort is one log line without a stack.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { testImages } from '../helpers/imaging/images.ts'
import { waitFor, withTimeout } from '../helpers/timeout.ts'
import { startPeerProcess, staffOf, stopPeerProcess, writePeerConfig } from './peer-process.ts'
import type { PeerProcess, Staff } from './peer-process.ts'

const DECLARED = 8 * 1024 * 1024
const SENT = 2 * 1024 * 1024

let dir = ''
let peer: PeerProcess | undefined
let staff: Staff

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medichain-abort-'))
  await writePeerConfig(dir)
  peer = await startPeerProcess(dir, { setup: true })
  staff = await staffOf(peer)
})

test.after(async () => {
  if (peer !== undefined) {
    await stopPeerProcess(peer).catch(() => peer?.child.kill('SIGKILL'))
  }
  await rm(dir, { recursive: true, force: true })
})

/** Bytes the temp folder's files hold now. */
async function tempBytes (): Promise<number> {
  let total = 0
  for (const name of await readdir(join(dir, 'tmp'))) total += (await stat(join(dir, 'tmp', name)).catch(() => ({ size: 0 }))).size
  return total
}

/** Sends the head of a multipart upload over a raw socket, waits until the peer wrote it, then drops the socket. */
async function abortedUpload (p: PeerProcess): Promise<void> {
  const { hostname, port } = new URL(p.url)
  const boundary = `----medichain${randomBytes(8).toString('hex')}`
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="scan.png"\r\nContent-Type: image/png\r\n\r\n`
  const socket = connect(Number(port), hostname)
  socket.on('error', () => {})
  await withTimeout(new Promise<void>(resolve => socket.once('connect', resolve)), 10_000, 'the connection')
  socket.write([
    `POST /api/patients/${staff.patientId}/images HTTP/1.1`, `Host: ${hostname}:${port}`,
    `Cookie: ${staff.clinicianCookie()}`, `X-CSRF-Token: ${staff.clinician.csrfToken ?? ''}`,
    `Content-Type: multipart/form-data; boundary=${boundary}`, `Content-Length: ${DECLARED + head.length}`, '', ''
  ].join('\r\n'))
  socket.write(head)
  socket.write(testImages().png)
  socket.write(randomBytes(SENT))
  // The peer has started its temp-file write and holds part of the body: now the client goes.
  await waitFor(async () => await tempBytes() >= SENT / 2, { timeout: 20_000, what: `the partial upload in the temp folder: ${p.lines.slice(-5).join("\n")}` })
  socket.resetAndDestroy()
}

test('a dropped upload leaves the peer up, the temp folder empty, and one log line without a stack (3 times)', async () => {
  const p = peer as PeerProcess
  for (let round = 1; round <= 3; round++) {
    const from = p.lines.length
    await abortedUpload(p)
    // Every line about the abort, whoever writes it: there must be exactly one.
    const aborts = (): Array<Record<string, unknown>> => p.logs(from).filter(l => l.code === 'CLIENT_ABORTED' || /abort/i.test(String(l.msg)))
    await withTimeout(Promise.race([
      waitFor(() => aborts().length > 0, { timeout: 20_000, what: 'the abort log line' }),
      p.exited.then(e => { throw new Error(`round ${round}: the peer exited (${String(e.code ?? e.signal)}): ${p.stderr().slice(-400)}`) })
    ]), 25_000, 'the abort to be handled')
    await waitFor(async () => (await readdir(join(dir, 'tmp'))).length === 0, { timeout: 10_000, what: 'an empty temp folder' })
    const health = await fetch(`${p.url}/api/health`)
    assert.is(health.status, 200, 'the peer still answers')
    assert.is(p.child.exitCode, null, 'the peer is alive')
    const logs = p.logs(from)
    assert.is(aborts().length, 1, `one line for the abort: ${JSON.stringify(aborts())}`)
    assert.equal(logs.filter(l => JSON.stringify(l).includes('"stack"')), [], 'no stack in any line since the abort')
    assert.is(logs.filter(l => typeof l.level === 'number' && l.level >= 50).length, 0, 'no error line')
  }
  // And the peer still takes uploads.
  const stored = await staff.clinician.upload(staff.patientId, testImages().png, 'scan.png')
  assert.type(stored.raw, 'string')
  assert.equal(await readdir(join(dir, 'tmp')), [])
})

test.run()
