// A member whose own disk is full refuses gossiped blocks with STORAGE_FULL but does not hold them
// against the member that sent them (no `gossip:invalid`, so gossipsub does not score it down);
// once space is freed it recovers and sync brings what it missed, to the same state root.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { toHex } from '../../protocol/bytes.ts'
import type { GossipEvents } from '../../node/p2p/gossip.ts'
import { p2pConsortium, startP2PPeer, stopP2PPeer, stopP2PPeers, untilSize } from '../helpers/peers/p2p.ts'
import type { P2PPeer } from '../helpers/peers/p2p.ts'
import { waitFor, withTimeout } from '../helpers/timeout.ts'
import { mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs.ts'
import type { Tmpfs } from '../helpers/tmpfs.ts'

const genesis = p2pConsortium([1, 2], 'disk-full gossip test')
const TMPFS_BYTES = 24 * 1024 * 1024

let fs: Tmpfs | null = null
const peers: P2PPeer[] = []
test.after.each(async () => {
  // The ledger on the tmpfs closes before the unmount, the temp folders go after it.
  for (const p of peers.splice(0).reverse()) await stopP2PPeer(p).catch(() => {})
  fs?.unmount()
  fs = null
  await stopP2PPeers()
})

const record = (i: number): { patient: Uint8Array, record: Uint8Array } =>
  ({ patient: new Uint8Array(32).fill(i & 0xff), record: new Uint8Array(16).fill(i >> 8) })

function once (target: EventTarget, type: string): Promise<void> {
  return new Promise(resolve => target.addEventListener(type, () => resolve(), { once: true }))
}

test('a full disk refuses gossiped blocks without blaming the sender, then catches up', async () => {
  const why = tmpfsUnavailable()
  if (why !== null) { console.log(why); return }
  fs = await mountTmpfs(TMPFS_BYTES)
  const a = await startP2PPeer(1, genesis)
  peers.push(a)
  const b = await startP2PPeer(2, genesis, { bootstrap: [a.addr], path: join(fs.path, 'ledger') })
  peers.push(b)
  await waitFor(() => a.libp2p.services.pubsub.getSubscribers(a.p2p.topic).length > 0 && b.libp2p.services.pubsub.getSubscribers(b.p2p.topic).length > 0, { timeout: 5000, what: 'both peers on the blocks topic' })
  const refused: string[] = []
  b.p2p.addEventListener('gossip:invalid', (e) => { refused.push((e as CustomEvent<GossipEvents['gossip:invalid']>).detail.code) })

  const failed = once(b.ledger, 'store:failed')
  await fs.fill()
  // Blocks of many transactions: more than the last partly used pages of B's log can take.
  await Promise.all(Array.from({ length: 60 }, async (_, i) => await a.ledger.submitOwn('record.create', record(i))))
  await withTimeout(failed, 10_000, 'B to refuse a gossiped block for its full disk')
  assert.is(b.ledger.storeFault()?.code, 'STORAGE_FULL')
  assert.ok(b.ledger.size() < a.ledger.size())

  const recovered = once(b.ledger, 'store:recovered')
  await fs.free()
  await withTimeout(recovered, 15_000, 'B to recover once space is free')
  // The next gossiped block lacks its prev at B: B buffers it and syncs what it missed from A.
  await a.ledger.submitOwn('record.create', record(200))
  await untilSize(b.ledger, a.ledger.size(), 15_000, 'B')
  assert.equal(refused, [], 'B held nothing against A')
  assert.is(toHex(await b.ledger.stateRoot()), toHex(await a.ledger.stateRoot()))
})

test.run()
