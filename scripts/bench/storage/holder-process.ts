// Member A of the read figures of `npm run bench:storage` in a process of its own (holder.ts):
// starts member 1 of the bench consortium made at `created` (argv), serves the pull stream of
// `total` bytes, and answers the benchmark's requests over IPC: add a file, read it locally, send
// raw TCP to a port, stop. It says { ready } once started; each answer carries the request's id,
// or { error }.
import { CID } from 'multiformats/cid'
import { applyGcPolicy } from '../../../node/gc-policy.ts'
import { noise, startMember, stopMembers, timedRead } from './reads.ts'
import { sendTcp, servePull } from './transport.ts'

applyGcPolicy()
const [created, total] = process.argv.slice(2).map(Number)
const a = await startMember(0, 2, created)
await servePull(a.p2p.libp2p, total)

type Request = { id: number } & ({ op: 'add', size: number, seed: number } | { op: 'local', cid: string } | { op: 'tcp', port: number, bytes: number }) | { op: 'stop' }

async function answer (r: Request): Promise<Record<string, unknown>> {
  switch (r.op) {
    case 'add': return { cid: (await a.storage.add(noise(r.size, r.seed))).cid.toString() }
    case 'local': {
      const { mbps, bytes } = await timedRead(a.storage, CID.parse(r.cid))
      return { mbps, bytes }
    }
    case 'tcp': await sendTcp(r.port, r.bytes); return {}
    case 'stop': return {}
  }
}

process.on('message', (r: Request) => {
  if (r.op === 'stop') {
    void stopMembers([a]).finally(() => process.exit(0))
    return
  }
  answer(r).then(m => process.send?.({ id: r.id, ...m }), (err: unknown) => process.send?.({ id: r.id, error: err instanceof Error ? err.message : String(err) }))
})
process.send?.({ ready: true, peerId: a.p2p.libp2p.peerId.toString(), addr: a.p2p.addresses()[0] })
