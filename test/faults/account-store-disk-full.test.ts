// The account store on a disk that fills: the write that does not fit is STORAGE_FULL, and the
// writes acknowledged after space is freed survive a reopen. (LevelDB drops every record after a
// torn one when it opens, so the store must reopen after a failed write before it writes again.)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { AccountStore } from '../../node/auth/account-store.ts'
import type { AccountRecord } from '../../node/auth/types.ts'
import { cleanup } from '../helpers/ledger-fixture.ts'
import { mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs.ts'
import type { Tmpfs } from '../helpers/tmpfs.ts'

/** Room for the store and for the reopen (ledger/constants.ts asks for 10 MiB free). */
const TMPFS_BYTES = 16 * 1024 * 1024
const MAX_WRITES_AFTER_FILL = 256

let fs: Tmpfs | null = null
const stores: AccountStore[] = []
test.after.each(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {})
  fs?.unmount()
  fs = null
  await cleanup()
})

/** An account record of `n` with a vault large enough to need fresh pages. */
function account (n: number): AccountRecord {
  return {
    username: `user-${n}`,
    role: 'patient',
    status: 'active',
    passwordHash: '$scrypt$ln=14,r=8,p=1$c2FsdA$aGFzaA',
    signPub: n.toString(16).padStart(64, '0'),
    boxPub: n.toString(16).padStart(64, '1'),
    pop: '00'.repeat(64),
    hospital: 'ab'.repeat(32),
    vault: { sealed: 'x'.repeat(6000) },
    createdAt: 1_700_000_000_000,
    failedSignIns: 0,
    lockedUntil: 0,
    registeredTx: null
  }
}

test('a full disk: STORAGE_FULL, then writes acknowledged after freeing space survive a reopen', async () => {
  const why = tmpfsUnavailable()
  if (why !== null) { console.log(why); return }
  fs = await mountTmpfs(TMPFS_BYTES)
  const path = join(fs.path, 'accounts')
  const store = new AccountStore(path)
  stores.push(store)
  await store.open()
  const acked: string[] = []
  let n = 0
  for (; n < 5; n++) { await store.write(account(n), undefined); acked.push(`user-${n}`) }

  await fs.fill()
  let refused: unknown = null
  for (let i = 0; i < MAX_WRITES_AFTER_FILL && refused === null; i++, n++) {
    try {
      await store.write(account(n), undefined)
      acked.push(`user-${n}`)
    } catch (err) {
      refused = err
    }
  }
  assert.is((refused as { code?: string } | null)?.code, 'STORAGE_FULL')
  n++
  await fs.free()
  for (let i = 0; i < 20; i++, n++) { await store.write(account(n), undefined); acked.push(`user-${n}`) }
  await store.close()
  stores.splice(0)

  const again = new AccountStore(path)
  stores.push(again)
  await again.open()
  for (const username of acked) assert.ok(await again.get(username), `${username}, acknowledged, is there after a reopen`)
})

test.run()
