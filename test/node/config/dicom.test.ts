// The `dicom` block of the config file and `--dicom-port`: defaults (127.0.0.1:11112, AE title
// MEDICHAIN, any calling AE from 127.0.0.1), every bad value refused with INVALID_CONFIG naming the
// key, and the flag overriding the file's port.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DICOM_DEFAULTS, moveDestination, parseDicomConfig } from '../../../node/config/dicom.ts'
import { configFromFlags, mergeConfig, parseConfigFile } from '../../../node/config/index.ts'
import { admits } from '../../../node/dicom/network/server.ts'
import { throwsCode } from '../../helpers/assert.ts'

const SOURCE = '/data/config.json: dicom'

test('defaults: on, 127.0.0.1:11112, AE title MEDICHAIN, any AE from 127.0.0.1 only', () => {
  const config = mergeConfig([], { cwd: '/tmp' })
  assert.equal(config.dicom, { enabled: true, host: '127.0.0.1', port: 11112, aeTitle: 'MEDICHAIN', allowed: [{ address: '127.0.0.1' }], maxPduBytes: 128 * 1024, acknowledge: 'custody' })
  assert.equal(parseDicomConfig({}, SOURCE), DICOM_DEFAULTS)
  assert.ok(admits(config.dicom.allowed, 'ANY-AE', '127.0.0.1'))
  assert.ok(admits(config.dicom.allowed, 'ANY-AE', '::ffff:127.0.0.1'), 'IPv4-mapped IPv6 is the same address')
  assert.not.ok(admits(config.dicom.allowed, 'ANY-AE', '10.0.0.5'))
})

test('given fields are kept; an AE title in `allowed` admits only that title from that address', () => {
  const d = parseDicomConfig({ port: 104, host: '0.0.0.0', aeTitle: 'HOSP_A', enabled: false, maxPduBytes: 65536, acknowledge: 'ledger', allowed: [{ aeTitle: 'CT01', address: '10.1.2.3' }, { address: '::1' }] }, SOURCE)
  assert.equal(d, { enabled: false, host: '0.0.0.0', port: 104, aeTitle: 'HOSP_A', maxPduBytes: 65536, acknowledge: 'ledger', allowed: [{ aeTitle: 'CT01', address: '10.1.2.3' }, { address: '::1' }] })
  assert.ok(admits(d.allowed, 'CT01', '10.1.2.3'))
  assert.not.ok(admits(d.allowed, 'CT02', '10.1.2.3'))
  assert.not.ok(admits(d.allowed, 'CT01', '10.1.2.4'))
  assert.ok(admits(d.allowed, 'WHOEVER', '::1'))
})

test('an allowed AE with a port is a C-MOVE destination; without one, or another title, is none', () => {
  const d = parseDicomConfig({ allowed: [{ aeTitle: 'PACS', address: '10.0.2.5', port: 4242 }, { aeTitle: 'CT01', address: '10.1.2.3' }] }, SOURCE)
  assert.equal(d.allowed[0], { aeTitle: 'PACS', address: '10.0.2.5', port: 4242 })
  assert.equal(moveDestination(d.allowed, 'PACS'), { aeTitle: 'PACS', host: '10.0.2.5', port: 4242 })
  assert.is(moveDestination(d.allowed, 'CT01'), undefined, 'no port: it may call, not be moved to')
  assert.is(moveDestination(d.allowed, 'NOWHERE'), undefined)
  assert.ok(admits(d.allowed, 'PACS', '10.0.2.5'), 'a destination may also call')
})

test('--dicom-port overrides the file; port 0 is accepted', () => {
  const file = parseConfigFile({ dicom: { port: 4242, aeTitle: 'FROMFILE' } }, '/data/config.json')
  const merged = mergeConfig([file, configFromFlags({ 'dicom-port': '0' }, '/tmp')], { cwd: '/tmp' })
  assert.is(merged.dicom.port, 0)
  assert.is(merged.dicom.aeTitle, 'FROMFILE')
  throwsCode(() => configFromFlags({ 'dicom-port': '70000' }, '/tmp'), 'INVALID_CONFIG')
})

test('every bad value is refused with INVALID_CONFIG naming the key', () => {
  const cases: Array<[unknown, string]> = [
    [null, 'dicom: expected an object'],
    [[], 'dicom: expected an object'],
    [{ port: 65536 }, 'port'],
    [{ port: '11112' }, 'port'],
    [{ host: 'a b' }, 'host'],
    [{ aeTitle: '' }, 'aeTitle'],
    [{ aeTitle: 'SEVENTEEN_CHARS_X' }, 'aeTitle'],
    [{ aeTitle: 'BACK\\SLASH' }, 'aeTitle'],
    [{ aeTitle: '    ' }, 'aeTitle'],
    [{ enabled: 'yes' }, 'enabled'],
    [{ maxPduBytes: 100 }, 'maxPduBytes'],
    [{ acknowledge: 'soon' }, 'acknowledge'],
    [{ allowed: {} }, 'allowed'],
    [{ allowed: [{ address: 'localhost' }] }, 'allowed[0].address'],
    [{ allowed: [{ address: '127.0.0.1', aeTitle: 7 }] }, 'allowed[0].aeTitle'],
    [{ allowed: [{ address: '127.0.0.1', ae: 'X' }] }, 'allowed[0].ae: unknown setting'],
    [{ allowed: [{ address: '127.0.0.1', port: 4242 }] }, 'allowed[0].port: a C-MOVE destination needs its aeTitle'],
    [{ allowed: [{ address: '127.0.0.1', aeTitle: 'PACS', port: 0 }] }, 'allowed[0].port'],
    [{ allowed: [{ address: '127.0.0.1', aeTitle: 'PACS', port: 65536 }] }, 'allowed[0].port'],
    [{ allowed: [{ address: '127.0.0.1', aeTitle: 'PACS', port: '4242' }] }, 'allowed[0].port'],
    [{ aetitle: 'X' }, 'aetitle: unknown setting'],
    [JSON.parse('{"__proto__": 1}'), '__proto__: unknown setting']
  ]
  for (const [value, where] of cases) {
    const err = throwsCode(() => parseDicomConfig(value, SOURCE), 'INVALID_CONFIG') as Error
    assert.ok(err.message.includes(where), `${JSON.stringify(value)}: ${err.message}`)
  }
})

test.run()
