// `npm run bench:study-consent`: what a consent naming a study costs (issue 13 item 3, docs/design.md
// §5 "Study keys"). A patient's 400-instance study sealed under one study key is granted with that
// key; the reference, measured in the same run on the same ledger, is a per-image grant of 100
// images (one grant carries at most 224 image keys, the consent form offers 162). Figures: the grant's bytes, the patient's client time
// to build it (unwrap and re-wrap in JS, as in the browser), the ledger's time to take it
// (validated and durable), and the grantee peer's time to produce a clinician's keys for the
// whole listing (node:crypto). Medians of RUNS runs with min–max, runs interleaved.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadavg } from 'node:os'
import { pino } from 'pino'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { buildConsentGrant, accountRegistrationBody } from '../../../protocol/chain/consent.ts'
import type { ConsentGrantInput, PatientImageKeys } from '../../../protocol/chain/consent.ts'
import { createGenesis, ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { sha256 } from '../../../protocol/crypto/hash.ts'
import { newStudyKey, sealUnderStudyKey } from '../../../protocol/crypto/study-key.ts'
import { encodeTx, patientIdOf } from '../../../protocol/chain/tx.ts'
import { generateUserKeys, hospitalBoxPublicKey, hospitalBoxSecretKey, secureRandomBytes } from '../../../protocol/crypto/user-keys.ts'
import { createLedger } from '../../../ledger/ledger.ts'
import { nodeIdentity, nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import { nodeWrapKey } from '../../../node/records/node-box.ts'
import { readerKeys } from '../../../node/records/reader-keys.ts'

const quick = process.argv.includes('--quick')
const RUNS = quick ? 3 : 7
const STUDY_INSTANCES = 400
const PER_IMAGE = 100

const seedA = new Uint8Array(32).fill(0xa1)
const seedB = new Uint8Array(32).fill(0xb2)
const A = nodeIdentity(seedA)
const B = nodeIdentity(seedB)
const genesis = createGenesis({ name: 'bench study consent', created: 1_700_000_000_000, members: [{ name: 'A', key: A.publicKey, addrs: [] }, { name: 'B', key: B.publicKey, addrs: [] }] })
const ledgerId = ledgerIdOf(genesis)
const boxA = { publicKey: hospitalBoxPublicKey(A.publicKey), secretKey: hospitalBoxSecretKey(seedA) }
const boxB = { publicKey: hospitalBoxPublicKey(B.publicKey), secretKey: hospitalBoxSecretKey(seedB) }

const cidOf = (n: number): CID => CID.create(1, 0x55, Digest.create(0x12, sha256(new TextEncoder().encode(`bench-${n}`))))
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2 }
const spread = (xs: number[], digits = 1): string => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`

const dir = await mkdtemp(join(tmpdir(), 'medichain-bench-study-'))
const ledger = createLedger({ path: dir, genesis })({ identity: A, verify: nodeVerify, logger: pino({ level: 'silent' }), clock: Date.now })
await ledger.start()
try {
  const patient = generateUserKeys()
  const pid = patientIdOf(patient.signPub)
  await ledger.submitOwn('account.register', accountRegistrationBody({ ledgerId, keys: patient, role: 'patient', hospital: A.publicKey }))

  // The study: one study key, 400 instances with raw and result keys, each sealed under it.
  const record = secureRandomBytes(16)
  const study = newStudyKey()
  await ledger.submitOwn('study.key', { patient: pid, record, kid: study.kid, keys: [{ to: patient.boxPub, key: nodeWrapKey(study.key, patient.boxPub) }, { to: boxA.publicKey, key: nodeWrapKey(study.key, boxA.publicKey) }] })
  const images: PatientImageKeys[] = []
  const add = async (n: number, inStudy: boolean): Promise<void> => {
    const raw = cidOf(n)
    const result = cidOf(100_000 + n)
    const rawKey = secureRandomBytes(32)
    const resultKey = secureRandomBytes(32)
    const forPatient = { to: patient.boxPub, raw: nodeWrapKey(rawKey, patient.boxPub), result: nodeWrapKey(resultKey, patient.boxPub) }
    await ledger.submitOwn('image.add', {
      patient: pid, record: inStudy ? record : null, raw, result, modality: 'CT', size: 1000, model: null, score: null,
      keys: [forPatient, { to: boxA.publicKey, raw: nodeWrapKey(rawKey, boxA.publicKey), result: nodeWrapKey(resultKey, boxA.publicKey) }],
      ...(inStudy
        ? { dicom: { series: record, instance: sha256(raw.bytes).subarray(0, 16), number: n + 1 }, study: { kid: study.kid, raw: sealUnderStudyKey(rawKey, 'raw', raw.bytes, study.key), result: sealUnderStudyKey(resultKey, 'result', raw.bytes, study.key) } }
        : {})
    })
    if (!inStudy) images.push({ cid: raw, raw: forPatient.raw, result: forPatient.result })
  }
  await Promise.all(Array.from({ length: STUDY_INSTANCES }, async (_, n) => await add(n, true)))
  await Promise.all(Array.from({ length: PER_IMAGE }, async (_, n) => await add(10_000 + n, false)))
  const [studyKey] = await ledger.queries.studyKeysOf(pid, record)
  const patientCopy = studyKey.keys.find(k => Buffer.compare(k.to, patient.boxPub) === 0)?.key as Uint8Array

  let seq = await ledger.queries.lastSeq(patient.signPub) + 1
  const base = (): Omit<ConsentGrantInput, 'scope' | 'images'> => ({ ledgerId, patient, grantee: B.publicKey, kind: 'hospital', purpose: 'treatment', expires: Date.now() + 86_400_000, seq: seq++, time: Date.now() })
  const arms = {
    study: (): ConsentGrantInput => ({ ...base(), scope: { kind: 'record', record }, images: [], studies: [{ patient: pid, record, custodian: A.publicKey, kid: study.kid, key: patientCopy }] }),
    // A scope of listed images names at most 64; a grant to all images carries any number of keys.
    perImage: (): ConsentGrantInput => ({ ...base(), scope: { kind: 'all' }, images })
  }
  const out = { study: { bytes: 0, build: [] as number[], submit: [] as number[], keys: [] as number[] }, perImage: { bytes: 0, build: [] as number[], submit: [] as number[], keys: [] as number[] } }
  for (let run = 0; run < RUNS; run++) {
    for (const arm of (run % 2 === 0 ? ['study', 'perImage'] : ['perImage', 'study']) as Array<keyof typeof arms>) {
      const t0 = performance.now()
      const tx = buildConsentGrant(arms[arm]())
      const t1 = performance.now()
      await ledger.submit(tx)
      const t2 = performance.now()
      out[arm].bytes = encodeTx(tx).bytes.length
      out[arm].build.push(t1 - t0)
      out[arm].submit.push(t2 - t1)
      // The grantee's peer: a clinician's keys for every image the consent opens (a fresh reader, so nothing is reused).
      const [consent] = (await ledger.queries.consentsOf(pid)).filter(c => c.purpose === 'treatment')
      const listed = arm === 'study' ? await ledger.queries.studyImages(pid, record) : (await ledger.queries.imagesOf(pid)).filter(i => i.record === null)
      const reader = generateUserKeys().boxPub
      const t3 = performance.now()
      for (const image of listed) readerKeys(image, { from: 'consent', consent }, reader, boxB)
      out[arm].keys.push(performance.now() - t3)
    }
  }
  let tooLarge = 'accepted'
  try {
    buildConsentGrant({ ...base(), scope: { kind: 'all' }, images: [...images, ...images.map((i, n) => ({ ...i, cid: cidOf(20_000 + n) })), ...images.map((i, n) => ({ ...i, cid: cidOf(30_000 + n) }))].slice(0, 225) })
  } catch (err) {
    tooLarge = (err as { code?: string }).code ?? String(err)
  }
  console.log(`machine load (1-min average): ${loadavg()[0].toFixed(2)}`)
  console.log(`runs: ${RUNS}`)
  console.log(`study grant, ${STUDY_INSTANCES} instances (bytes): ${out.study.bytes}`)
  console.log(`per-image grant, ${PER_IMAGE} images (bytes): ${out.perImage.bytes}`)
  console.log(`study grant build in the patient's client (ms): ${spread(out.study.build, 2)}`)
  console.log(`per-image grant build in the patient's client (ms): ${spread(out.perImage.build, 2)}`)
  console.log(`study grant submit, validated and durable (ms): ${spread(out.study.submit, 2)}`)
  console.log(`per-image grant submit, validated and durable (ms): ${spread(out.perImage.submit, 2)}`)
  console.log(`grantee peer keys for ${STUDY_INSTANCES} instances through the study key (ms): ${spread(out.study.keys, 1)}`)
  console.log(`grantee peer keys for ${PER_IMAGE} images through per-image keys (ms): ${spread(out.perImage.keys, 1)}`)
  console.log(`per-image grant of 225 images (MAX_CONSENT_IMAGES + 1): ${tooLarge}`)
  console.log(`ratio grant bytes (study ${STUDY_INSTANCES} / per-image ${PER_IMAGE}): ${(out.study.bytes / out.perImage.bytes).toFixed(3)}`)
  console.log(`ratio grant build time (study ${STUDY_INSTANCES} / per-image ${PER_IMAGE}): ${(median(out.study.build) / median(out.perImage.build)).toFixed(3)}`)
} finally {
  await ledger.stop()
  await rm(dir, { recursive: true, force: true })
}
