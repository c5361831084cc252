// Research on the ledger (docs/design.md §10): who may sign a project, a decision and an export
// log, what each must name, the state they leave (decisions per hospital, a patient's uses), and a
// negative case for every rule: UNAUTHORISED_SIGNER, UNKNOWN_PROJECT, NOT_PROJECT_HOSPITAL,
// FOREIGN_IMAGE, and a project on a non-research consent.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { toHex } from '../../../protocol/bytes.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { sha256 } from '../../../protocol/crypto/hash.ts'
import { decodeTx, encodeTx, patientIdOf } from '../../../protocol/chain/tx.ts'
import type { TxBodies } from '../../../protocol/chain/tx.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'
import { cleanup, makeTx, openLedger, registerBody, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B] } = testConsortium(2)
const id = ledgerIdOf(genesis)
const researcher = testIdentity(80)
const adminA = testIdentity(81)
const adminB = testIdentity(82)
const patient = testIdentity(83)
const pid = patientIdOf(patient.publicKey)
const TIME = 1_700_000_000_000
const clock = (): number => TIME + 60_000
test.after.each(cleanup)

const cid = (n: number): CID => CID.create(1, 0x55, Digest.create(0x12, sha256(new Uint8Array([n]))))
const PROJECT: TxBodies['research.project'] = {
  title: 'Lesion detection', purpose: 'Evaluate a detector', options: { modifiedDates: true, cleanDescriptors: true },
  criteria: { modalities: ['OT'], from: null, to: null, labelled: null, scoreMin: null, scoreMax: null }
}
const image: TxBodies['image.add'] = { patient: pid, record: null, raw: cid(1), result: null, modality: 'OT', size: 10, model: null, score: null, keys: [] }

/** Ledger at A with a researcher and an admin at A, an admin registered by A for B (refused later), a patient and one image. */
async function fresh (): Promise<{ ledger: Ledger, project: Uint8Array }> {
  const ledger = await openLedger(genesis, A, { clock })
  await ledger.submit(makeTx(id, A, 'account.register', registerBody(id, researcher, A, 'researcher'), 0, TIME))
  await ledger.submit(makeTx(id, A, 'account.register', registerBody(id, adminA, A, 'admin'), 1, TIME))
  await ledger.submit(makeTx(id, A, 'account.register', registerBody(id, patient, A, 'patient'), 2, TIME))
  await ledger.submit(makeTx(id, A, 'image.add', image, 3, TIME))
  const project = makeTx(id, researcher, 'research.project', PROJECT, 0, TIME + 1)
  await ledger.submit(project)
  return { ledger, project: encodeTx(project).id }
}

test('a researcher creates a project; an admin decides for their own hospital; the latest decision wins', async () => {
  const { ledger, project } = await fresh()
  const projects = await ledger.queries.projects()
  assert.is(projects.length, 1)
  assert.is(toHex(projects[0].id), toHex(project))
  assert.is(projects[0].title, 'Lesion detection')
  assert.is(toHex(projects[0].researcher), toHex(researcher.publicKey))
  await ledger.submit(makeTx(id, adminA, 'research.decision', { project, hospital: A.publicKey, approve: true }, 0, TIME + 2))
  assert.equal((await ledger.queries.decisions(project)).map(d => [toHex(d.hospital), d.approve]), [[toHex(A.publicKey), true]])
  await ledger.submit(makeTx(id, adminA, 'research.decision', { project, hospital: A.publicKey, approve: false }, 1, TIME + 3))
  assert.equal((await ledger.queries.decisions(project)).map(d => d.approve), [false])
})

test('only a researcher signs a project, only an admin of that hospital decides (UNAUTHORISED_SIGNER)', async () => {
  const { ledger, project } = await fresh()
  await rejects(async () => await ledger.submit(makeTx(id, patient, 'research.project', PROJECT, 0, TIME + 2)), 'UNAUTHORISED_SIGNER')
  await rejects(async () => await ledger.submit(makeTx(id, adminA, 'research.project', PROJECT, 5, TIME + 2)), 'UNAUTHORISED_SIGNER')
  await rejects(async () => await ledger.submit(makeTx(id, adminA, 'research.decision', { project, hospital: B.publicKey, approve: true }, 0, TIME + 2)), 'UNAUTHORISED_SIGNER')
  await rejects(async () => await ledger.submit(makeTx(id, researcher, 'research.decision', { project, hospital: A.publicKey, approve: true }, 1, TIME + 2)), 'UNAUTHORISED_SIGNER')
  await rejects(async () => await ledger.submit(makeTx(id, adminB, 'research.decision', { project, hospital: B.publicKey, approve: true }, 0, TIME + 2)), 'UNAUTHORISED_SIGNER')
})

