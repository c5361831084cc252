// `npm run bench:ledger`: ledger ingest, propagation, rebuild and catch-up figures, each printed
// beside its reference measured in the same run (docs/design.md §8). Output lines are `name: value`.
import { availableParallelism } from 'node:os'
import { ingestRate, makeChain, median, rawVerify } from './ingest.ts'
import { blockLatencies, catchUpRate, percentile, rawGossipLatencies } from './propagation.ts'

const quick = process.argv.includes('--quick')
const workers = availableParallelism()
const line = (name: string, value: number | string, digits = 2): void => {
  console.log(`${name}: ${typeof value === 'number' ? value.toFixed(digits) : value}`)
}

line('machine cores', workers, 0)
line('verify workers', workers, 0)

// Ingest: signed transactions validated and appended durably per second vs raw verify rate.
const ingestBlocks = makeChain(quick ? 20 : 80, 256)
const raws: number[] = []
const ingests: number[] = []
const cpu = { verify: [] as number[], main: [] as number[], others: [] as number[] }
for (let run = 0; run < (quick ? 1 : 3); run++) {
  const v = rawVerify(5000)
  const r = await ingestRate(ingestBlocks, workers)
  raws.push(v.perSec)
  ingests.push(r.txPerSec)
  cpu.verify.push(v.cpuUs)
  cpu.main.push(r.cpu.mainUs)
  cpu.others.push(r.cpu.othersUs)
}
const raw = median(raws)
const ingest = median(ingests)
line('raw node:crypto verify (ops/s)', raw, 0)
line('ingest (tx/s)', ingest, 0)
line('ingest ratio', ingest / raw)
line('ingest ratio spread', `${Math.min(...ingests.map((x, i) => x / raws[i])).toFixed(2)}–${Math.max(...ingests.map((x, i) => x / raws[i])).toFixed(2)} (${raws.length} runs)`)
// Where ingest's CPU goes, per transaction, against one verification's CPU (medians). On a loaded
// machine the wall-clock ratio measures the share of the cores the process got as much as the
// code; the CPU figures do not. The bound is the ratio the same CPU would give with all cores
// to itself: the verify workers share them, the main thread's part runs on one.
const verifyCpu = median(cpu.verify)
const mainCpu = median(cpu.main)
const othersCpu = median(cpu.others)
line('raw verify cpu per op (us)', verifyCpu, 1)
line('ingest cpu per tx, main thread (us)', mainCpu, 1)
line('ingest cpu per tx, verify workers and level (us)', othersCpu, 1)
line('ingest ratio bound from cpu', verifyCpu / Math.max(mainCpu, (mainCpu + othersCpu) / workers))

// Propagation: block latency to 4 peers vs raw gossipsub of the same size.
const { latencies, blockBytes } = await blockLatencies(quick ? 20 : 200)
const rawGossip = await rawGossipLatencies(blockBytes, quick ? 20 : 100)
line('block size (bytes)', blockBytes, 0)
line('propagation p50 (ms)', percentile(latencies, 50))
line('propagation p99 (ms)', percentile(latencies, 99))
line('raw gossipsub p50 (ms)', percentile(rawGossip, 50))
line('raw gossipsub p99 (ms)', percentile(rawGossip, 99))
line('propagation p50 ratio', percentile(latencies, 50) / percentile(rawGossip, 50))

// State rebuild: 100k transactions appended into a fresh store.
const rebuild = await ingestRate(makeChain(quick ? 40 : 400, 250), workers)
line(`state rebuild ${quick ? '10k' : '100k'} tx (s)`, rebuild.seconds)

// Catch-up: a peer that missed 10k blocks syncs them on reconnect.
const catchUp = await catchUpRate(quick ? 1000 : 10_000)
line(`catch-up sync ${quick ? '1k' : '10k'} blocks (blocks/s)`, catchUp.blocksPerSec, 0)
