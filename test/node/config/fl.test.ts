// The `fl` block of the config file: defaults when absent, fields taken from the file with the rest
// defaulted, every mistyped, out-of-range or unknown value rejected with INVALID_CONFIG, and the
// values reaching the peer's federation (a config file's keepTasks trims a stored history).
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { AUTH_DEFAULTS } from '../../../node/auth/constants.ts'
import { FL_DEFAULTS, KEEP_PARTICIPATION_LIMIT, KEEP_TASKS_LIMIT } from '../../../node/config/fl.ts'
import { loadConfig } from '../../../node/config/index.ts'
import { DEPLOY_MIN_VALIDATION, MAX_TASKS_KEPT, MAX_TASKS_KEPT_LIMIT, PARTICIPATION_KEPT } from '../../../node/fl/constants.ts'
import { parseTaskOptions } from '../../../node/fl/task/options.ts'
import { newTaskView } from '../../../node/fl/task/record.ts'
import { TaskStore } from '../../../node/fl/task/store.ts'
import { createLogger } from '../../../node/logger.ts'
import { createPeer } from '../../../node/peer.ts'
import { toHex } from '../../../protocol/bytes.ts'
import { rejects } from '../../helpers/assert.ts'
import { configFolder } from '../../helpers/config-folder.ts'
import { testConsortium, testSeed } from '../../helpers/ledger/fixture.ts'

const folder = configFolder(test, 'medichain-fl-config-')
const { withFile } = folder

test('without an fl block the defaults apply: 64 tasks, 256 participations, as createFederation keeps', async () => {
  const c = await loadConfig({ cwd: folder.cwd, env: {} })
  assert.equal(c.fl, { keepTasks: 64, keepParticipation: 256, deployMinValidation: 20 })
  assert.equal(c.fl, { keepTasks: MAX_TASKS_KEPT, keepParticipation: PARTICIPATION_KEPT, deployMinValidation: DEPLOY_MIN_VALIDATION })
  assert.equal(c.fl, { ...FL_DEFAULTS })
})

test('fields given in the file win, the others keep their defaults; 1 and the limit are accepted', async () => {
  await withFile({ fl: { keepTasks: 5 } })
  assert.equal((await loadConfig({ cwd: folder.cwd, env: {} })).fl, { ...FL_DEFAULTS, keepTasks: 5, keepParticipation: 256 })
  await withFile({ fl: { keepParticipation: 1 } })
  assert.equal((await loadConfig({ cwd: folder.cwd, env: {} })).fl, { ...FL_DEFAULTS, keepTasks: 64, keepParticipation: 1 })
  await withFile({ fl: { keepTasks: KEEP_TASKS_LIMIT, keepParticipation: KEEP_PARTICIPATION_LIMIT } })
  assert.equal((await loadConfig({ cwd: folder.cwd, env: {} })).fl, { ...FL_DEFAULTS, keepTasks: MAX_TASKS_KEPT_LIMIT, keepParticipation: MAX_TASKS_KEPT_LIMIT })
  await withFile({ fl: { deployMinValidation: 3 } })
  assert.equal((await loadConfig({ cwd: folder.cwd, env: {} })).fl.deployMinValidation, 3)
  await withFile({ fl: {} })
  assert.equal((await loadConfig({ cwd: folder.cwd, env: {} })).fl, { ...FL_DEFAULTS })
})

test('bad fl values are INVALID_CONFIG: non-integer, zero, negative, above the limit, wrong type, unknown key', async () => {
  const cases: unknown[] = [
    { fl: { keepTasks: 1.5 } },
    { fl: { deployMinValidation: 0 } },
    { fl: { deployMinValidation: 'all' } },
    { fl: { keepParticipation: 2.25 } },
    { fl: { keepTasks: 0 } },
    { fl: { keepParticipation: 0 } },
    { fl: { keepTasks: -3 } },
    { fl: { keepTasks: KEEP_TASKS_LIMIT + 1 } },
    { fl: { keepParticipation: KEEP_PARTICIPATION_LIMIT + 1 } },
    { fl: { keepTasks: '5' } },
    { fl: { keepParticipation: true } },
    { fl: { keepTasks: null } },
    { fl: { keepTasks: [5] } },
    { fl: { keepTask: 5 } },
    { fl: { keepTasks: 5, rounds: 3 } },
    { fl: { toString: 5 } },
    { fl: [] },
    { fl: null },
    { fl: 5 },
    { fl: 'keepTasks=5' }
  ]
  for (const c of cases) {
    await withFile(c)
    await rejects(async () => await loadConfig({ cwd: folder.cwd, env: {} }), 'INVALID_CONFIG')
  }
})

test('the error names the file key', async () => {
  await withFile({ fl: { keepTasks: 0 } })
  const err = await rejects(async () => await loadConfig({ cwd: folder.cwd, env: {} }), 'INVALID_CONFIG')
  assert.ok(err instanceof Error && err.message.includes('config.json: fl.keepTasks'), String(err))
})

test('the config file\'s fl bounds reach the peer\'s federation: a stored history is trimmed to them at start', async () => {
  const data = join(folder.cwd, 'data')
  const { genesis } = testConsortium(1)
  const coordinator = toHex(genesis.members[0].key)
  // A history as an earlier run left it: three finished tasks and three participations.
  const store = new TaskStore(join(data, 'fl'))
  await mkdir(data, { recursive: true })
  await store.open()
  const ids = ['detect-strange-0000000000000001', 'detect-strange-0000000000000002', 'detect-strange-0000000000000003']
  for (const [i, id] of ids.entries()) {
    const view = { ...newTaskView(id, parseTaskOptions({}), coordinator, 1_700_000_000_000 + i), status: 'done' as const, endedAt: 1_700_000_000_100 + i, stopReason: 'rounds' as const }
    await store.taskWrite(view)()
    const reasons = { 'no-consent': 0, revoked: 0, expired: 0, 'other-purpose': 0, 'out-of-scope': 0 }
    await store.putParticipation(i, { task: id, round: 1, status: 'no-data', total: 0, kept: 0, excluded: 0, reasons, loss: null, trainMs: null })
  }
  await store.close()
  await withFile({ http: { port: 0 }, p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] }, dicom: { enabled: false }, fl: { keepTasks: 1, keepParticipation: 2 } })
  const config = await loadConfig({ cwd: folder.cwd, env: {} })
  const peer = createPeer({ ...config, seed: testSeed(1), genesis, verifyWorkers: 1, auth: { ...AUTH_DEFAULTS, scryptN: 2 ** 14 } })({
    logger: createLogger({ silent: true }), clock: Date.now
  })
  try {
    await peer.start()
    assert.equal(peer.federation.tasks().map(t => t.id), ids.slice(2), 'keepTasks 1: only the newest task is kept')
    assert.equal(peer.federation.participation().map(p => p.task), ids.slice(1), 'keepParticipation 2: the newest two')
  } finally {
    await peer.stop()
  }
})

test.run()
