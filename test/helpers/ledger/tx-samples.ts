// One valid body of every transaction type, and the keys that sign them: shared by the
// transaction tests (test/protocol/chain/tx.test.ts, tx-bytes.test.ts).
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { utf8 } from '../../../protocol/bytes.ts'
import { nobleIdentity } from '../../../protocol/crypto/ed25519.ts'
import { sha256 } from '../../../protocol/crypto/hash.ts'
import { accountPopBytes, patientIdOf } from '../../../protocol/chain/tx.ts'
import type { TxBodies, TxType } from '../../../protocol/chain/tx.ts'

export const ledger = sha256(utf8('test ledger'))
export const otherLedger = sha256(utf8('other ledger'))
export const hospital = nobleIdentity(new Uint8Array(32).fill(1))
export const patient = nobleIdentity(new Uint8Array(32).fill(2))
export const stranger = nobleIdentity(new Uint8Array(32).fill(3))
export const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill)
export const cid = (n: number): CID => CID.create(1, 0x55, Digest.create(0x12, sha256(new Uint8Array([n]))))

const popBody = { user: patient.publicKey, box: bytes(32, 9), role: 'patient' as const, hospital: hospital.publicKey }

/** One valid body per transaction type. */
export const bodies: { [K in TxType]: TxBodies[K] } = {
  'member.propose': { action: 'add', member: stranger.publicKey, name: 'St Elsewhere', addrs: ['/ip4/127.0.0.1/tcp/4001'] },
  'member.approve': { proposal: bytes(32, 4) },
  'member.resolve': { member: stranger.publicKey, height: 10, keep: bytes(32, 11) },
  'account.register': { ...popBody, pop: patient.sign(accountPopBytes(ledger, popBody)) },
  'record.create': { patient: patientIdOf(patient.publicKey), record: bytes(16, 5) },
  'image.add': {
    patient: patientIdOf(patient.publicKey), record: bytes(16, 5), raw: cid(1), result: cid(2), modality: 'CT',
    size: 1024, model: cid(3), score: 9100, keys: [{ to: bytes(32, 6), raw: bytes(80, 7), result: null }]
  },
  'consent.grant': {
    grantee: stranger.publicKey, kind: 'user', purpose: 'research', scope: { kind: 'images', images: [cid(1)] },
    expires: 1_900_000_000_000, keys: [{ image: cid(1), raw: bytes(80, 8), result: bytes(80, 9) }]
  },
  'consent.revoke': { grantee: stranger.publicKey },
  'study.key': { patient: patientIdOf(patient.publicKey), record: bytes(16, 5), kid: bytes(16, 17), keys: [{ to: bytes(32, 6), key: bytes(80, 18) }] },
  'access.log': { patient: patientIdOf(patient.publicKey), image: cid(1), accessor: stranger.publicKey, basis: 'consent', consent: bytes(32, 10) },
  'model.publish': { model: cid(4), task: 'segmentation', round: 3, metrics: { dice: 0.91, loss: 0.2 }, participants: [hospital.publicKey] },
  'emergency.role': { subject: stranger.publicKey, role: 'allow' },
  'emergency.access': { patient: patientIdOf(patient.publicKey), accessor: stranger.publicKey, hospital: hospital.publicKey, until: 1_900_000_000_000, role: bytes(32, 14), reason: bytes(32, 15) },
  'emergency.review': { access: bytes(32, 16), patient: patientIdOf(patient.publicKey), verdict: 'justified' },
  'patient.rekey': { old: patientIdOf(patient.publicKey), box: bytes(32, 12), hospital: hospital.publicKey },
  'patient.cosign': { rekey: bytes(32, 13), patient: patientIdOf(patient.publicKey) },
  'patient.veto': { rekey: bytes(32, 13), patient: patientIdOf(patient.publicKey) },
  'patient.rewrap': { rekey: bytes(32, 13), patient: patientIdOf(patient.publicKey), images: [{ raw: cid(1), keys: { to: bytes(32, 12), raw: bytes(80, 7), result: null } }] },
  'directory.set': { subject: stranger.publicKey, name: 'Dr Lee', department: 'Radiology' },
  'image.rekey': {
    patient: patientIdOf(patient.publicKey), old: { raw: cid(1), result: cid(2) }, raw: cid(5), result: null,
    keys: [{ to: bytes(32, 6), raw: bytes(80, 7), result: null }]
  },
  'research.project': {
    title: 'Lesion detection', purpose: 'Train a detector', options: { modifiedDates: true, cleanDescriptors: true },
    criteria: { modalities: ['CT', 'OT'], from: 1_600_000_000_000, to: null, labelled: null, scoreMin: 0, scoreMax: 10000 }
  },
  'research.decision': { project: bytes(32, 12), hospital: hospital.publicKey, approve: true },
  'research.export': { project: bytes(32, 12), export: bytes(32, 13), uses: [{ patient: patientIdOf(patient.publicKey), image: cid(1), consent: bytes(32, 10) }] }
}
