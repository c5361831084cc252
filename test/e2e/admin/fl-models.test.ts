// The FL page shows which published model this hospital deployed and why the others are available
// but not deployed, and the admin rolls back, lifts the pin and pins a model from it, in headless
// Chromium against a real one-hospital network; the peer's own deployment follows every click.
import { randomBytes } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { taskIdFor } from '../../../ledger/rules/fl.ts'
import { createModel, serializeWeights } from '../../../node/ai/model/model.ts'
import { storageModelStore } from '../../../node/fl/index.ts'
import type { ModelRecord } from '../../../node/fl/index.ts'
import type { Peer } from '../../../node/peer.ts'
import { waitFor, withTimeout } from '../../helpers/timeout.ts'
import { adminOf } from '../flows.ts'
import { browserSuite, screenshot } from '../harness.ts'

const { it, setup } = browserSuite(test, { hospitals: 1 })

/** Publishes a fresh small model at `peer` and waits for the peer's decision. */
async function publish (peer: Peer, seed: number): Promise<ModelRecord> {
  const model = createModel(seed, { inputSize: 32, base: 4, depth: 2 })
  const cid = await storageModelStore(peer.storage).put(serializeWeights(model))
  model.dispose()
  const decided = new Promise<ModelRecord>(resolve => {
    const on = (e: Event): void => {
      const r = (e as CustomEvent<ModelRecord>).detail
      if (r.cid !== cid.toString()) return
      peer.federation.removeEventListener('model:decided', on)
      resolve(r)
    }
    peer.federation.addEventListener('model:decided', on)
  })
  await peer.ledger.submitOwn('model.publish', { model: cid, task: taskIdFor('detect-strange', peer.ledger.self, randomBytes(4)), round: 1, metrics: {}, participants: [] })
  return await withTimeout(decided, 20_000, 'the decision about the model')
}

it('the admin sees deployed and held-back models with the reason, rolls back, lifts the pin and pins', async () => {
  const { net, browser } = setup()
  const [A] = net.hospitals
  const first = await publish(A.peer, 1)
  const second = await publish(A.peer, 2)
  const admin = await adminOf(browser, A, 'admin')
  await admin.getByRole('link', { name: 'Federated learning' }).click()
  const row = (cid: string) => admin.locator(`tr[data-testid=fl-model-row][data-cid="${cid}"]`)
  await row(second.cid).and(admin.locator('[data-state=deployed]')).waitFor({ timeout: 10_000 })
  assert.match(await row(first.cid).textContent() ?? '', /available, not deployed[\s\S]*SUPERSEDED/)
  await screenshot(admin, 'fl-models')

  await admin.getByTestId('fl-rollback').click()
  await admin.getByTestId('fl-deploy-done').waitFor()
  await row(first.cid).and(admin.locator('[data-state=deployed]')).waitFor()
  assert.match(await admin.getByTestId('fl-deployed').textContent() ?? '', /pinned/)
  assert.match(await row(second.cid).textContent() ?? '', /ROLLED_BACK/)
  assert.is(A.peer.federation.currentModel()?.cid.toString(), first.cid, 'the peer deploys what the page asked')
  assert.is(A.peer.federation.deployment().pinned, true)

  await admin.getByTestId('fl-unpin').click()
  await waitFor(() => !A.peer.federation.deployment().pinned, { timeout: 10_000, what: 'the pin lifted' })
  await admin.getByTestId('fl-unpin').waitFor({ state: 'detached' })

  await row(second.cid).getByTestId('fl-pin').click()
  await row(second.cid).and(admin.locator('[data-state=deployed]')).waitFor()
  assert.is(A.peer.federation.currentModel()?.cid.toString(), second.cid)
  assert.is(A.peer.federation.deployment().pinned, true)
})

test.run()
