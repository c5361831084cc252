// The ledger's key layout in level. `s:` holds the canonical state (hashed into the state
// root), `i:` derived indexes, `b:`/`m:`/`bh:` blocks, `t:` transaction locations, `ev:` evidence.
import { toHex } from '../../protocol/bytes.ts'
import type { TxBodies } from '../../protocol/chain/tx.ts'

const pad = (n: number, width: number): string => n.toString().padStart(width, '0')
const hex = (b: Uint8Array | string): string => typeof b === 'string' ? b : toHex(b)

/** Key builders, one per record kind. Heights are zero-padded so keys sort numerically. */
export const K = {
  genesis: 'meta:genesis',
  /** Present once this folder's own chain is known to be the consortium's (ledger.markOwnChainKnown). */
  ownChainKnown: 'meta:own-chain-known',
  block: (author: Uint8Array | string, height: number) => `b:${hex(author)}:${pad(height, 12)}`,
  meta: (author: Uint8Array | string, height: number) => `m:${hex(author)}:${pad(height, 12)}`,
  metaPrefix: 'm:',
  byHash: (hash: Uint8Array) => `bh:${toHex(hash)}`,
  /** Every place a transaction sits: a sorted list of [author, height, index]. */
  tx: (txId: Uint8Array | string) => `t:${hex(txId)}`,
  evidence: (author: Uint8Array | string, height: number) => `ev:${hex(author)}:${pad(height, 12)}`,
  evidencePrefix: 'ev:',

  statePrefix: 's:',
  account: (user: Uint8Array | string) => `s:acct:${hex(user)}`,
  patient: (patient: Uint8Array | string) => `s:pat:${hex(patient)}`,
  record: (patient: Uint8Array | string, record: Uint8Array) => `s:rec:${hex(patient)}:${toHex(record)}`,
  recordPrefix: (patient: Uint8Array | string) => `s:rec:${hex(patient)}:`,
  /** Images are keyed by (raw CID, custodian): one member's image.add can never replace another's. */
  image: (cid: string, custodian: Uint8Array | string) => `s:img:${cid}:${hex(custodian)}`,
  imageCidPrefix: (cid: string) => `s:img:${cid}:`,
  imagePrefix: 's:img:',
  /** One consent per (patient, grantee, purpose): each purpose is granted and revoked on its own (docs/design.md §5). */
  consent: (patient: Uint8Array | string, grantee: Uint8Array | string, purpose: string) => `s:consent:${hex(patient)}:${hex(grantee)}:${purpose}`,
  consentPrefix: (patient: Uint8Array | string) => `s:consent:${hex(patient)}:`,
  consentGranteePrefix: (patient: Uint8Array | string, grantee: Uint8Array | string) => `s:consent:${hex(patient)}:${hex(grantee)}:`,
  access: (patient: Uint8Array | string, txId: Uint8Array) => `s:access:${hex(patient)}:${toHex(txId)}`,
  accessPrefix: (patient: Uint8Array | string) => `s:access:${hex(patient)}:`,
  model: (cid: string) => `s:model:${cid}`,
  modelPrefix: 's:model:',
  credit: (patient: Uint8Array | string) => `s:credit:${hex(patient)}`,
  /** The consortium directory: one display name per hospital or staff key. */
  directory: (subject: Uint8Array | string) => `s:dir:${hex(subject)}`,
  directoryPrefix: 's:dir:',
  proposal: (txId: Uint8Array | string) => `s:prop:${hex(txId)}`,
  proposalPrefix: 's:prop:',
  approval: (proposal: Uint8Array | string, approver: Uint8Array) => `s:appr:${hex(proposal)}:${toHex(approver)}`,
  approvalPrefix: 's:appr:',
  member: (key: Uint8Array | string) => `s:member:${hex(key)}`,
  memberPrefix: 's:member:',
  flag: (author: Uint8Array | string) => `s:flag:${hex(author)}`,
  /** Assisted recovery (ledger/rules/patient-rekey.ts): the request, its co-signatures, vetoes and re-wrapped keys. */
  rekey: (txId: Uint8Array | string) => `s:rekey:${hex(txId)}`,
  rekeyPrefix: 's:rekey:',
  rekeyCosign: (rekey: Uint8Array | string, hospital: Uint8Array | string) => `s:rkcosign:${hex(rekey)}:${hex(hospital)}`,
  rekeyCosignPrefix: (rekey: Uint8Array | string) => `s:rkcosign:${hex(rekey)}:`,
  rekeyVeto: (rekey: Uint8Array | string, txId: Uint8Array | string) => `s:rkveto:${hex(rekey)}:${hex(txId)}`,
  rekeyVetoPrefix: (rekey: Uint8Array | string) => `s:rkveto:${hex(rekey)}:`,
  rewrap: (rekey: Uint8Array | string, cid: string, custodian: Uint8Array | string) => `s:rewrap:${hex(rekey)}:${cid}:${hex(custodian)}`,
  /** A custodian's study key re-wrapped for the new key of assisted-recovery request `rekey`. */
  rewrapStudy: (rekey: Uint8Array | string, record: Uint8Array, custodian: Uint8Array | string, kid: Uint8Array) => `s:rwstudy:${hex(rekey)}:${toHex(record)}:${hex(custodian)}:${toHex(kid)}`,
  /** Emergency access across hospitals (ledger/rules/emergency.ts). */
  emergencyRole: (subject: Uint8Array | string) => `s:emrole:${hex(subject)}`,
  emergencyRoleTx: (txId: Uint8Array | string) => `s:emroletx:${hex(txId)}`,
  emergency: (patient: Uint8Array | string, txId: Uint8Array | string) => `s:emerg:${hex(patient)}:${hex(txId)}`,
  emergencyPatientPrefix: (patient: Uint8Array | string) => `s:emerg:${hex(patient)}:`,
  emergencyPrefix: 's:emerg:',
  emergencyReview: (access: Uint8Array | string) => `s:emrev:${hex(access)}`,
  /**
   * A custodian's study key for one study of a patient (`study.key`, ledger/rules/study.ts), by
   * patient, study, custodian and key id: a prefix lists a patient's or one study's keys.
   */
  studyKey: (patient: Uint8Array | string, record: Uint8Array, custodian: Uint8Array | string, kid: Uint8Array) => `s:studykey:${hex(patient)}:${toHex(record)}:${hex(custodian)}:${toHex(kid)}`,
  studyKeyPrefix: (patient: Uint8Array | string, record?: Uint8Array) => `s:studykey:${hex(patient)}:${record === undefined ? '' : `${toHex(record)}:`}`,
  /** The study (record) of a custodian's study key, by key id: what an `image.rekey` seal is checked against. */
  studyKeyId: (patient: Uint8Array | string, custodian: Uint8Array | string, kid: Uint8Array) => `i:studykid:${hex(patient)}:${hex(custodian)}:${toHex(kid)}`,
  /** The hospitals that hold a patient's images (custodians of an `image.add`): a sorted list of keys. */
  custodians: (patient: Uint8Array | string) => `s:cust:${hex(patient)}`,
  rekeyByOld: (old: Uint8Array | string, rekey: Uint8Array | string) => `i:rekeyold:${hex(old)}:${hex(rekey)}`,
  rekeyByOldPrefix: (old: Uint8Array | string) => `i:rekeyold:${hex(old)}:`,
  rekeyByNew: (patient: Uint8Array | string, rekey: Uint8Array | string) => `i:rekeynew:${hex(patient)}:${hex(rekey)}`,
  rekeyByNewPrefix: (patient: Uint8Array | string) => `i:rekeynew:${hex(patient)}:`,
  /** The ids a new key's requests name as old, with each request's tx id: `[{old, tx}]`, sorted by tx id. */
  rekeyFormer: (patient: Uint8Array | string) => `i:rekeyformer:${hex(patient)}`,
  /** A research project by the id of its `research.project` (docs/design.md §10). */
  project: (project: Uint8Array | string) => `s:proj:${hex(project)}`,
  projectPrefix: 's:proj:',
  /** One hospital's decision on a project: the latest by time, ties to the lower tx id. */
  projectDecision: (project: Uint8Array | string, hospital: Uint8Array | string) => `s:pdec:${hex(project)}:${hex(hospital)}`,
  projectDecisionPrefix: (project: Uint8Array | string) => `s:pdec:${hex(project)}:`,
  /** One `research.export` transaction of a project: the export it belongs to and how many images it logged. */
  projectExport: (project: Uint8Array | string, txId: Uint8Array) => `s:pexp:${hex(project)}:${toHex(txId)}`,
  projectExportPrefix: (project: Uint8Array | string) => `s:pexp:${hex(project)}:`,
  /** One image of a patient an export included: what the patient reads as "used in research project X". */
  researchUse: (patient: Uint8Array | string, txId: Uint8Array, index: number) => `s:ruse:${hex(patient)}:${toHex(txId)}:${pad(index, 4)}`,
  researchUsePrefix: (patient: Uint8Array | string) => `s:ruse:${hex(patient)}:`,

  patientAccount: (patient: Uint8Array | string) => `i:patacct:${hex(patient)}`,
  resultImage: (resultCid: string, custodian: Uint8Array | string) => `i:result:${resultCid}:${hex(custodian)}`,
  resultImagePrefix: (resultCid: string) => `i:result:${resultCid}:`,
  patientImage: (patient: Uint8Array | string, cid: string, custodian: Uint8Array | string) => `i:pimg:${hex(patient)}:${cid}:${hex(custodian)}`,
  patientImagePrefix: (patient: Uint8Array | string) => `i:pimg:${hex(patient)}:`,
  /**
   * The DICOM images of one study (a record) of a patient, by series and InstanceNumber, so a
   * series lists in slice order: `image.add` with a `dicom` place (docs/design.md §5).
   */
  studyImage: (patient: Uint8Array | string, record: Uint8Array, series: Uint8Array, num: number, cid: string, custodian: Uint8Array | string) =>
    `i:study:${hex(patient)}:${toHex(record)}:${toHex(series)}:${pad(num, 10)}:${cid}:${hex(custodian)}`,
  studyImagePrefix: (patient: Uint8Array | string, record: Uint8Array) => `i:study:${hex(patient)}:${toHex(record)}:`,
  /** The `image.add` ids that recorded image `cid` for `patient`, concatenated: a consent may name only its patient's images. */
  imageOwner: (cid: string, patient: Uint8Array | string) => `i:cidpat:${cid}:${hex(patient)}`,
  /**
   * The `record.create` and `image.add` ids that recorded record (a study) `record` for `patient`,
   * concatenated: a consent may name only its patient's records.
   */
  recordOwner: (patient: Uint8Array | string, record: Uint8Array) => `i:recpat:${hex(patient)}:${toHex(record)}`,
  /** Patients with a consent record naming `grantee` (any purpose): the rows sit under K.consentGranteePrefix. */
  granteeConsent: (grantee: Uint8Array | string, patient: Uint8Array | string) => `i:grantee:${hex(grantee)}:${hex(patient)}`,
  granteePrefix: (grantee: Uint8Array | string) => `i:grantee:${hex(grantee)}:`,
  history: (patient: Uint8Array | string, txId: Uint8Array | string) => `i:hist:${hex(patient)}:${hex(txId)}`,
  historyPrefix: (patient: Uint8Array | string) => `i:hist:${hex(patient)}:`,
  /** Every transaction id that used (signer, seq), concatenated: more than one is a replay (REPLAYED_SEQ). */
  seq: (signer: Uint8Array | string, seq: number) => `i:seq:${hex(signer)}:${pad(seq, 16)}`,
  seqPrefix: (signer: Uint8Array) => `i:seq:${toHex(signer)}:`
}

/** The study index key of a DICOM image (`K.studyImage`), or undefined for an image outside a series. */
export function studyImageKey (b: Pick<TxBodies['image.add'], 'patient' | 'record' | 'dicom'>, cid: string, custodian: Uint8Array): string | undefined {
  if (b.dicom === undefined || b.record === null) return undefined
  return K.studyImage(b.patient, b.record, b.dicom.series, b.dicom.number, cid, custodian)
}

