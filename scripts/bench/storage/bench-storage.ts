// `npm run bench:storage`: the data plane's figures (issue 14), each printed as `name: value` beside
// its reference measured in the same run, as the median of the runs with the spread (min–max) on
// a `… spread` line. `--quick` uses smaller files and ledger; `--runs N` (default 3); `--only
// reads,concurrent,clinicians,upload,listing` runs some parts; `--one-process` runs the member
// holding the files in this process rather than in its own (holder.ts).
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { applyGcPolicy } from '../../../node/gc-policy.ts'
import { median } from '../ledger/ingest.ts'
import { percentile } from '../ledger/propagation.ts'
import { holderInChild, holderInProcess } from './holder.ts'
import { concurrentRun, readRun, startMember, stopMembers } from './reads.ts'
import type { BenchMember, Holder } from './reads.ts'
import { clinicianReads } from './clinicians.ts'
import { clinicianColdWalk, clinicianPage, fillLedger, largeDicom, listingTimes, patientPage, rawAesGcm, rawSha256, startBenchPeer, startUploadClient, stopBenchPeer } from './peer.ts'
import { hostPairMbps, noiseCipherMbps, rawTcpMbps } from './transport.ts'

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, runs: { type: 'string', default: '3' }, only: { type: 'string' }, 'one-process': { type: 'boolean', default: false } }, strict: true })
const quick = values.quick
const runs = Number(values.runs)
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs: expected a whole number ≥ 1')
const only = values.only === undefined ? null : new Set(values.only.split(','))
const part = (name: string): boolean => only === null || only.has(name)

// Every member here runs with the peer's garbage-collection policy, as `medichain start` sets it
// (node/gc-policy.ts); the member holding the files sets it in its own process (holder-process.ts).
applyGcPolicy()

const MB = 1e6
const fileBytes = quick ? 21 * MB : 105 * MB

const line = (name: string, value: number | string, digits = 2): void => {
  console.log(`${name}: ${typeof value === 'number' ? value.toFixed(digits) : value}`)
}
/** Prints the median as `name` and the spread as `name spread`. */
const figure = (name: string, xs: number[], digits = 2): number => {
  const m = median(xs)
  line(name, m, digits)
  line(`${name} spread`, `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)} (${xs.length} runs)`)
  return m
}

line('machine cores', availableParallelism(), 0)
line('file size (MB)', fileBytes / MB, 0)

if (part('reads') || part('concurrent')) {
  const created = Date.now()
  const a = values['one-process'] ? await holderInProcess(created, fileBytes) : await holderInChild(created, fileBytes)
  const b = await startMember(1, 2, created)
  try {
    await b.p2p.libp2p.dial(multiaddr(a.addr))
    line('member holding the files', values['one-process'] ? 'this process' : 'its own process')
    if (part('reads')) await singleReads(a, b)
    if (part('concurrent')) await concurrentReads(a, b)
  } finally {
    await stopMembers([b])
    await a.stop()
  }
}

