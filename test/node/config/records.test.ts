// The `records` block of the config file: absent fields take the defaults, and every mistyped,
// out-of-range or unknown value (names inherited by every object included) is refused with
// INVALID_CONFIG naming the key.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseRecordsConfig, RECORDS_DEFAULTS } from '../../../node/config/records.ts'
import { throwsCode } from '../../helpers/assert.ts'

const SOURCE = '/data/config.json: records'

test('absent fields take the defaults; given ones are kept', () => {
  assert.equal(parseRecordsConfig({}, SOURCE), RECORDS_DEFAULTS)
  assert.equal(parseRecordsConfig({ maxUploadBytes: 2048, replicas: 0, custodianRead: false }, SOURCE),
    { ...RECORDS_DEFAULTS, maxUploadBytes: 2048, replicas: 0, custodianRead: false })
  assert.equal(parseRecordsConfig({ maxUploadBytes: 16 * 1024 ** 3, replicas: 16, breakGlass: false }, SOURCE),
    { ...RECORDS_DEFAULTS, maxUploadBytes: 16 * 1024 ** 3, replicas: 16, breakGlass: false })
  assert.equal(parseRecordsConfig({ emergencyWindowMs: 600_000, emergenciesPerClinician: 1 }, SOURCE),
    { ...RECORDS_DEFAULTS, emergencyWindowMs: 600_000, emergenciesPerClinician: 1 })
})

test('every bad value is refused with INVALID_CONFIG naming the key', () => {
  const cases: Array<[unknown, string]> = [
    [null, 'records: expected an object'],
    [[], 'records: expected an object'],
    ['big', 'records: expected an object'],
    [{ maxUploadBytes: 1023 }, 'maxUploadBytes'],
    [{ maxUploadBytes: 16 * 1024 ** 3 + 1 }, 'maxUploadBytes'],
    [{ maxUploadBytes: 4096.5 }, 'maxUploadBytes'],
    [{ maxUploadBytes: '4096' }, 'maxUploadBytes'],
    [{ replicas: -1 }, 'replicas'],
    [{ replicas: 17 }, 'replicas'],
    [{ custodianRead: 'yes' }, 'custodianRead'],
    [{ breakGlass: 1 }, 'breakGlass'],
    [{ emergencyWindowMs: 999 }, 'emergencyWindowMs'],
    [{ emergencyWindowMs: 24 * 3_600_000 + 1 }, 'emergencyWindowMs'],
    [{ emergencyLimitWindowMs: 0 }, 'emergencyLimitWindowMs'],
    [{ emergenciesPerClinician: 0 }, 'emergenciesPerClinician'],
    [{ emergenciesPerHospital: 1.5 }, 'emergenciesPerHospital'],
    [{ replica: 2 }, 'replica: unknown setting'],
    [{ toString: 1 }, 'toString: unknown setting'],
    [JSON.parse('{"__proto__": 1}'), '__proto__: unknown setting']
  ]
  for (const [value, where] of cases) {
    const err = throwsCode(() => parseRecordsConfig(value, SOURCE), 'INVALID_CONFIG') as Error
    assert.ok(err.message.includes(where), `${JSON.stringify(value)}: ${err.message}`)
  }
})

test.run()
