// The `imaging` block of the config file: absent fields take the defaults (the pixel budget of
// node/imaging/constants.ts, one worker, a queue of four), and every mistyped, out-of-range or
// unknown value is refused with INVALID_CONFIG naming the key; the block reaches the resolved config.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { loadConfig } from '../../../node/config/index.ts'
import { IMAGING_DEFAULTS, parseImagingConfig } from '../../../node/config/imaging.ts'
import { DEFAULT_LIMITS } from '../../../node/imaging/limits.ts'
import { throwsCode } from '../../helpers/assert.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'

const SOURCE = '/data/config.json: imaging'
test.after.each(cleanup)

test('absent fields take the defaults; given ones are kept', () => {
  assert.equal(parseImagingConfig({}, SOURCE), IMAGING_DEFAULTS)
  assert.equal(IMAGING_DEFAULTS, { ...DEFAULT_LIMITS, workers: 1, queue: 4, analysisWorkers: 0, analysisBatch: 1 })
  assert.equal(parseImagingConfig({ maxPixels: 4096 * 4096, maxDecodedBytes: 2 ** 26, workers: 2, queue: 0 }, SOURCE),
    { ...IMAGING_DEFAULTS, maxPixels: 4096 * 4096, maxDecodedBytes: 2 ** 26, workers: 2, queue: 0 })
})

test('every bad value is refused with INVALID_CONFIG naming the key', () => {
  const cases: Array<[unknown, string]> = [
    [null, 'imaging: expected an object'],
    [[], 'imaging: expected an object'],
    [{ maxSide: 0 }, 'maxSide'],
    [{ maxSide: 65536 }, 'maxSide'],
    [{ maxPixels: 1.5 }, 'maxPixels'],
    [{ maxDecodedBytes: '128MiB' }, 'maxDecodedBytes'],
    [{ maxDecodedBytes: 1023 }, 'maxDecodedBytes'],
    [{ workers: 0 }, 'workers'],
    [{ queue: -1 }, 'queue'],
    [{ pixelBudget: 1 }, 'pixelBudget: unknown setting'],
    [{ toString: 1 }, 'toString: unknown setting'],
    [JSON.parse('{"__proto__": 1}'), '__proto__: unknown setting']
  ]
  for (const [value, where] of cases) {
    const err = throwsCode(() => parseImagingConfig(value, SOURCE), 'INVALID_CONFIG') as Error
    assert.ok(err.message.includes(where), `${JSON.stringify(value)}: ${err.message}`)
  }
})

test('the config file sets the block; without it the defaults apply', async () => {
  const data = await tempDir('medichain-config-imaging-')
  assert.equal((await loadConfig({ cwd: data, flags: { data } })).imaging, IMAGING_DEFAULTS)
  await writeFile(join(data, 'config.json'), JSON.stringify({ imaging: { maxDecodedBytes: 2 ** 25, workers: 2 } }))
  assert.equal((await loadConfig({ cwd: data, flags: { data } })).imaging, { ...IMAGING_DEFAULTS, maxDecodedBytes: 2 ** 25, workers: 2 })
})

test.run()
