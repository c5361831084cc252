// Reading the model deployment (web/src/lib/fl/deployment.ts): the deployed model, the pin, every
// publication with its state, reason and local figures come through; a record without a CID or
// state is dropped and fields of the wrong type are not trusted.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseFlDeployment, REASON_TEXT } from '../../../web/src/lib/fl/deployment.ts'

test('the deployed model, the pin, and a held-back model with its reason and figures', () => {
  const d = parseFlDeployment({
    deployed: { cid: 'bafy1' },
    pinned: true,
    minimumValidation: 20,
    models: [
      { cid: 'bafy2', task: 't-1', round: 4, state: 'available', reason: { code: 'WORSE_ON_LOCAL_VALIDATION', message: 'higher loss' }, check: { samples: 30, minimum: 20, candidate: { loss: 0.9, dice: 0.1 }, deployed: { loss: 0.5, dice: null } }, decidedAt: 7 },
      { cid: 'bafy1', task: 't-0', round: 3, state: 'deployed', reason: null, check: null, decidedAt: 5 }
    ]
  })
  assert.is(d.deployed, 'bafy1')
  assert.is(d.pinned, true)
  assert.is(d.minimumValidation, 20)
  assert.equal(d.models[0].reason, { code: 'WORSE_ON_LOCAL_VALIDATION', message: 'higher loss' })
  assert.equal(d.models[0].check, { samples: 30, minimum: 20, candidate: { loss: 0.9, dice: 0.1 }, deployed: { loss: 0.5, dice: null } })
  assert.is(d.models[1].state, 'deployed')
  assert.type(REASON_TEXT.WORSE_ON_LOCAL_VALIDATION, 'string')
})

test('malformed answers read as nothing deployed; bad records are dropped', () => {
  assert.equal(parseFlDeployment(null), { deployed: null, pinned: false, minimumValidation: null, models: [] })
  const d = parseFlDeployment({ deployed: 'bafy1', pinned: 'yes', models: [{ state: 'deployed' }, { cid: 'x' }, { cid: 'ok', state: 'available', reason: { message: 'no code' }, round: '2' }, 5] })
  assert.is(d.deployed, null, 'deployed must be a record')
  assert.is(d.pinned, false)
  assert.equal(d.models.map(m => [m.cid, m.reason, m.round]), [['ok', null, null]])
})

test.run()
