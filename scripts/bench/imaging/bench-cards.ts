// `npm run bench:cards`: what image cards (protocol/image-meta.ts) cost and save. One peer in this
// process; a clinician uploads N synthetic 512×512 16-bit CT slices (DICOM, 512 KiB each); then the
// patient's list is drawn the two ways a page can, by the patient and by a clinician of the
// custodian: opening every card (GET …/meta, unwrap, derive, decrypt, parse; the thumbnail is
// inside) against the same-run reference of opening every whole image (what a thumbnail cost
// before cards; for the clinician each is also a durable access.log). Also the upload time per image with the card made
// and sealed, the card's size, and the thumbnail step alone against the decode it follows.
// `--images N` (default 20), `--runs R` (default 5): medians with the spread (min–max).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import { MedichainClient } from '../../../protocol/client/client.ts'
import { createGenesis } from '../../../protocol/chain/genesis.ts'
import { nodeIdentity, randomSeed } from '../../../ledger/verify/node-crypto.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import { toUint16 } from '../../../node/imaging/raster/encode.ts'
import { loadImage } from '../../../node/imaging/load.ts'
import { makeThumbnail } from '../../../node/imaging/derived/thumbnail.ts'
import { createLogger } from '../../../node/logger.ts'
import { createPeer } from '../../../node/peer.ts'
import { generatePhantom } from '../../synth/phantom.ts'

const { values } = parseArgs({ options: { images: { type: 'string', default: '20' }, runs: { type: 'string', default: '5' } }, strict: true })
const IMAGES = Number(values.images)
const RUNS = Number(values.runs)
if (!Number.isSafeInteger(IMAGES) || IMAGES < 1 || !Number.isSafeInteger(RUNS) || RUNS < 3) throw new Error('--images ≥ 1, --runs ≥ 3')
const SIDE = 512
const PASSWORD = 'correct horse battery staple'

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }
const line = (name: string, xs: number[], unit: string, digits = 1): void => {
  process.stdout.write(`${name}: ${median(xs).toFixed(digits)} ${unit} (median of ${xs.length}, ${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})\n`)
}

/** One synthetic CT slice, as a scanner would send it. */
function slice (i: number): Uint8Array {
  const p = generatePhantom(100 + i, { size: SIDE, lesionCount: 1 })
  return encodeDicom({
    rows: SIDE, columns: SIDE, bitsAllocated: 16, bitsStored: 12, pixels: toUint16(p.pixels, 12), modality: 'CT',
    sopInstanceUid: `2.25.8${i}1`, studyInstanceUid: `2.25.8${i}2`, seriesInstanceUid: `2.25.8${i}3`,
    study: { date: '20261206', time: '101500', description: `BENCH STUDY ${i}` }
  })
}

// Made before any request: a client idle past the server's keep-alive timeout (5 s) while the
// phantoms render could send its next POST on a socket the server is closing (ECONNRESET).
const files = Array.from({ length: IMAGES }, (_, i) => slice(i))
const dir = await mkdtemp(join(tmpdir(), 'medichain-bench-cards-'))
const seed = randomSeed()
const genesis = createGenesis({ name: 'bench cards', created: Date.now(), members: [{ name: 'Bench Hospital', key: nodeIdentity(seed).publicKey, addrs: [] }] })
const peer = createPeer({
  data: join(dir, 'peer'), http: { host: '127.0.0.1', port: 0 }, p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] }, peers: [], syncIntervalMs: 60_000, seed, genesis, freshChain: true
})({ logger: createLogger({ silent: true }), clock: Date.now })
try {
  await peer.start()
  const url = peer.http.url
  const link = peer.auth.setupLink(url)
  if (link === undefined) throw new Error('the peer offers no setup link')
  const client = (): MedichainClient => new MedichainClient({ baseUrl: url, vaultIterations: 1000 })
  const admin = client()
  await admin.signUp({ username: 'bench.admin', password: PASSWORD, role: 'admin', setupToken: new URL(link).hash.replace('#token=', '') })
  await admin.signIn('bench.admin', PASSWORD)
  const patient = client()
  await patient.signUp({ username: 'bench.patient', password: PASSWORD, role: 'patient' })
  await patient.signIn('bench.patient', PASSWORD)
  const doc = client()
  await doc.signUp({ username: 'bench.dr', password: PASSWORD, role: 'clinician' })
  await admin.approve('bench.dr')
  await doc.signIn('bench.dr', PASSWORD)
  const pid = patient.user?.patientId as string

  const uploads: number[] = []
  for (const [i, file] of files.entries()) {
    const t = performance.now()
    await doc.upload(pid, file, `slice-${i}.dcm`)
    uploads.push(performance.now() - t)
  }
  process.stdout.write(`machine: ${IMAGES} DICOM slices of ${SIDE}×${SIDE}×16 bit (${(files[0].length / 1024).toFixed(0)} KiB each); a shared 2-core machine, figures under load are marked so in docs/benchmarks.md\n`)
  line('upload_per_image_ms (card made and sealed included)', uploads, 'ms', 0)

  const images = await patient.myImages()
  const cards: number[] = []
  const whole: number[] = []
  let cardBytes = 0
  for (let r = 0; r < RUNS; r++) {
    let t = performance.now()
    const opened = await Promise.all(images.map(async i => await patient.imageCard(i)))
    cards.push(performance.now() - t)
    cardBytes = opened.reduce((n, c) => n + (c?.thumbnail?.bytes.length ?? 0), 0)
    t = performance.now()
    await Promise.all(images.map(async i => await patient.openImage(i)))
    whole.push(performance.now() - t)
  }
  line(`patient_open_${IMAGES}_cards_ms`, cards, 'ms', 0)
  line(`patient_open_${IMAGES}_whole_images_ms (reference: thumbnails before cards)`, whole, 'ms', 0)

  // A clinician of the custodian: each whole-image open appends a durable access.log; a card does not.
  const listed = await doc.patientImages(pid)
  const docCards: number[] = []
  const docWhole: number[] = []
  for (let r = 0; r < RUNS; r++) {
    let t = performance.now()
    await Promise.all(listed.map(async i => await doc.imageCard(i)))
    docCards.push(performance.now() - t)
    t = performance.now()
    await Promise.all(listed.map(async i => await doc.openImage(i)))
    docWhole.push(performance.now() - t)
  }
  line(`clinician_open_${IMAGES}_cards_ms`, docCards, 'ms', 0)
  line(`clinician_open_${IMAGES}_whole_images_ms (reference: each a logged read)`, docWhole, 'ms', 0)
  const sealed = new Uint8Array(await (await patient.request('GET', `/api/images/${images[0].raw}/meta`)).arrayBuffer())
  process.stdout.write(`card_sealed_bytes: ${sealed.length} (thumbnail ${(cardBytes / images.length).toFixed(0)} bytes on average) against ${files[0].length} bytes of image\n`)

  // The thumbnail step alone, against the decode it follows (both in this thread).
  const decodeMs: number[] = []
  const thumbMs: number[] = []
  for (let r = 0; r < RUNS; r++) {
    let t = performance.now()
    const decoded = loadImage(files[r % files.length])
    decodeMs.push(performance.now() - t)
    t = performance.now()
    makeThumbnail(decoded)
    thumbMs.push(performance.now() - t)
  }
  line('thumbnail_ms', thumbMs, 'ms')
  line('decode_ms (reference)', decodeMs, 'ms')
} finally {
  await peer.stop()
  await rm(dir, { recursive: true, force: true })
}
