// Upload and listing figures for `npm run bench:storage`: one whole hospital peer (createPeer: ledger,
// storage, accounts, HTTP on 127.0.0.1) in a temp folder, driven over HTTP by the client SDK as
// a browser would: a clinician uploads one large DICOM (HTTP, decode, encrypt, add, ledger), and
// lists a patient's images with many other images on the ledger; the patient lists their own.
import { fork } from 'node:child_process'
import { createCipheriv, createHash, randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { fromHex } from '../../../protocol/bytes.ts'
import { MedichainClient } from '../../../protocol/client/client.ts'
import { hospitalBoxPublicKey } from '../../../protocol/crypto/user-keys.ts'
import type { Peer } from '../../../node/peer.ts'
import { nodeWrapKey } from '../../../node/records/node-box.ts'
import { mbps } from './transport.ts'
import { startOneMemberPeer } from '../one-member-peer.ts'

const PASSWORD = 'bench storage password 1'
const CLINICIAN = 'bench-clinician'

/** A running one-member hospital with a signed-in clinician and patient. */
export interface BenchPeer { peer: Peer, stop: () => Promise<void>, clinician: MedichainClient, patient: MedichainClient, patientId: string }

const clientOf = (url: string): MedichainClient => new MedichainClient({ baseUrl: url, vaultIterations: 1000 })

/**
 * Starts the peer (production settings except scrypt's cost) and signs up its users. The process
 * takes the peer's garbage-collection policy there (../one-member-peer.ts); it is process-wide, so it
 * holds from here on (the reads and clinicians parts run before it).
 */
export async function startBenchPeer (): Promise<BenchPeer> {
  const { peer, stop } = await startOneMemberPeer('storage-peer')
  const url = peer.http.url
  const admin = clientOf(url)
  const token = new URL(peer.auth.setupLink(url) ?? '').hash.replace(/^#token=/, '')
  await admin.signUp({ username: 'bench-admin', password: PASSWORD, role: 'admin', setupToken: token })
  await admin.signIn('bench-admin', PASSWORD)
  const clinician = clientOf(url)
  await clinician.signUp({ username: CLINICIAN, password: PASSWORD, role: 'clinician' })
  await admin.approve(CLINICIAN)
  await clinician.signIn(CLINICIAN, PASSWORD)
  const patient = clientOf(url)
  await patient.signUp({ username: 'bench-patient', password: PASSWORD, role: 'patient' })
  await patient.signIn('bench-patient', PASSWORD)
  const patientId = patient.user?.patientId
  if (patientId === undefined) throw new Error('the patient has no patient id')
  return { peer, stop, clinician, patient, patientId }
}

export async function stopBenchPeer (p: BenchPeer): Promise<void> {
  await p.stop()
}

/**
 * Raw AES-256-GCM encryption of `bytes` with node:crypto in 1 MiB updates, the upload's
 * reference: MB/s, and the CPU time (ms) it took on this thread.
 */
export function rawAesGcm (bytes: Uint8Array): { mbps: number, cpuMs: number } {
  const cipher = createCipheriv('aes-256-gcm', randomBytes(32), randomBytes(12))
  const c0 = process.threadCpuUsage()
  const t0 = performance.now()
  for (let at = 0; at < bytes.length; at += 1 << 20) cipher.update(bytes.subarray(at, at + (1 << 20)))
  cipher.final()
  const ms = performance.now() - t0
  const cpu = process.threadCpuUsage(c0)
  return { mbps: mbps(bytes.length, ms), cpuMs: (cpu.user + cpu.system) / 1000 }
}

/** SHA-256 of `bytes` in 1 MiB blocks with node:crypto, as every stored block is named: MB/s on this thread. */
export function rawSha256 (bytes: Uint8Array): number {
  const t0 = performance.now()
  for (let at = 0; at < bytes.length; at += 1 << 20) createHash('sha256').update(bytes.subarray(at, at + (1 << 20))).digest()
  return mbps(bytes.length, performance.now() - t0)
}

export { largeDicom } from './dicom.ts'

/** The uploading clinician in its own process (upload-client.ts). */
export interface UploadClient {
  /** Size of the file it uploads (largeDicom of the requested size). */
  bytes: number
  /**
   * One upload over HTTP: MB/s of the file's size to the 201, and the CPU time (ms) the peer's
   * process and the client's spent meanwhile. `warmUp` sends a small file (the figures then mean nothing).
   */
  upload(warmUp?: boolean): Promise<{ mbps: number, peerCpuMs: number, clientCpuMs: number }>
  stop(): Promise<void>
}

/** Starts the clinician's process for uploads of largeDicom(`bytes`) and waits until it is signed in. */
export async function startUploadClient (p: BenchPeer, bytes: number): Promise<UploadClient> {
  const child = fork(fileURLToPath(new URL('./upload-client.ts', import.meta.url)), [p.peer.http.url, CLINICIAN, PASSWORD, String(bytes)])
  const next = async (): Promise<Record<string, unknown>> => await new Promise((resolve, reject) => {
    const fail = (): void => reject(new Error(`the upload client exited (${String(child.exitCode)})`))
    child.once('exit', fail)
    child.once('message', (m: Record<string, unknown>) => { child.off('exit', fail); resolve(m) })
  })
  const ready = await next()
  const size = Number(ready.bytes)
  return {
    bytes: size,
    async upload (warmUp = false) {
      const answer = next()
      const c0 = process.cpuUsage()
      child.send({ type: 'upload', patientId: p.patientId, warmUp })
      const m = await answer
      const cpu = process.cpuUsage(c0)
      if (m.ok !== true) throw new Error(`upload failed: ${String(m.error)}`)
      return { mbps: mbps(size, Number(m.ms)), peerCpuMs: (cpu.user + cpu.system) / 1000, clientCpuMs: Number(m.cpuMs) }
    },
    async stop () {
      if (child.exitCode !== null) return
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.send({ type: 'stop' })
      await exited
    }
  }
}

/**
 * Appends `total` image records, `mine` of them the bench patient's and the rest spread over
 * other patient ids, as the hospital's own transactions (group commits). The keys are real
 * wraps for the patient and the hospital, so a listing re-wraps them as it would any image.
 */
export async function fillLedger (p: BenchPeer, total: number, mine: number): Promise<void> {
  const ledger = p.peer.ledger
  const patient = fromHex(p.patientId)
  const account = await ledger.queries.patientAccount(patient)
  if (account === undefined) throw new Error('the bench patient is not on the ledger')
  const hospitalBox = hospitalBoxPublicKey(ledger.self)
  const dataKey = new Uint8Array(randomBytes(32))
  const keysFor = (to: Uint8Array): { to: Uint8Array, raw: Uint8Array, result: Uint8Array } => ({ to, raw: nodeWrapKey(dataKey, to), result: nodeWrapKey(dataKey, to) })
  const keys = [keysFor(account.box), keysFor(hospitalBox)]
  const every = Math.max(1, Math.floor(total / mine))
  const batch = 2048
  for (let at = 0; at < total; at += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, total - at) }, async (_, k) => {
      const i = at + k
      const who = i % every === 0 && i / every < mine ? patient : new Uint8Array(await sha256.encode(new TextEncoder().encode(`other patient ${i % 5000}`)))
      const rawCid = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(`bench image ${i}`)))
      const resultCid = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(`bench result ${i}`)))
      await ledger.submitOwn('image.add', { patient: who, record: null, raw: rawCid, result: resultCid, modality: 'CT', size: 1, model: null, score: null, keys })
    }))
  }
}

