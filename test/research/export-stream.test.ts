// A research export streams through a real peer (docs/design.md §10): images go through one at a
// time and each batch of uses is on the ledger before its bytes leave; with a batch budget far
// under the cohort's size the export still completes, in one logged batch per image, and is
// byte-identical twice over. A researcher who cancels stops the export: no batch is logged after
// the abort beyond the one in flight. An image whose blocks cannot be fetched is skipped and
// listed in manifest.json, and the rest of the cohort still arrives.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Writable } from 'node:stream'
import { CID } from 'multiformats/cid'
import { fromHex } from '../../protocol/bytes.ts'
import { ResearchClient } from '../../protocol/client/research.ts'
import type { MedichainClient } from '../../protocol/client/client.ts'
import { createLogger } from '../../node/logger.ts'
import { cleanup } from '../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../helpers/peers/peers.ts'
import type { Hospital } from '../helpers/peers/peers.ts'
import { waitFor } from '../helpers/timeout.ts'
import { unzip } from '../helpers/unzip.ts'
import { phiDicom } from './deid-fixture.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

const YEAR = 365 * 86_400_000
const PROJECT = {
  title: 'Streamed export study', purpose: 'Check the export streams', options: { modifiedDates: true, cleanDescriptors: true },
  criteria: { modalities: [], from: null, to: null, labelled: null, scoreMin: null, scoreMax: null }
}

/** The messages the peers log, to await "research export aborted" without sleeping. */
function capture (): { lines: Array<{ msg?: string, images?: number }>, stream: Writable } {
  const lines: Array<{ msg?: string, images?: number }> = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l))
      done()
    }
  })
  return { lines, stream }
}

/** A consented cohort of `count` images over three patients at one hospital; returns the project id and raw CIDs. */
async function cohort (A: Hospital, count: number): Promise<{ research: ResearchClient, project: string, cids: string[], researcher: MedichainClient }> {
  const researcher = await user(A, 'res-s', 'researcher')
  const doc = await user(A, 'doc-s', 'clinician')
  const patients = await Promise.all([0, 1, 2].map(async n => await user(A, `pat-s${n}`, 'patient')))
  const cids: string[] = []
  for (let i = 0; i < count; i++) {
    const bytes = phiDicom({ sopUid: `1.2.826.0.1.3680043.8.498.${5000 + i}`, name: `STREAM^P${i}`, mrn: `MRN55${i}`, rows: 32, columns: 32 })
    const out = await doc.upload(String(patients[i % 3].user?.patientId), bytes, `s${i}.dcm`) as { raw?: string }
    cids.push(String(out.raw))
  }
  const research = new ResearchClient(researcher)
  const { id: project } = await research.create(PROJECT)
  await new ResearchClient(A.admin).decide(project, true)
  for (const p of patients) await p.grant({ grantee: String(researcher.user?.signPub), kind: 'user', purpose: 'research', expires: Date.now() + YEAR })
  return { research, project, cids, researcher }
}

const usesOf = async (A: Hospital, project: string): Promise<number> =>
  (await A.peer.ledger.queries.exportsOf(fromHex(project))).reduce((n, e) => n + e.count, 0)

