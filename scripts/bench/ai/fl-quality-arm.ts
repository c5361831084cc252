// One arm (centralised or FedAvg) of the FL quality benchmark, in its own process so that the two
// arms train at the same time on two cores (tfjs on wasm runs one thread in Node). Driven by
// fl-quality.ts over IPC: receives { options, arm }, answers { result } or { error }, and exits.
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { runArm } from './fl-quality.ts'
import type { Arm, FlQualityOptions } from './fl-quality.ts'

process.once('message', (m: { options: FlQualityOptions, arm: Arm }) => {
  void (async () => {
    await initBackend()
    const result = await runArm(m.options, m.arm)
    process.send?.({ result }, () => process.exit(0))
  })().catch((err: unknown) => {
    process.send?.({ error: err instanceof Error ? err.stack ?? err.message : String(err) }, () => process.exit(1))
  })
})
