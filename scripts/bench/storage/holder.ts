// The member that holds the files in the read figures of `npm run bench:storage`: A, which B reads
// from. By default A runs in a process of its own (holder-process.ts), as another hospital's peer
// runs on a machine of its own: each member's encryption, multiplexing, hashing and disk writes get
// their own thread, as between two hospitals. `--one-process` keeps both members on one thread, as
// the figures before 2026-12-07 21:30 UTC were taken. The raw TCP reference is sent from the same place.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import type { BenchMember, Holder } from './reads.ts'
import { noise, startMember, stopMembers, timedRead } from './reads.ts'
import { pullMbps, rawTcpMbps, sendTcp, servePull } from './transport.ts'

/** Member 1 of 2 in this process. */
export async function holderInProcess (created: number, total: number): Promise<Holder> {
  const a = await startMember(0, 2, created)
  await servePull(a.p2p.libp2p, total)
  return {
    addr: a.p2p.addresses()[0],
    add: async (size, seed) => (await a.storage.add(noise(size, seed))).cid,
    localRead: async cid => await timedRead(a.storage, cid),
    rawTcp: async n => await rawTcpMbps(n),
    stream: async (reader, n) => await pullMbps(reader.p2p.libp2p, a.p2p.libp2p.peerId, n),
    stop: async () => { await stopMembers([a]) }
  }
}

/** Member 1 of 2 in a child process (holder-process.ts), driven over IPC. */
export async function holderInChild (created: number, total: number): Promise<Holder> {
  const child = fork(fileURLToPath(new URL('./holder-process.ts', import.meta.url)), [String(created), String(total)], { serialization: 'advanced' })
  let calls = 0
  const pending = new Map<number, { resolve: (m: Record<string, unknown>) => void, reject: (e: Error) => void }>()
  const exited = new Promise<void>(resolve => child.once('exit', () => {
    for (const p of pending.values()) p.reject(new Error(`the holder process exited (${String(child.exitCode)})`))
    pending.clear()
    resolve()
  }))
  let started: (m: Record<string, unknown>) => void = () => {}
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    started = resolve
    void exited.then(() => reject(new Error(`the holder process exited (${String(child.exitCode)}) before it started`)))
  })
  child.on('message', (m: Record<string, unknown>) => {
    if (m.ready === true) started(m)
    const p = pending.get(Number(m.id))
    if (p === undefined) return
    pending.delete(Number(m.id))
    if (typeof m.error === 'string') p.reject(new Error(`holder: ${m.error}`))
    else p.resolve(m)
  })
  const call = async (op: Record<string, unknown>): Promise<Record<string, unknown>> => await new Promise((resolve, reject) => {
    const id = ++calls
    pending.set(id, { resolve, reject })
    child.send({ id, ...op })
  })
  const { addr } = await ready as { addr: string }
  return {
    addr,
    add: async (size, seed) => CID.parse(String((await call({ op: 'add', size, seed })).cid)),
    localRead: async (cid) => {
      const r = await call({ op: 'local', cid: cid.toString() })
      return { mbps: Number(r.mbps), bytes: Number(r.bytes) }
    },
    rawTcp: async n => await rawTcpMbps(n, async (port, bytes) => { await call({ op: 'tcp', port, bytes }) }),
    stream: async (reader, n) => await pullMbps(reader.p2p.libp2p, multiaddr(addr), n),
    stop: async () => {
      if (child.exitCode === null) child.send({ op: 'stop' })
      await exited
    }
  }
}