test('a cohort far over the batch budget streams in logged batches, byte-identical twice, and a cancel stops it', async () => {
  const logs = capture()
  // A budget of one byte: every image is its own batch, logged before its bytes are sent.
  hospitals = await startHospitals(1, { researchExports: { budgetBytes: 1 }, logger: createLogger({ level: 'info', destination: logs.stream }) })
  const [A] = hospitals
  const IMAGES = 12
  const { research, project, researcher } = await cohort(A, IMAGES)

  const first = await research.export(project)
  const second = await research.export(project)
  assert.is(first.images, IMAGES)
  assert.is(first.skipped, 0)
  assert.ok(first.bytes.length > 10 * IMAGES, 'the archive is far over the one-byte budget')
  assert.equal(first.bytes, second.bytes, 'byte-identical')
  assert.is(first.exportId, second.exportId)
  const zip = await unzip(first.bytes)
  assert.is(zip.names.filter(n => n.endsWith('.dcm')).length, IMAGES)
  assert.equal(zip.names.slice(-2), ['manifest.csv', 'manifest.json'], 'the manifest comes after the images')
  const txs = await A.peer.ledger.queries.exportsOf(fromHex(project))
  assert.is(txs.length, 2 * IMAGES, 'one research.export per image: no batch held more than the budget or one image')
  assert.ok(txs.every(t => t.count === 1))

  // Progress counts images as their bytes arrive, up to the announced cohort size.
  const seen: Array<[number, number]> = []
  await research.export(project, (done, total) => seen.push([done, total]))
  assert.ok(seen.every(([, total]) => total === IMAGES))
  assert.equal(seen.map(s => s[0]), [...seen.map(s => s[0])].sort((a, b) => a - b), 'progress only grows')
  assert.ok(seen.length > 2, 'progress moves while the archive streams')
  assert.equal(seen.at(-1), [IMAGES, IMAGES])

  // Uses before bytes: when the first bytes arrive, the first image's use is already on the ledger.
  const before = await usesOf(A, project)
  const res = await researcher.request('POST', `/api/research/projects/${project}/export`)
  assert.is(res.headers.get('content-length'), null, 'streamed, no length up front')
  assert.is(res.headers.get('x-medichain-cohort'), String(IMAGES))
  const reader = res.body?.getReader()
  assert.ok(reader !== undefined)
  const chunk = await reader.read()
  assert.not.ok(chunk.done)
  const atFirstByte = await usesOf(A, project)
  assert.ok(atFirstByte >= before + 1, 'the first image\'s use is durable before its bytes arrive')
  // Cancel: the peer stops, logging at most the batch in flight.
  await reader.cancel()
  await waitFor(() => logs.lines.some(l => l.msg === 'research export aborted by the client'), { timeout: 60_000, what: 'the peer to see the cancel' })
  const after = await usesOf(A, project)
  assert.ok(after <= atFirstByte + 2, `no batch after the abort beyond the one in flight (${atFirstByte - before} at the first byte, ${after - before} in all)`)
  assert.ok(after - before < IMAGES, 'the cancelled export did not run to the end')
  assert.not.ok(logs.lines.some(l => l.msg === 'research export ended early' || l.msg === 'unhandled koa error'), 'a cancel is not an error')

  // The peer serves the next export as before.
  assert.equal((await research.export(project)).bytes, first.bytes)
})

test('an image that cannot be fetched is skipped and listed in the manifest; the rest arrive', async () => {
  hospitals = await startHospitals(1, { researchExports: { fetchTimeoutMs: 1000 } })
  const [A] = hospitals
  const { research, project, cids } = await cohort(A, 4)
  const whole = await research.export(project)
  assert.is(whole.images, 4)
  const uses = await usesOf(A, project)

  // The custodian's own copy of one image is gone, and no other member holds it.
  const lost = CID.parse(cids[1])
  await A.peer.storage.unpin(lost)
  const freed = await A.peer.storage.discard(lost)
  assert.ok(freed.blocks > 0)

  const out = await research.export(project)
  assert.is(out.images, 3, 'the other images still arrive')
  assert.is(out.skipped, 1)
  const zip = await unzip(out.bytes)
  const manifest = JSON.parse((await zip.read('manifest.json')).toString('utf8')) as { files: Array<{ pseudonym: string }>, skipped: Array<{ pseudonym: string, reason: string }> }
  assert.is(manifest.skipped.length, 1)
  assert.is(manifest.skipped[0].reason, 'unavailable')
  assert.is(typeof manifest.skipped[0].pseudonym, 'string', 'a pseudonym, nothing else about the image')
  assert.not.ok(JSON.stringify(manifest).includes(cids[1]), 'no CID in the manifest')
  assert.is(await usesOf(A, project), uses + 3, 'no use is logged for the skipped image')
})

test.run()
