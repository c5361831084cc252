// The peer's own level stores (accounts, labels, FL history) on a disk that fills: the write that does not fit
// is STORAGE_FULL, and the writes acknowledged after space is freed survive a reopen. (LevelDB
// drops every record after a torn one when it opens, so a store must reopen after a failed write
// before it writes again: node/durable/level.ts.)
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash, randomBytes } from 'node:crypto'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as digestOf } from 'multiformats/hashes/digest'
import { join } from 'node:path'
import { AccountStore } from '../../node/auth/accounts/store.ts'
import type { AccountRecord } from '../../node/auth/types.ts'
import { labelKey, LabelStore } from '../../node/labels/store.ts'
import { TaskStore } from '../../node/fl/task/store.ts'
import type { ParticipationRecord } from '../../node/fl/round/participant.ts'
import type { Label } from '../../node/labels/store.ts'
import { cleanup, testSeed } from '../helpers/ledger/fixture.ts'
import { mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs.ts'
import type { Tmpfs } from '../helpers/tmpfs.ts'

/** Room for a store and for its reopen (ledger/constants.ts asks for 10 MiB free). */
const TMPFS_BYTES = 16 * 1024 * 1024
const MAX_WRITES_AFTER_FILL = 256

let fs: Tmpfs | null = null
const closers: Array<() => Promise<void>> = []
test.after.each(async () => {
  for (const close of closers.splice(0)) await close().catch(() => {})
  fs?.unmount()
  fs = null
  await cleanup()
})

/** One store as the test drives it: write record `n`, read it back, close. */
interface Driven { write: (n: number) => Promise<void>, has: (n: number) => Promise<boolean>, close: () => Promise<void> }

/**
 * Writes to a store until the full disk refuses one (STORAGE_FULL), frees the disk, writes 20 more,
 * then opens the folder again and checks that every acknowledged write is there.
 */
async function fillFreeReopen (open: (path: string) => Promise<Driven>): Promise<void> {
  fs = await mountTmpfs(TMPFS_BYTES)
  const path = join(fs.path, 'store')
  const store = await open(path)
  closers.push(store.close)
  const acked: number[] = []
  let n = 0
  for (; n < 5; n++) { await store.write(n); acked.push(n) }
  await fs.fill()
  let refused: unknown = null
  for (let i = 0; i < MAX_WRITES_AFTER_FILL && refused === null; i++, n++) {
    try {
      await store.write(n)
      acked.push(n)
    } catch (err) {
      refused = err
    }
  }
  assert.is((refused as { code?: string } | null)?.code, 'STORAGE_FULL')
  await fs.free()
  for (let i = 0; i < 20; i++, n++) { await store.write(n); acked.push(n) }
  await store.close()
  closers.splice(0)
  const again = await open(path)
  closers.push(again.close)
  for (const m of acked) assert.ok(await again.has(m), `record ${m}, acknowledged, is there after a reopen`)
}

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
    vault: { sealed: randomBytes(4500).toString('base64') },
    createdAt: 1_700_000_000_000,
    failedSignIns: 0,
    lockedUntil: 0,
    registeredTx: null
  }
}

/** A CIDv1 (raw, sha-256) of `n`, as image CIDs are. */
function cidOf (n: number): string {
  return CID.create(1, raw.code, digestOf(0x12, createHash('sha256').update(String(n)).digest())).toString()
}

/** A label of `n` whose mask does not compress, so each needs fresh pages. */
function label (n: number): Label {
  return {
    cid: cidOf(n), patient: new Uint8Array(32).fill(0xab), record: null, use: 'train', width: 64, height: 64, lesionPixels: 80,
    author: new Uint8Array(32).fill(7), time: 1_700_000_000_000, mask: new Uint8Array(randomBytes(64 * 64))
  }
}

test('the account store on a full disk: STORAGE_FULL, and nothing acknowledged is lost', async () => {
  const why = tmpfsUnavailable()
  if (why !== null) { console.log(why); return }
  await fillFreeReopen(async (path) => {
    const store = new AccountStore(path)
    await store.open()
    return {
      write: async (n) => await store.write(account(n), undefined),
      has: async (n) => await store.get(`user-${n}`) !== undefined,
      close: async () => await store.close()
    }
  })
})

test('the label store on a full disk: STORAGE_FULL, and nothing acknowledged is lost', async () => {
  const why = tmpfsUnavailable()
  if (why !== null) { console.log(why); return }
  await fillFreeReopen(async (path) => {
    const store = new LabelStore(path, labelKey(testSeed(1)))
    await store.open()
    return {
      write: async (n) => await store.put(label(n)),
      has: async (n) => await store.get(cidOf(n)) !== undefined,
      close: async () => await store.close()
    }
  })
})

/** A participation record of `n` (small: a filled page refuses it within a few dozen writes). */
function participation (n: number): ParticipationRecord {
  return {
    task: `task-${n}`, round: n, status: 'failed', total: n, kept: 0, excluded: 0,
    reasons: { 'no-consent': 0, revoked: 0, expired: 0, 'other-purpose': 0, 'out-of-scope': 0 },
    loss: null, trainMs: null, code: 'STORAGE_FULL'
  }
}

test('the FL history on a full disk: STORAGE_FULL, and nothing acknowledged is lost', async () => {
  const why = tmpfsUnavailable()
  if (why !== null) { console.log(why); return }
  await fillFreeReopen(async (path) => {
    const store = new TaskStore(path)
    await store.open()
    return {
      write: async (n) => await store.putParticipation(n, participation(n)),
      has: async (n) => (await store.load()).participation.some(p => p.seq === n),
      close: async () => await store.close()
    }
  })
})

test.run()
