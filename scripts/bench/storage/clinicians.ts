// The concurrency figure of `npm run bench:storage` as clinicians meet it (issue 14): two whole
// hospital peers (createPeer: ledger, libp2p, storage, accounts, HTTP on 127.0.0.1). A clinician
// at North uploads large DICOM images of one patient; the patient consents to ten clinicians at
// South; then the ten open ten different images at once over South's HTTP API, each with their
// own session, as the viewer does (`GET /api/images/:cid`, the encrypted image that the browser
// decrypts). South has none of the blocks before: each read crosses the hospitals. Measured per
// reader: the time to the first byte of the body and the bytes; per run: the aggregate rate.
import { createCipheriv } from 'node:crypto'
import { fromHex } from '../../../protocol/bytes.ts'
import { MedichainClient } from '../../../protocol/client/client.ts'
import { RECORDS_DEFAULTS } from '../../../node/config/records.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import type { Peer } from '../../../node/peer.ts'
import { mbps } from './transport.ts'
import { startTwoMemberPeers } from '../two-member-peers.ts'

const PASSWORD = 'bench clinicians password 1'

/** How long a step may take to reach the other hospital before the benchmark gives up (ms). */
const REACH_TIMEOUT_MS = 60_000

const clientOf = (url: string): MedichainClient => new MedichainClient({ baseUrl: url, vaultIterations: 1000 })

/** A multi-frame 512² 16-bit CT of about `bytes`, its pixels noise from `seed` (so every image differs). */
export function noisyDicom (bytes: number, seed: number): Uint8Array {
  const frames = Math.max(1, Math.round(bytes / (512 * 512 * 2)))
  const pixels = new Uint16Array(512 * 512 * frames)
  const key = new Uint8Array(32)
  new DataView(key.buffer).setUint32(0, seed)
  const noise = createCipheriv('aes-256-ctr', key, new Uint8Array(16)).update(new Uint8Array(pixels.buffer))
  pixels.set(new Uint16Array(noise.buffer, noise.byteOffset, pixels.length))
  for (let i = 0; i < pixels.length; i++) pixels[i] &= 0x0fff
  return encodeDicom({
    rows: 512, columns: 512, bitsAllocated: 16, bitsStored: 12, pixels, frames, modality: 'CT',
    sopInstanceUid: `2.25.81${seed}`, studyInstanceUid: `2.25.82${seed}`, seriesInstanceUid: `2.25.83${seed}`,
    patient: { name: 'BENCH^ONLY', id: 'BENCH-2', birthDate: '20000101' }
  })
}

async function until (what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + REACH_TIMEOUT_MS
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

async function adminOf (peer: Peer): Promise<MedichainClient> {
  const url = peer.http.url
  const admin = clientOf(url)
  const token = new URL(peer.auth.setupLink(url) ?? '').hash.replace(/^#token=/, '')
  await admin.signUp({ username: 'bench-admin', password: PASSWORD, role: 'admin', setupToken: token })
  await admin.signIn('bench-admin', PASSWORD)
  return admin
}

async function userOf (peer: Peer, username: string, role: 'patient' | 'clinician', admin: MedichainClient): Promise<MedichainClient> {
  const c = clientOf(peer.http.url)
  await c.signUp({ username, password: PASSWORD, role })
  if (role === 'clinician') await admin.approve(username)
  await c.signIn(username, PASSWORD)
  return c
}

/** One reader's open: time to the body's first byte and its length. */
async function open (reader: MedichainClient, cid: string): Promise<{ ttfbMs: number, bytes: number }> {
  const t0 = performance.now()
  const res = await reader.request('GET', `/api/images/${cid}`)
  const body = res.body
  if (body === null) throw new Error('the image answer has no body')
  let ttfbMs = -1
  let bytes = 0
  for await (const chunk of body) {
    if (ttfbMs < 0) ttfbMs = performance.now() - t0
    bytes += (chunk as Uint8Array).length
  }
  return { ttfbMs, bytes }
}

/** What the runs found: per run the aggregate MB/s, and every reader's time to first byte. */
export interface ClinicianReads { aggregate: number[], ttfbs: number[], bytes: number }

/** `runs` runs of `readers` clinicians at South opening `readers` different images of `size` bytes at North at once. */
export async function clinicianReads (readers: number, size: number, runs: number): Promise<ClinicianReads> {
  // No replicas: with the default of one, South pins North's new images in the background, and
  // the reads would find them on South's own disk instead of crossing the hospitals.
  const { peers: [north, south], stop } = await startTwoMemberPeers('clinicians', { records: { ...RECORDS_DEFAULTS, replicas: 0 } })
  try {
    const [adminN, adminS] = [await adminOf(north), await adminOf(south)]
    const uploader = await userOf(north, 'bench-uploader', 'clinician', adminN)
    const patient = await userOf(north, 'bench-patient', 'patient', adminN)
    const patientId = String(patient.user?.patientId)
    const clinicians = await Promise.all(Array.from({ length: readers }, async (_, i) => await userOf(south, `bench-reader-${i}`, 'clinician', adminS)))
    await until('the readers\' accounts to reach North', async () => {
      const known = await Promise.all(clinicians.map(async c => await north.ledger.queries.account(fromHex(String(c.user?.signPub)))))
      return known.every(a => a !== undefined)
    })
    const out: ClinicianReads = { aggregate: [], ttfbs: [], bytes: 0 }
    for (let run = 0; run < runs; run++) {
      const cids: string[] = []
      for (let i = 0; i < readers; i++) {
        const file = noisyDicom(size, 1 + run * readers + i)
        out.bytes = file.length
        cids.push(String((await uploader.upload(patientId, file, `large-${run}-${i}.dcm`)).raw))
      }
      // The consents carry the keys of the images the patient has when granting: grant after the uploads.
      const grants: Array<{ id: string }> = []
      for (const c of clinicians) grants.push(await patient.grant({ grantee: String(c.user?.signPub), kind: 'user', purpose: 'treatment', expires: Date.now() + 86_400_000 }))
      await until('the images and consents to reach South', async () => {
        const txs = await Promise.all(grants.map(async g => await south.ledger.tx(fromHex(g.id))))
        return txs.every(t => t !== undefined) && (await south.ledger.queries.imagesOf(fromHex(patientId))).length >= (run + 1) * readers
      })
      const t0 = performance.now()
      const reads = await Promise.all(clinicians.map(async (c, i) => await open(c, cids[i])))
      const ms = performance.now() - t0
      if (reads.some(r => r.bytes === 0)) throw new Error('a reader got an empty image')
      out.aggregate.push(mbps(reads.reduce((s, r) => s + r.bytes, 0), ms))
      out.ttfbs.push(...reads.map(r => r.ttfbMs))
    }
    return out
  } finally {
    await stop()
  }
}
