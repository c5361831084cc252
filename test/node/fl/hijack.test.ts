// A member cannot speak for another member's task: a round-start signed by member D for a task id
// that names A as its coordinator is refused in the gossip validator with NOT_TASK_COORDINATOR,
// so no hospital trains on it (and the ledger refuses D's model.publish for it: test/ledger/rules/fl-publish.test.ts).
import { randomBytes } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { taskIdFor } from '../../../ledger/rules/fl.ts'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { createModel, serializeWeights } from '../../../node/ai/model/model.ts'
import { controlTopic, TASK_DEFAULTS } from '../../../node/fl/constants.ts'
import { encodeFlMessage, signRoundStart } from '../../../node/fl/transport/messages.ts'
import { storageModelStore } from '../../../node/fl/index.ts'
import { cleanup, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'
import { waitFor } from '../../helpers/timeout.ts'
import { connectAll, nextEvent, startFlPeer, stopAllFlPeers, TINY } from './fixture.ts'

const { genesis } = testConsortium(4)

test.before(async () => {
  await initBackend({ prefer: 'wasm' })
})

test.after.each(async () => {
  await stopAllFlPeers()
  await cleanup()
})

test("a round-start for another member's task is refused with NOT_TASK_COORDINATOR", async () => {
  const a = await startFlPeer(1, genesis)
  const d = await startFlPeer(4, genesis, { init: { participate: false } })
  await connectAll([a, d])
  const model = createModel(1, TINY)
  const bytes = serializeWeights(model)
  model.dispose()
  const cid = await storageModelStore(d.storage).put(bytes)
  const D = testIdentity(4)
  const hijack = signRoundStart(d.ledger.id, {
    kind: 'round-start', task: taskIdFor('detect-strange', a.key, randomBytes(4)), round: 1, deadline: Date.now() + 60_000, global: bytes, model: cid,
    config: { epochs: 1, batchSize: TASK_DEFAULTS.batchSize, learningRate: 0.01, learningRateEnd: 0.01, mu: 0 }, coordinator: D.publicKey
  }, D)
  const refused = nextEvent<{ code: string, hospital: string | null, kind: string | null }>(a.federation, 'update:refused', r => r.kind === 'round-start')
  // Gossipsub learns of A's subscription a moment after connecting.
  const topic = controlTopic(toHex(a.ledger.id))
  const pubsub = d.p2p.libp2p.services.pubsub
  await waitFor(() => pubsub.getSubscribers(topic).length > 0, { timeout: 10_000, what: "A's subscription" })
  await pubsub.publish(topic, encodeFlMessage(hijack))
  const r = await refused
  assert.is(r.code, 'NOT_TASK_COORDINATOR')
  assert.is(r.hospital, toHex(D.publicKey))
})

test.run()