/** One file read at a time, first, warm and local, beside the transport references. */
async function singleReads (a: Holder, b: BenchMember): Promise<void> {
  const tcp: number[] = []
  const stream: number[] = []
  const pair = { tls: [] as number[], noise: [] as number[] }
  const cipher: number[] = []
  const first: number[] = []
  const warm: number[] = []
  const local: number[] = []
  const ratios = { first: [] as number[], warm: [] as number[], local: [] as number[], ceiling: [] as number[] }
  for (let run = 0; run < runs; run++) {
    const ref = await a.rawTcp(fileBytes)
    const s = await a.stream(b, fileBytes)
    pair.tls.push(await hostPairMbps('tls', fileBytes) / ref)
    pair.noise.push(await hostPairMbps('noise', fileBytes) / ref)
    cipher.push(noiseCipherMbps(fileBytes))
    const r = await readRun(a, b, fileBytes, 100 + run)
    if (r.blocks.bitswap > 0) console.log(`# run ${run + 1}: ${r.blocks.bitswap} blocks came over bitswap, ${r.blocks.streamed} over the block stream`)
    tcp.push(ref)
    stream.push(s)
    first.push(r.first)
    warm.push(r.warm)
    local.push(r.local)
    ratios.ceiling.push(s / ref)
    ratios.first.push(r.first / ref)
    ratios.warm.push(r.warm / ref)
    ratios.local.push(r.local / ref)
  }
  figure('raw tcp loopback (MB/s)', tcp, 0)
  // B's one connection is to A.
  const encryption = b.p2p.libp2p.getConnections()[0]?.encryption ?? 'none'
  line('members\' connection encryption', encryption)
  figure('libp2p stream between members (MB/s)', stream, 0)
  figure('transport ceiling ratio', ratios.ceiling)
  // Bare host pairs offering one encrypter each, yamux on top: where each transport's ceiling is.
  figure('transport ceiling ratio tls+yamux', pair.tls)
  figure('transport ceiling ratio noise+yamux', pair.noise)
  // The cipher alone, on one core, one direction.
  figure('noise chacha20-poly1305 one way (MB/s)', cipher, 0)
  figure('first read (MB/s)', first, 0)
  figure('first read ratio', ratios.first)
  figure('first read / transport ceiling', first.map((f, i) => f / stream[i]))
  figure('warm read (MB/s)', warm, 0)
  figure('warm read ratio', ratios.warm)
  figure('local read (MB/s)', local, 0)
  figure('local read ratio', ratios.local)
}

/** Ten reads at once at B of ten different files held by A, over their one connection. */
async function concurrentReads (a: Holder, b: BenchMember): Promise<void> {
  const readers = 10
  const each = quick ? 10 * MB : 50 * MB
  const aggregate: number[] = []
  const ttfbs: number[] = []
  const perRunP99: number[] = []
  for (let run = 0; run < runs; run++) {
    const r = await concurrentRun(a, b, readers, each, 1000 + run * readers)
    aggregate.push(r.aggregate)
    ttfbs.push(...r.ttfbs)
    perRunP99.push(percentile(r.ttfbs, 99))
  }
  line('concurrent readers', readers, 0)
  line('concurrent file size (MB)', each / MB, 0)
  figure('concurrent aggregate (MB/s)', aggregate, 0)
  line('concurrent ttfb p50 ms', percentile(ttfbs, 50), 1)
  line('concurrent ttfb p99 ms', percentile(ttfbs, 99), 1)
  // Each run's p99 on its own, so the spread shows beside the pooled figure.
  figure('concurrent ttfb p99 ms per run', perRunP99, 1)
}

if (part('clinicians')) {
  // The same concurrency as clinicians meet it: whole peers, sessions, consents and HTTP (clinicians.ts).
  const readers = 10
  const each = quick ? 10 * MB : 50 * MB
  const r = await clinicianReads(readers, each, runs)
  line('clinicians at another hospital', readers, 0)
  line('clinician image size (MB)', r.bytes / MB, 1)
  figure('clinicians concurrent aggregate (MB/s)', r.aggregate, 1)
  line('clinicians concurrent ttfb p50 ms', percentile(r.ttfbs, 50), 1)
  line('clinicians concurrent ttfb p99 ms', percentile(r.ttfbs, 99), 1)
}

