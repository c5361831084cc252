// The population of `npm run bench:load`: the hospital's admin (from the setup link), clinicians
// approved by it, and patients, each signed in through the SDK like a browser; each clinician
// uploads a few synthetic images for its patients, so reads have something to list and open.
import { MedichainClient } from '../../../protocol/client/client.ts'
import { encodePng } from '../../../node/imaging/raster/encode.ts'

/** One signed-in user and what it works on. */
export interface LoadUser {
  role: 'patient' | 'clinician'
  client: MedichainClient
  /** A clinician's patients (ids), and the raw CIDs of their images. */
  patients: string[]
  cids: string[]
}

/** Password of every bench account (the bench's own data folder, deleted after). */
const PASSWORD = 'bench load password 1'

/** `n` small synthetic 16-bit grey PNGs (128²), different from each other; no PHI. */
export function makeImages (n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, k) => {
    const px = new Uint16Array(128 * 128)
    for (let i = 0; i < px.length; i++) px[i] = ((i % 128) * 300 + Math.floor(i / 128) * 97 * (k + 1)) & 0xffff
    return encodePng(px, 128, 128)
  })
}

async function signedUp (url: string, username: string, role: 'patient' | 'clinician', admin: MedichainClient): Promise<MedichainClient> {
  const c = new MedichainClient({ baseUrl: url })
  await c.signUp({ username, password: PASSWORD, role })
  if (role === 'clinician') await admin.approve(username)
  await c.signIn(username, PASSWORD)
  return c
}

/** Creates the admin and `count` users (one clinician per five), signed in, with images uploaded. */
export async function createSignedIn (url: string, admin: MedichainClient, setupLink: string, count: number, images: Uint8Array[]): Promise<LoadUser[]> {
  const token = new URL(setupLink).hash.replace(/^#token=/, '')
  await admin.signUp({ username: 'bench-admin', password: PASSWORD, role: 'admin', setupToken: token })
  await admin.signIn('bench-admin', PASSWORD)
  const clinicians = Math.max(1, Math.round(count / 5))
  const users: LoadUser[] = []
  for (let i = 0; i < count; i++) {
    const role = i < clinicians ? 'clinician' : 'patient'
    users.push({ role, client: await signedUp(url, `bench-${role}-${i}`, role, admin), patients: [], cids: [] })
  }
  const docs = users.filter(u => u.role === 'clinician')
  const patients = users.filter(u => u.role === 'patient')
  for (const [i, p] of patients.entries()) {
    const doc = docs[i % docs.length]
    const id = p.client.user?.patientId
    if (id === undefined) throw new Error('a patient without a patient id')
    doc.patients.push(id)
    for (let k = 0; k < 2; k++) {
      const up = await doc.client.upload(id, images[(i + k) % images.length], `scan-${k}.png`)
      doc.cids.push(String(up.raw))
    }
  }
  return users
}
