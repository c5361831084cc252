// `npm run bench:dicom-qr`: DICOM query/retrieve of a peer beside Orthanc (the Debian package) on
// the same machine, in the same run, with the same study: C-FIND latency at study level and
// C-GET throughput of one series, each with dcmtk's findscu/getscu as the client. Medians of
// RUNS runs with their spread; each peer figure is printed beside Orthanc's and as a ratio line
// `ratio <what>: <number>` (peer ÷ Orthanc, throughput). The peer decrypts every instance it sends
// and logs each read on its ledger; Orthanc reads plain files.
import { execFile } from 'node:child_process'
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fromHex } from '../../../protocol/bytes.ts'
import { MedichainClient } from '../../../protocol/client/client.ts'
import { createGenesis } from '../../../protocol/chain/genesis.ts'
import { AUTH_DEFAULTS } from '../../../node/auth/constants.ts'
import { DICOM_DEFAULTS } from '../../../node/config/dicom.ts'
import { createKeyFile } from '../../../node/keys.ts'
import { createLogger } from '../../../node/logger.ts'
import { createPeer } from '../../../node/peer.ts'
import { freePort, startOrthanc } from '../../orthanc.ts'
import { writeStudy } from '../../synth/dicom-study.ts'

/** Runs of each measure (the median and spread are printed). */
const RUNS = 3
/** Slices of the series retrieved: a short CT series of 256² 16-bit slices. */
const SLICES = Number(process.env.SLICES ?? 100)
const SIZE = 256

async function tool (name: string, args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile(name, args, { timeout: 600_000 }, (err, _out, stderr) => { if (err === null) resolve(); else reject(new Error(`${name}: ${stderr}`)) })
  })
}

/** Median and [min, max] of a sample. */
function stats (xs: number[]): { median: number, min: number, max: number } {
  const s = [...xs].sort((a, b) => a - b)
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] }
}

const fmt = (x: { median: number, min: number, max: number }, digits = 1): string => `${x.median.toFixed(digits)} (${x.min.toFixed(digits)}–${x.max.toFixed(digits)})`

const dir = await mkdtemp(join(tmpdir(), 'medichain-bench-dicom-qr-'))
const key = await createKeyFile(join(dir, 'peer'))
const peerPort = await freePort()
const pacs = await startOrthanc({ modalities: [{ name: 'medichain', aeTitle: 'MEDICHAIN', host: '127.0.0.1', port: peerPort }] })
const peer = createPeer({
  data: join(dir, 'peer'),
  http: { host: '127.0.0.1', port: 0 },
  p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  peers: [],
  syncIntervalMs: 10_000,
  auth: { ...AUTH_DEFAULTS, scryptN: 2 ** 14 },
  seed: key.seed,
  genesis: createGenesis({ name: 'bench:dicom-qr', created: Date.now(), members: [{ name: 'Bench Hospital', key: key.publicKey, addrs: [] }] }),
  freshChain: true,
  dicom: { ...DICOM_DEFAULTS, port: peerPort }
})({ logger: createLogger({ level: 'warn', destination: 2 }), clock: Date.now })
await peer.start()
try {
  const patient = new MedichainClient({ baseUrl: peer.http.url, vaultIterations: 1000 })
  await patient.signUp({ username: 'bench-patient', password: 'bench patient long password', role: 'patient' })
  await patient.signIn('bench-patient', 'bench patient long password')
  await peer.dicom?.linkPatient('MRN-BENCH', fromHex(patient.user?.patientId ?? ''))
  const uid = '2.25.8000008'
  const series = `${uid}.1`
  const files = await writeStudy(join(dir, 'study'), { mrn: 'MRN-BENCH', name: 'SYNTH^BENCH', birthDate: '19700101', uid, size: SIZE, series: [{ uid: series, modality: 'CT', slices: SLICES }] })
  // The same instances on both sides: into the peer over C-STORE, into Orthanc over REST.
  await tool('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(peerPort), ...files])
  // Acknowledged from custody: every instance is on the ledger before the first timed query.
  await peer.dicom?.settled()
  for (const f of files) await pacs.rest('POST', '/instances', new Uint8Array(await readFile(f)))

  const systems = [{ name: 'peer', port: peerPort, aec: 'MEDICHAIN' }, { name: 'orthanc', port: pacs.dicomPort, aec: pacs.aeTitle }]
  const find: Record<string, number[]> = { peer: [], orthanc: [] }
  const get: Record<string, number[]> = { peer: [], orthanc: [] }
  for (let run = 0; run < RUNS; run++) {
    // Alternating which system goes first, so neither always meets a warmer cache.
    for (const s of run % 2 === 0 ? systems : [...systems].reverse()) {
      const out = join(dir, `find-${s.name}-${run}`)
      await mkdir(out)
      let t = performance.now()
      await tool('findscu', ['-S', '-aec', s.aec, '-X', '-od', out, '-k', 'QueryRetrieveLevel=STUDY', '-k', 'PatientName=SYNTH*', '-k', 'StudyInstanceUID', '-k', 'NumberOfStudyRelatedInstances', '127.0.0.1', String(s.port)])
      find[s.name].push(performance.now() - t)
      const got = join(dir, `get-${s.name}-${run}`)
      await mkdir(got)
      t = performance.now()
      await tool('getscu', ['-aet', 'GETSCU', '-S', '-aec', s.aec, '-od', got, '-k', 'QueryRetrieveLevel=SERIES', '-k', `StudyInstanceUID=${uid}`, '-k', `SeriesInstanceUID=${series}`, '127.0.0.1', String(s.port)])
      get[s.name].push(SLICES / ((performance.now() - t) / 1000))
      await rm(got, { recursive: true, force: true })
    }
  }
  const f = { peer: stats(find.peer), orthanc: stats(find.orthanc) }
  const g = { peer: stats(get.peer), orthanc: stats(get.orthanc) }
  console.log(`bench:dicom-qr: ${SLICES} instances of ${SIZE}² 16-bit, ${RUNS} runs, median (min–max)`)
  console.log(`C-FIND study level, ms:    peer ${fmt(f.peer)} | Orthanc ${fmt(f.orthanc)}`)
  console.log(`C-GET one series, images/s: peer ${fmt(g.peer)} | Orthanc ${fmt(g.orthanc)}`)
  console.log(`ratio c-find latency: ${(f.peer.median / f.orthanc.median).toFixed(2)}`)
  console.log(`ratio c-get: ${(g.peer.median / g.orthanc.median).toFixed(2)}`)
} finally {
  await peer.stop()
  await pacs.stop()
  await rm(dir, { recursive: true, force: true })
}
