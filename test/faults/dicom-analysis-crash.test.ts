// kill -9 of a peer while the model is still analysing acknowledged C-STOREs (issue 13 item 6):
// with `dicom.acknowledge = "custody"` an instance is answered once it is durable in custody,
// and the analysis worker pool and the ledger follow. Custody is the durable queue: after the
// restart every acknowledged instance is on the ledger once, each with the default model's
// result, none without.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { ApiImage, MedichainClient } from '../../protocol/client/client.ts'
import { dcmtk } from '../helpers/imaging/dicom.ts'
import { ctInstance } from '../helpers/imaging/dicomweb.ts'
import { TEST_SCRYPT_N } from '../helpers/peers/peers.ts'
import { waitFor, withTimeout } from '../helpers/timeout.ts'
import { recordingClient, startPeerProcess, staffOf, stopPeerProcess } from './peer-process.ts'
import type { PeerProcess } from './peer-process.ts'

const PASSWORD = 'correct horse battery staple'
/** Enough instances that the model (about 0.1 s each in one worker) is still at work when storescu ends. */
const INSTANCES = 30
const MRN = 'MRN-CRASH-1'

let root = ''
const peers: PeerProcess[] = []

test.after(async () => {
  for (const p of peers) await stopPeerProcess(p).catch(() => p.child.kill('SIGKILL'))
  await rm(root, { recursive: true, force: true })
})

/** The patient's images a clinician sees; none yet answers NO_CONSENT (reads.ts: "none" and "none open to you" alike). */
async function imagesOf (client: MedichainClient, patientId: string): Promise<ApiImage[]> {
  try {
    return await client.patientImages(patientId)
  } catch (err) {
    if ((err as { code?: string }).code === 'NO_CONSENT') return []
    throw err
  }
}

/** The DICOM port from the start banner (`  dicom:      AE@host:port`). */
function dicomPort (p: PeerProcess): number {
  const m = p.lines.map(l => /^ {2}dicom: +\S+@\S+:(\d+)$/.exec(l)).find(x => x !== null)
  if (m === undefined || m === null) throw new Error('no DICOM line in the start banner')
  return Number(m[1])
}

test('kill -9 with analyses pending: after the restart every acknowledged instance is on the ledger, analysed', async () => {
  root = await mkdtemp(join(tmpdir(), 'medichain-dicom-crash-'))
  const data = join(root, 'data')
  await mkdir(data)
  // One analysis worker, so the backlog is the model's; acknowledged from custody.
  await writeFile(join(data, 'config.json'), JSON.stringify({ auth: { scryptN: TEST_SCRYPT_N }, dicom: { acknowledge: 'custody' }, imaging: { analysisWorkers: 1 } }))
  const first = await startPeerProcess(data, { setup: true })
  peers.push(first)
  const staff = await staffOf(first)
  await staff.clinician.request('POST', '/api/dicom/links', { mrn: MRN, patientId: staff.patientId })
  const health = await (await fetch(`${first.url}/api/health`)).json() as { model: string | null }
  assert.ok(health.model !== null, 'the default model is deployed')

  const dir = join(root, 'files')
  await mkdir(dir)
  const paths: string[] = []
  for (let i = 1; i <= INSTANCES; i++) {
    const path = join(dir, `i${i}.dcm`)
    await writeFile(path, new Uint8Array(ctInstance(MRN, { study: '2.25.71', series: '2.25.72', instance: `2.25.73${i}` }, i, i)))
    paths.push(path)
  }
  const store = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(dicomPort(first)), ...paths], 120_000)
  assert.is(store.code, 0, store.stderr)
  assert.not.match(store.stderr, /Store SCP|Failed/, 'every C-STORE answered success')
  const before = await imagesOf(staff.clinician, staff.patientId)
  first.child.kill('SIGKILL')
  assert.is((await withTimeout(first.exited, 10_000, 'the kill')).signal, 'SIGKILL')
  assert.ok(before.length < INSTANCES, `analyses were pending at the kill (${before.length} of ${INSTANCES} on the ledger)`)

  const second = await startPeerProcess(data)
  peers.push(second)
  const doctor = recordingClient(second.url).client
  await doctor.signIn('doctor', PASSWORD)
  let images: ApiImage[] = []
  await waitFor(async () => {
    images = await imagesOf(doctor, staff.patientId)
    return images.length >= INSTANCES
  }, { timeout: 120_000, what: 'every acknowledged instance on the ledger after the restart' })
  assert.is(images.length, INSTANCES, 'each instance once')
  assert.is(new Set(images.map(i => i.dicom?.instance)).size, INSTANCES, 'no instance twice')
  for (const image of images) {
    assert.is(image.model, health.model, 'analysed by the default model')
    assert.ok(image.result !== null && image.score !== null, 'with its result and score')
  }
})

test.run()
