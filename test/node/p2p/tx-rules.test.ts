// The transaction rules over real gossip (issue 11.1, 11.9): a block from another member that
// reuses its sequence number, or carries a transaction dated 2^53−1, reaches a peer by gossipsub
// and is refused there with REPLAYED_SEQ / TX_TIME (and not forwarded); the chain stays as it was.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { encodeGossip } from '../../../node/p2p/gossip.ts'
import { cleanup, makeBlock, makeTx, recordBody, testIdentity } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { waitFor, withTimeout } from '../../helpers/timeout.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

test('a gossiped block of another member reusing its seq, or dated 2^53−1, is refused with its code', async () => {
  hospitals = await startHospitals(2)
  const [A, B] = hospitals
  const bKey = testIdentity(2)
  const b = toHex(bKey.publicKey)
  const id = A.peer.ledger.id
  const topic = B.peer.p2p.topic
  await waitFor(() => B.peer.p2p.libp2p.services.pubsub.getSubscribers(topic).some(p => p.equals(A.peer.p2p.libp2p.peerId)), { timeout: 10_000, what: 'A subscribed' })
  const head = B.peer.ledger.heads().find(h => toHex(h.author) === b)
  assert.ok(head)
  await waitFor(() => A.peer.ledger.heads().some(h => toHex(h.author) === b && h.height === head.height), { timeout: 10_000, what: 'B\'s head at A' })
  const held = await A.peer.ledger.block(bKey.publicKey, head.height)
  assert.ok(held)
  const usedSeq = held.txs[0].tx.seq

  const refused = (code: string): Promise<void> => withTimeout(new Promise<void>(resolve => {
    const on = (e: Event): void => {
      if ((e as CustomEvent<{ code: string }>).detail.code !== code) return
      A.peer.p2p.removeEventListener('gossip:invalid', on)
      resolve()
    }
    A.peer.p2p.addEventListener('gossip:invalid', on)
  }), 10_000, `A to refuse with ${code}`)

  const time = Date.now()
  const next = (txs: ReturnType<typeof makeTx>[]): Uint8Array =>
    makeBlock(id, bKey, { height: head.height + 1, prev: held.hash, links: held.header.links, time, txs }).bytes
  const replay = refused('REPLAYED_SEQ')
  await B.peer.p2p.libp2p.services.pubsub.publish(topic, encodeGossip({ kind: 'block', block: next([makeTx(id, bKey, 'record.create', recordBody(1), usedSeq, time)]) }))
  await replay
  const future = refused('TX_TIME')
  await B.peer.p2p.libp2p.services.pubsub.publish(topic, encodeGossip({ kind: 'block', block: next([makeTx(id, bKey, 'record.create', recordBody(2), usedSeq + 1000, Number.MAX_SAFE_INTEGER)]) }))
  await future
  assert.is(A.peer.ledger.heads().find(h => toHex(h.author) === b)?.height, head.height, 'neither block was appended')
})

test.run()
