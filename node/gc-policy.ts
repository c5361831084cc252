// The peer process's garbage-collection policy. V8 as Node 24 ships it (13.6) starts a full
// mark-compact of the whole heap each time ArrayBuffer memory has grown by a fixed step since the
// last one, however little of the heap is garbage. An upload's body reaches JavaScript as fresh
// buffers (Node's HTTP parser copies each body piece out of its shared read buffer), so a 105 MB
// upload set off about seven full collections of the peer's ~60 MB heap, and the seal worker as
// many of its own: more CPU, mostly on V8's marking threads, than the encryption and hashing
// together (docs/benchmarks.md, "Upload, issue 14 (continued)"). Counting ArrayBuffer memory in
// the heap's global limit instead (V8's --external-memory-accounted-in-global-limit) leaves one or
// two per upload, for a higher peak RSS while it runs (about 80 MB in the benchmark).
import { setFlagsFromString } from 'node:v8'

/** The V8 flag, process-wide (every worker thread shares it) and read at each collection decision. */
export const GC_POLICY_FLAG = '--external-memory-accounted-in-global-limit'

/**
 * Sets the peer's collection policy for this process. Called first thing by the `medichain`
 * command (main.ts) and by benchmarks that run a peer in their own process; idempotent.
 */
export function applyGcPolicy (): void {
  setFlagsFromString(GC_POLICY_FLAG)
}