if (part('upload') || part('listing')) {
  const p = await startBenchPeer()
  try {
    if (part('upload')) {
      // The clinician uploads from a process of its own, as a browser would; one small upload
      // first starts the peer's decode and seal workers (upload-client.ts).
      const client = await startUploadClient(p, fileBytes)
      const file = largeDicom(fileBytes)
      const aes: number[] = []
      const tcp: number[] = []
      const sha: number[] = []
      const up: number[] = []
      const cpu = { aes: [] as number[], peer: [] as number[], client: [] as number[] }
      try {
        await client.upload(true)
        for (let run = 0; run < runs; run++) {
          const ref = rawAesGcm(file)
          tcp.push(await rawTcpMbps(file.length))
          sha.push(rawSha256(file))
          const u = await client.upload()
          aes.push(ref.mbps)
          up.push(u.mbps)
          cpu.aes.push(ref.cpuMs)
          cpu.peer.push(u.peerCpuMs)
          cpu.client.push(u.clientCpuMs)
        }
      } finally {
        await client.stop()
      }
      line('upload file (MB)', file.length / MB, 1)
      figure('raw aes-256-gcm encrypt (MB/s)', aes, 0)
      figure('upload (MB/s)', up, 1)
      figure('upload ratio', up.map((u, i) => u / aes[i]), 3)
      // Every byte of an upload crosses loopback TCP (HTTP), is encrypted and is hashed (each
      // block is named by its SHA-256): the three references from the same run. Their costs per
      // byte added up and spread over every core, with nothing else to do, bound the upload.
      figure('raw tcp loopback, upload runs (MB/s)', tcp, 0)
      figure('raw sha-256 (MB/s)', sha, 0)
      figure('upload / raw tcp loopback', up.map((u, i) => u / tcp[i]), 3)
      const bound = tcp.map((t, i) => availableParallelism() / (1 / t + 1 / aes[i] + 1 / sha[i]))
      figure('upload bound: tcp + aes-gcm + sha-256 on every core (MB/s)', bound, 0)
      figure('upload ratio bound (that / raw aes-256-gcm)', bound.map((b, i) => b / aes[i]), 3)
      figure('upload / upload bound', up.map((u, i) => u / bound[i]), 3)
      // CPU time, which a loaded machine inflates much less than wall time: the peer's process
      // (HTTP, temp file, seal and decode workers, ledger) and the client's, against the reference.
      figure('raw aes-256-gcm cpu (ms)', cpu.aes, 0)
      figure('upload cpu, peer process (ms)', cpu.peer, 0)
      figure('upload cpu, client process (ms)', cpu.client, 0)
      figure('upload cpu / raw aes-256-gcm cpu (peer)', cpu.peer.map((c, i) => c / cpu.aes[i]), 1)
    }
    if (part('listing')) {
      const total = quick ? 10_000 : 100_000
      const mine = quick ? 100 : 1000
      const t0 = performance.now()
      await fillLedger(p, total, mine)
      line('ledger images', total, 0)
      line('patient images', mine, 0)
      line('ledger fill (s)', (performance.now() - t0) / 1000, 1)
      const cold = await clinicianColdWalk(p)
      line('clinician first walk pages', cold.length, 0)
      line('clinician first walk p50 ms', percentile(cold, 50), 1)
      line('clinician first walk max ms', Math.max(...cold), 1)
      const n = quick ? 20 : 50
      const doc = { p50: [] as number[], p99: [] as number[], cpu: [] as number[] }
      const own = { p50: [] as number[], p99: [] as number[], cpu: [] as number[] }
      for (let run = 0; run < runs; run++) {
        const d = await listingTimes(n, async () => await clinicianPage(p))
        const o = await listingTimes(n, async () => await patientPage(p))
        doc.p50.push(percentile(d.ms, 50))
        doc.p99.push(percentile(d.ms, 99))
        doc.cpu.push(d.cpuMs)
        own.p50.push(percentile(o.ms, 50))
        own.p99.push(percentile(o.ms, 99))
        own.cpu.push(o.cpuMs)
      }
      line('listing page size', await clinicianPage(p), 0)
      figure('clinician listing p50 ms', doc.p50, 1)
      figure('clinician listing p99 ms', doc.p99, 1)
      figure('patient listing p50 ms', own.p50, 1)
      figure('patient listing p99 ms', own.p99, 1)
      // CPU time of the whole process (peer and client) per listing: less moved by other load than the wall times.
      figure('clinician listing cpu ms', doc.cpu, 1)
      figure('patient listing cpu ms', own.cpu, 1)
    }
  } finally {
    await stopBenchPeer(p)
  }
}
