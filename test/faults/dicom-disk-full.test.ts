// A DICOM query on a full disk: C-FIND answers only once its listing is on the ledger, so with the
// peer's data folder on a tmpfs that fills it answers A700 (out of resources) with no match; once
// space is freed the same query finds the study again and its listing is recorded.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fromHex } from '../../protocol/bytes.ts'
import { dcmtk, writeStudy } from '../helpers/imaging/dicom.ts'
import { cleanup, tempDir } from '../helpers/ledger/fixture.ts'
import { adminOf, hospitalGenesis, startHospital, stopHospitals, user } from '../helpers/peers/peers.ts'
import type { Hospital } from '../helpers/peers/peers.ts'
import { waitFor } from '../helpers/timeout.ts'
import { mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs.ts'
import type { Tmpfs } from '../helpers/tmpfs.ts'

/** Room for a fresh peer's stores, one small study and a recovery (ledger/constants.ts asks for 10 MiB free). */
const TMPFS_BYTES = 64 * 1024 * 1024
/** Bound of the listings that may still fit in the last partly used pages once the disk is full. */
const MAX_FINDS_AFTER_FILL = 32

let fs: Tmpfs | null = null
let A: Hospital | undefined
test.after.each(async () => {
  if (A !== undefined) await stopHospitals([A]).catch(() => {})
  A = undefined
  fs?.unmount()
  fs = null
  await cleanup()
})

test('C-FIND on a full disk answers out of resources and shows nothing; after space returns it finds and logs', async () => {
  const why = tmpfsUnavailable()
  if (why !== null) { console.log(why); return }
  fs = await mountTmpfs(TMPFS_BYTES)
  A = await adminOf(await startHospital(1, hospitalGenesis(1), { data: join(fs.path, 'peer'), freshChain: true, dicom: {} }))
  const patient = await user(A, 'full-patient', 'patient')
  const pid = fromHex(patient.user?.patientId as string)
  await A.peer.dicom?.linkPatient('MRN-FULL-1', pid)
  const dir = await tempDir('medichain-dicom-full-')
  const uid = '2.25.9100001'
  const files = await writeStudy(join(dir, 'study'), { mrn: 'MRN-FULL-1', name: 'SYNTH^FULL^DISK', birthDate: '19700101', uid, series: [{ uid: `${uid}.1`, modality: 'CT', slices: 1 }] })
  assert.is((await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(A.peer.dicom?.address()?.port), ...files])).code, 0)
  await A.peer.dicom?.settled()
  const ledger = A.peer.ledger
  const listings = async (): Promise<number> => (await ledger.queries.auditOf(pid)).filter(e => e.use === 'list').length

  let n = 0
  const find = async (): Promise<{ found: number, stderr: string }> => {
    const out = join(dir, `find-${n++}`)
    await mkdir(out)
    const r = await dcmtk('findscu', ['-v', '-S', '-aec', 'MEDICHAIN', '-X', '-od', out, '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${uid}`, '127.0.0.1', String(A?.peer.dicom?.address()?.port)])
    const found = (await readdir(out)).length
    await rm(out, { recursive: true, force: true })
    return { found, stderr: `${r.stdout}\n${r.stderr}` }
  }
  assert.is((await find()).found, 1, 'found before the disk fills')
  const before = await listings()
  assert.is(before, 1, 'the answer was logged as a listing')

  await fs.fill()
  // A few listings may still fit in the pages the filesystem had begun; then every query is refused.
  let refused: { found: number, stderr: string } | undefined
  for (let i = 0; i < MAX_FINDS_AFTER_FILL && refused === undefined; i++) {
    const r = await find()
    if (r.found === 0) refused = r
  }
  assert.ok(refused !== undefined, `a query was still answered after ${MAX_FINDS_AFTER_FILL} tries on a full disk`)
  assert.match(refused.stderr, /Refused: OutOfResources/, `the refusal says out of resources: ${refused.stderr}`)
  const answeredWhileFull = await listings()

  await fs.free()
  // The peer takes writes again once space is back, without a restart: the query is answered and logged.
  await waitFor(async () => (await find()).found === 1, { timeout: 30_000, what: 'C-FIND to be answered once space is back' })
  assert.ok(await listings() > answeredWhileFull, 'and that answer is logged')
})

test.run()
