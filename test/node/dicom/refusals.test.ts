// Who may associate (issue 13): the calling AE title and the address both come from config, and
// anyone else gets A-ASSOCIATE-RJ (permanent, service user, calling AE title not recognized).
// Linux routes all of 127/8 to loopback, so 127.0.0.2 and 127.0.0.3 stand in for other hosts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { associateRq, dcmtk, rawClient } from '../../helpers/imaging/dicom.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

const CALLING_AE_NOT_RECOGNIZED = [0x03, 0, 0, 0, 0, 4, 0, 1, 1, 3]

async function answer (port: number, calling: string, from?: string): Promise<number[]> {
  const c = await rawClient(port, from)
  c.socket.write(associateRq('MEDICHAIN', calling))
  const first = await c.received(1)
  const got = first[0] === 0x03 ? await c.received(10) : first
  c.socket.destroy()
  return got[0] === 0x03 ? [...got.subarray(0, 10)] : [got[0]]
}

test('only the configured calling AE titles and addresses associate', async () => {
  hospitals = await startHospitals(1, { dicom: { allowed: [{ aeTitle: 'MODALITY1', address: '127.0.0.1' }, { address: '127.0.0.2' }] } })
  const port = hospitals[0].peer.dicom?.address()?.port ?? 0

  assert.equal(await answer(port, 'STRANGER'), CALLING_AE_NOT_RECOGNIZED, 'unknown AE title from a known address')
  assert.equal(await answer(port, 'MODALITY1', '127.0.0.3'), CALLING_AE_NOT_RECOGNIZED, 'known AE title from an unknown address')
  assert.equal(await answer(port, 'MODALITY1'), [0x02], 'the configured AE title from its address is accepted')
  assert.equal(await answer(port, 'ANYONE', '127.0.0.2'), [0x02], 'any AE title from an address listed without one')

  const refused = await dcmtk('echoscu', ['-aet', 'STRANGER', '-aec', 'MEDICHAIN', '127.0.0.1', String(port)])
  assert.is.not(refused.code, 0, 'echoscu as an unknown AE fails')
  const ok = await dcmtk('echoscu', ['-aet', 'MODALITY1', '-aec', 'MEDICHAIN', '127.0.0.1', String(port)])
  assert.is(ok.code, 0, ok.stderr)
})

test('the defaults admit any AE title from 127.0.0.1 and no other address', async () => {
  hospitals = await startHospitals(1, { dicom: {} })
  const port = hospitals[0].peer.dicom?.address()?.port ?? 0
  assert.equal(await answer(port, 'WHOEVER'), [0x02])
  assert.equal(await answer(port, 'WHOEVER', '127.0.0.2'), CALLING_AE_NOT_RECOGNIZED)
})

test.run()
