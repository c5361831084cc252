// Only a task's coordinator may publish a model for it: model.publish is refused with
// NOT_TASK_COORDINATOR, in a received block and on local submission, unless its task id carries the
// signer's coordinator fingerprint (ledger/rules/fl.ts). A refused block leaves nothing behind.
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex, utf8 } from '../../../protocol/bytes.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import type { TxBodies } from '../../../protocol/chain/tx.ts'
import { coordinatorFingerprint, isCoordinatorOf, taskIdFor } from '../../../ledger/rules/fl.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, makeBlock, makeTx, openLedger, testConsortium } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B, C] } = testConsortium(3)
const id = ledgerIdOf(genesis)
const NOW = 1_700_000_010_000
const clock = (): number => NOW
const NONCE = new Uint8Array([1, 2, 3, 4])

test.after.each(cleanup)

async function publication (task: string): Promise<TxBodies['model.publish']> {
  const model = CID.create(1, raw.code, await sha256.digest(utf8(`weights of ${task}`)))
  return { model, task, round: 3, metrics: { loss: 0.5 }, participants: [B.publicKey, C.publicKey] }
}

test('a task id names its coordinator and no other member', () => {
  const task = taskIdFor('detect-strange', C.publicKey, NONCE)
  assert.match(task, /^detect-strange-[0-9a-f]{24}$/)
  assert.ok(task.length <= 64)
  assert.ok(isCoordinatorOf(task, C.publicKey))
  assert.not.ok(isCoordinatorOf(task, B.publicKey))
  assert.not.ok(isCoordinatorOf('detect-strange-ghost', C.publicKey), 'an id without a fingerprint names nobody')
  assert.not.ok(isCoordinatorOf(`x-${coordinatorFingerprint(C.publicKey)}`, C.publicKey), 'the nonce is required')
})

test("a block carrying another member's publication for a task it does not coordinate is NOT_TASK_COORDINATOR", async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const hijack = makeTx(id, B, 'model.publish', await publication(taskIdFor('detect-strange', C.publicKey, NONCE)), 0)
  const [size, root] = [ledger.size(), toHex(await ledger.stateRoot())]
  await rejects(async () => await ledger.receive(makeBlock(id, B, { height: 0, prev: null, txs: [hijack] }).bytes), 'NOT_TASK_COORDINATOR')
  assert.is(ledger.size(), size, 'no block was appended')
  assert.is(toHex(await ledger.stateRoot()), root, 'state root unchanged')

  const own = makeTx(id, B, 'model.publish', await publication(taskIdFor('detect-strange', B.publicKey, NONCE)), 0)
  assert.is(await ledger.receive(makeBlock(id, B, { height: 0, prev: null, txs: [own] }).bytes), 'appended', 'the coordinator itself may publish')
})

test('a publication naming no coordinator (a free-form task id) is refused', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const ghost = makeTx(id, B, 'model.publish', await publication('detect-strange-ghost'), 0)
  await rejects(async () => await ledger.receive(makeBlock(id, B, { height: 0, prev: null, txs: [ghost] }).bytes), 'NOT_TASK_COORDINATOR')
})

test('local submission refuses a publication for a task coordinated elsewhere', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  await rejects(async () => await ledger.submitOwn('model.publish', await publication(taskIdFor('detect-strange', B.publicKey, NONCE))), 'NOT_TASK_COORDINATOR')
  assert.is(ledger.size(), 0)
  await ledger.submitOwn('model.publish', await publication(taskIdFor('detect-strange', A.publicKey, NONCE)))
  assert.is(ledger.size(), 1)
})

test.run()
