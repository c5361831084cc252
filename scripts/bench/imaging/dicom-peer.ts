// The peer under test for `npm run bench:dicom`: one hospital, alone in its consortium, in a fresh
// data folder, with the DICOM listener on a free port and, with `--model`, the shipped default
// model in the analyser slot. Runs in its own process so its CPU is its own. Prints one JSON line
// `{ url, dicomPort, setup }` when ready, then `{ images: n }` each time a block adds images (so
// the bench sees when every instance is on the ledger without polling), and stops on SIGTERM.
// SIGUSR2 starts the measured window (answered `{ measuring: true }`): the process's CPU time
// (every thread) is counted from then, and with BENCH_PEER_PROFILE=<dir> the main thread is
// CPU-profiled from then into that folder; SIGTERM prints `{ cpuMs }` before stopping.
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import type { Block } from '../../../protocol/chain/block.ts'
import { DICOM_DEFAULTS } from '../../../node/config/dicom.ts'
import { IMAGING_DEFAULTS } from '../../../node/config/imaging.ts'
import { startOneMemberPeer } from '../one-member-peer.ts'

const { peer, stop } = await startOneMemberPeer('dicom', {
  defaultModel: process.argv.includes('--model'),
  // C-STORE and STOW-RS answer once an instance is durable in custody, so one association's
  // instances overlap, and the model's time is not in the answer.
  dicom: { ...DICOM_DEFAULTS, port: 0, acknowledge: 'custody' },
  ...(process.env.BENCH_ANALYSIS_BATCH === undefined ? {} : { imaging: { ...IMAGING_DEFAULTS, analysisBatch: Number(process.env.BENCH_ANALYSIS_BATCH) } })
}, process.env.BENCH_PEER_LOG === 'info' ? 'info' : 'warn')

let images = 0
peer.ledger.addEventListener('block:appended', (e) => {
  const block = (e as CustomEvent<Block>).detail
  const added = block.txs.filter(d => d.tx.type === 'image.add').length
  if (added === 0) return
  images += added
  process.stdout.write(`${JSON.stringify({ images })}\n`)
})

let measuring: { cpu: NodeJS.CpuUsage, profiler?: Session } | undefined
process.on('SIGUSR2', () => {
  void (async () => {
    const dir = process.env.BENCH_PEER_PROFILE
    let profiler: Session | undefined
    if (dir !== undefined && dir !== '') {
      profiler = new Session()
      profiler.connect()
      await profiler.post('Profiler.enable')
      await profiler.post('Profiler.start')
      if (process.env.BENCH_PEER_HEAP === '1') await profiler.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
    }
    measuring = { cpu: process.cpuUsage(), profiler }
    process.stdout.write(`${JSON.stringify({ measuring: true })}\n`)
  })()
})

let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  void (async () => {
    if (measuring !== undefined) {
      const used = process.cpuUsage(measuring.cpu)
      process.stdout.write(`${JSON.stringify({ cpuMs: (used.user + used.system) / 1000, heapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20) })}\n`)
      const dir = process.env.BENCH_PEER_PROFILE
      if (measuring.profiler !== undefined && dir !== undefined) {
        if (process.env.BENCH_PEER_HEAP === '1') {
          const heap = await measuring.profiler.post('HeapProfiler.stopSampling')
          await writeFile(join(dir, `peer-${process.pid}.heapprofile`), JSON.stringify(heap.profile))
        }
        const { profile } = await measuring.profiler.post('Profiler.stop')
        await writeFile(join(dir, `peer-${process.pid}-${process.argv.includes('--model') ? 'model' : 'no-model'}.cpuprofile`), JSON.stringify(profile))
      }
    }
    await stop()
    process.exit(0)
  })()
})
process.stdout.write(`${JSON.stringify({ url: peer.http.url, dicomPort: peer.dicom?.address()?.port, setup: peer.auth.setupLink(peer.http.url) })}\n`)
