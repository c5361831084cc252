// The admin's Node status page of a peer whose disk is full (a real peer on a tmpfs that fills,
// in Debian's Chromium): it still renders, shows `degraded` with STORAGE_FULL, and shows `ok`
// again once space is freed and the peer has recovered by itself.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { rm } from 'node:fs/promises'
import { recordBody } from '../helpers/ledger/fixture.ts'
import { withTimeout } from '../helpers/timeout.ts'
import { mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs.ts'
import type { Tmpfs } from '../helpers/tmpfs.ts'
import { adminOf } from '../e2e/flows.ts'
import { browserAvailable, launch, screenshot, startNetwork } from '../e2e/harness.ts'
import type { Network, TestBrowser } from '../e2e/harness.ts'

/** Room for the test build of the UI, one peer's stores and a recovery. */
const TMPFS_BYTES = 64 * 1024 * 1024
const MAX_WRITES_AFTER_FILL = 64

const why = tmpfsUnavailable()
if (why !== null) console.log(why)
const it = why === null && browserAvailable() ? test : test.skip
let fs: Tmpfs | null = null
let net: Network | undefined
let b: TestBrowser | undefined

test.after(async () => {
  await b?.close()
  for (const h of net?.hospitals ?? []) await h.peer.stop().catch(() => {})
  fs?.unmount()
  if (fs !== null) await rm(fs.path, { recursive: true, force: true })
})

it('the status page of a peer with a full disk says degraded, STORAGE_FULL, then ok after recovery', async () => {
  fs = await mountTmpfs(TMPFS_BYTES)
  net = await startNetwork(1, { dir: fs.path })
  const [A] = net.hospitals
  b = await launch()
  const admin = await adminOf(b, A, 'admin.a')
  const health = admin.getByTestId('health')
  await health.waitFor()
  assert.match(await health.textContent() ?? '', /Status\s*ok/)

  await fs.fill()
  let refused: unknown = null
  for (let i = 0; i < MAX_WRITES_AFTER_FILL && refused === null; i++) {
    await A.peer.ledger.submitOwn('record.create', recordBody(i, i)).catch((err: unknown) => { refused = err })
  }
  assert.is((refused as { code?: string } | null)?.code, 'STORAGE_FULL')
  await admin.getByRole('button', { name: 'Refresh' }).click()
  await admin.getByText(/STORAGE_FULL/).waitFor()
  assert.match(await health.textContent() ?? '', /Status\s*degraded/)
  await screenshot(admin, 'admin-status-degraded')

  const recovered = new Promise<void>(resolve => A.peer.ledger.addEventListener('store:recovered', () => resolve(), { once: true }))
  await fs.free()
  await withTimeout(recovered, 15_000, 'the peer to recover once space is free')
  await admin.getByRole('button', { name: 'Refresh' }).click()
  await admin.getByText(/STORAGE_FULL/).waitFor({ state: 'detached' })
  assert.match(await health.textContent() ?? '', /Status\s*ok/)
})

test.run()