/**
 * Times `n` listings by `list`, after one untimed warm-up: each one's wall time in ms, and the
 * process's CPU time (user and system, peer and client together) per listing.
 */
export async function listingTimes (n: number, list: () => Promise<unknown>): Promise<{ ms: number[], cpuMs: number }> {
  await list()
  const ms: number[] = []
  const cpu0 = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await list()
    ms.push(performance.now() - t0)
  }
  const cpu = process.cpuUsage(cpu0)
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000 / n }
}

/** One page (the default size) of the patient's images, as the clinician's browser asks for it. */
export async function clinicianPage (p: BenchPeer): Promise<number> {
  const res = await p.clinician.request('GET', `/api/patients/${p.patientId}/images`)
  if (res.status !== 200) throw new Error(`clinician listing answered ${res.status}`)
  return ((await res.json()) as { images: unknown[] }).images.length
}

/**
 * Every page of the patient's images once, following the cursor, as a clinician's first look:
 * nothing re-wrapped for this clinician is kept yet (the key boxes are made on the way). Returns
 * each page's time in ms.
 */
export async function clinicianColdWalk (p: BenchPeer): Promise<number[]> {
  const times: number[] = []
  let next: string | null = null
  do {
    const t0 = performance.now()
    const res = await p.clinician.request('GET', `/api/patients/${p.patientId}/images${next === null ? '' : `?cursor=${encodeURIComponent(next)}`}`)
    if (res.status !== 200) throw new Error(`clinician listing answered ${res.status}`)
    next = ((await res.json()) as { next: string | null }).next
    times.push(performance.now() - t0)
  } while (next !== null)
  return times
}

/** One page of the patient's own images. */
export async function patientPage (p: BenchPeer): Promise<number> {
  const res = await p.patient.request('GET', '/api/me/images')
  if (res.status !== 200) throw new Error(`patient listing answered ${res.status}`)
  return ((await res.json()) as { images: unknown[] }).images.length
}