test('a decision, an export or a consent naming an unknown project is refused (UNKNOWN_PROJECT)', async () => {
  const { ledger } = await fresh()
  const unknown = new Uint8Array(32).fill(0xee)
  await rejects(async () => await ledger.submit(makeTx(id, adminA, 'research.decision', { project: unknown, hospital: A.publicKey, approve: true }, 0, TIME + 2)), 'UNKNOWN_PROJECT')
  await rejects(async () => await ledger.submitOwn('research.export', { project: unknown, export: new Uint8Array(32), uses: [] }), 'UNKNOWN_PROJECT')
  const consent = { grantee: researcher.publicKey, kind: 'user' as const, purpose: 'research' as const, scope: { kind: 'all' as const }, expires: 1_900_000_000_000, keys: [], project: unknown }
  await rejects(async () => await ledger.submit(makeTx(id, patient, 'consent.grant', consent, 0, TIME + 2)), 'UNKNOWN_PROJECT')
})

test('a research consent may name a known project; another purpose may not name one (BAD_SCHEMA)', async () => {
  const { ledger, project } = await fresh()
  const consent = { grantee: researcher.publicKey, kind: 'user' as const, purpose: 'research' as const, scope: { kind: 'all' as const }, expires: 1_900_000_000_000, keys: [], project }
  await ledger.submit(makeTx(id, patient, 'consent.grant', consent, 0, TIME + 2))
  const held = (await ledger.queries.consentsOf(pid)).find(c => c.purpose === 'research')
  assert.is(toHex(held?.project ?? new Uint8Array()), toHex(project))
  // Signed without the schema check, then decoded as every peer receives it.
  const training = makeTx(id, patient, 'consent.grant', { ...consent, purpose: 'training' }, 1, TIME + 2)
  throwsCode(() => decodeTx(encodeTx(training).bytes), 'BAD_SCHEMA')
})

test('the export log: by the researcher\'s hospital, for images of the patients it names; the patient reads each use', async () => {
  const { ledger, project } = await fresh()
  const exportId = new Uint8Array(32).fill(0x55)
  const consent = new Uint8Array(32).fill(0x66)
  await ledger.submitOwn('research.export', { project, export: exportId, uses: [{ patient: pid, image: cid(1), consent }] })
  const uses = await ledger.queries.researchUsesOf(pid)
  assert.is(uses.length, 1)
  assert.is(toHex(uses[0].project), toHex(project))
  assert.is(uses[0].image.toString(), cid(1).toString())
  assert.equal((await ledger.queries.exportsOf(project)).map(e => [toHex(e.export), e.count]), [[toHex(exportId), 1]])
  assert.ok((await ledger.queries.getPatientHashHistory(pid)).some(e => e.type === 'research.export'), 'the export is in the patient\'s history')
  await rejects(async () => await ledger.submitOwn('research.export', { project, export: exportId, uses: [{ patient: pid, image: cid(2), consent }] }), 'FOREIGN_IMAGE')
  await rejects(async () => await ledger.submitOwn('research.export', { project, export: exportId, uses: [{ patient: new Uint8Array(32).fill(9), image: cid(1), consent }] }), 'FOREIGN_IMAGE')
})

test('another hospital cannot log an export of the project (NOT_PROJECT_HOSPITAL)', async () => {
  const { ledger: la } = await fresh()
  // The same consortium seen from B: B writes the researcher's project into its ledger only through A's blocks.
  const lb = await openLedger(genesis, B, { clock })
  for (const bytes of await la.blocksAfter(lb.heads(), 100)) await lb.receive(bytes)
  const project = (await lb.queries.projects())[0].id
  await rejects(async () => await lb.submitOwn('research.export', { project, export: new Uint8Array(32), uses: [] }), 'NOT_PROJECT_HOSPITAL')
})

test.run()
