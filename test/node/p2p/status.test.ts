// The status exchange `/medichain/status/1.0.0` between two members on 127.0.0.1: the answer
// carries the asker's own chain head as the other member holds it and that member's clock; a
// malformed answer and a non-member are refused with their codes.
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encode } from '../../../protocol/codec.ts'
import { createLogger } from '../../../node/logger.ts'
import { STATUS_PROTOCOL } from '../../../node/p2p/constants.ts'
import { peerIdFromMemberKey } from '../../../node/p2p/identity.ts'
import { createStatus, offsetOf } from '../../../node/p2p/status.ts'
import type { Status } from '../../../node/p2p/status.ts'
import { rejects } from '../../helpers/assert.ts'
import { recordBody, testIdentity } from '../../helpers/ledger/fixture.ts'
import { connectedTo, p2pConsortium, startP2PPeer, stopP2PPeers } from '../../helpers/peers/p2p.ts'
import type { P2PPeer } from '../../helpers/peers/p2p.ts'

const genesis = p2pConsortium([1, 2])
const logger = createLogger({ silent: true })
const services: Status[] = []

test.after.each(async () => {
  for (const s of services.splice(0)) await s.stop()
  await stopP2PPeers()
})

async function pair (): Promise<[P2PPeer, P2PPeer]> {
  const a = await startP2PPeer(1, genesis)
  const b = await startP2PPeer(2, genesis)
  await a.libp2p.dial(multiaddr(b.addr))
  await connectedTo(a, b.hex)
  return [a, b]
}

function statusOf (p: P2PPeer, clock: () => number): Status {
  const s = createStatus({ timeoutMs: 5_000 })({ libp2p: p.libp2p, ledger: p.ledger, logger, clock })
  services.push(s)
  return s
}

test('a member answers with the asker\'s chain head as it holds it, and its clock', async () => {
  const [a, b] = await pair()
  const askA = statusOf(a, () => 1_700_000_000_000)
  const answerB = statusOf(b, () => 1_700_000_600_000)
  await askA.start()
  await answerB.start()

  const empty = await askA.ask(b.peerId)
  assert.is(empty.head, null, 'B holds none of A\'s chain yet')
  assert.is(offsetOf(empty), 600_000, 'B\'s clock reads ten minutes more')

  for (let i = 0; i < 2; i++) await a.ledger.submitOwn('record.create', recordBody(i))
  for (const block of await a.ledger.blocks(a.key, 0, 10)) await b.ledger.receive(block.bytes)
  const held = await askA.ask(b.peerId)
  assert.is(held.head?.height, 1)
  assert.equal(held.head?.hash, (await a.ledger.block(a.key, 1))?.hash)
})

test('a malformed answer is STATUS_FAILED; a non-member is never asked', async () => {
  const [a, b] = await pair()
  const askA = statusOf(a, Date.now)
  await askA.start()
  await b.libp2p.handle(STATUS_PROTOCOL, async (stream) => {
    const lp = lpStream(stream)
    await lp.read()
    await lp.write(encode({ t: 'status', time: -1, head: null }))
    await stream.close()
  })
  await rejects(async () => await askA.ask(b.peerId), 'STATUS_FAILED')
  await rejects(async () => await askA.ask(peerIdFromMemberKey(testIdentity(9).publicKey)), 'NOT_MEMBER_PEER')
})

test.run()
