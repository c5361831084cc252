// The consortium's genesis document: founding members, quorum rule and chain parameters. Its
// SHA-256 is the ledger id, which every block and transaction signature commits to.
import { compare, fromHex, toHex } from '../bytes.ts'
import { decode, encode } from '../codec.ts'
import { ED25519_PUBLIC_KEY_BYTES, MAX_MEMBERS } from '../constants.ts'
import { SchemaError } from '../errors.ts'
import { sha256 } from '../crypto/hash.ts'
import { expectArray, expectBytes, expectEnum, expectFields, expectString, expectUint } from '../schema.ts'

/** Quorum rules for membership changes: the share of current members whose approval is needed. */
export const QUORUM_RULES = ['majority', 'two-thirds', 'all'] as const
export type QuorumRule = typeof QUORUM_RULES[number]

/** A founding member: a hospital's display name, Ed25519 public key and libp2p multiaddrs. */
export interface GenesisMember { name: string, key: Uint8Array, addrs: string[] }

/**
 * Assisted recovery of a patient's key (issue 16.3): how many custodian hospitals must co-sign
 * (k; all custodians when there are fewer, and never fewer than two hospitals in all) and how long
 * the waiting period lasts, during which the old key or a custodian may veto.
 */
export interface RecoveryRule { cosigners: number, delayMs: number }

/** The consortium's defaults when its genesis names no rule: k = 2 and three days to veto. */
export const DEFAULT_RECOVERY_RULE: RecoveryRule = { cosigners: 2, delayMs: 3 * 24 * 60 * 60_000 }

/** The genesis document (docs/design.md §3). */
export interface Genesis {
  v: number
  name: string
  created: number
  members: GenesisMember[]
  quorum: QuorumRule
  /** Absent in consortia made before assisted recovery (and omitted from the bytes): the defaults apply. */
  recovery?: RecoveryRule
}

/** The assisted-recovery rule of a consortium. */
export function recoveryRuleOf (genesis: Genesis): RecoveryRule {
  return genesis.recovery ?? DEFAULT_RECOVERY_RULE
}

function parseRecoveryRule (v: unknown): RecoveryRule {
  const f = expectFields(v, 'genesis.recovery', ['cosigners', 'delayMs'])
  const cosigners = expectUint(f.cosigners, 'genesis.recovery.cosigners')
  if (cosigners < 1 || cosigners > MAX_MEMBERS) throw new SchemaError(`genesis.recovery.cosigners: expected 1 to ${MAX_MEMBERS}`)
  return { cosigners, delayMs: expectUint(f.delayMs, 'genesis.recovery.delayMs') }
}

/** Checks a genesis document's shape: at least one member, sorted by key, no repeats. */
export function parseGenesis (v: unknown): Genesis {
  const f = expectFields(v, 'genesis', ['v', 'name', 'created', 'members', 'quorum'], ['recovery'])
  const members = expectArray(f.members, 'genesis.members', MAX_MEMBERS, (x, p) => {
    const m = expectFields(x, p, ['name', 'key', 'addrs'])
    return {
      name: expectString(m.name, `${p}.name`, 128),
      key: expectBytes(m.key, `${p}.key`, ED25519_PUBLIC_KEY_BYTES),
      addrs: expectArray(m.addrs, `${p}.addrs`, 8, (a, q) => expectString(a, q, 256))
    }
  })
  if (members.length === 0) throw new SchemaError('genesis.members: at least one founding member is required')
  for (let i = 1; i < members.length; i++) {
    if (compare(members[i - 1].key, members[i].key) >= 0) {
      throw new SchemaError(`genesis.members[${i}]: members must be sorted by key with no repeats`)
    }
  }
  const genesis = {
    v: expectUint(f.v, 'genesis.v'),
    name: expectString(f.name, 'genesis.name', 128),
    created: expectUint(f.created, 'genesis.created'),
    members,
    quorum: expectEnum(f.quorum, 'genesis.quorum', QUORUM_RULES),
    ...(f.recovery === undefined ? {} : { recovery: parseRecoveryRule(f.recovery) })
  }
  if (genesis.v !== 1) throw new SchemaError(`genesis.v: expected 1, got ${genesis.v}`)
  return genesis
}

/** Builds a genesis document, sorting members by key. */
export function createGenesis (init: { name: string, created: number, members: GenesisMember[], quorum?: QuorumRule, recovery?: RecoveryRule }): Genesis {
  const members = [...init.members].sort((a, b) => compare(a.key, b.key))
  return parseGenesis({ v: 1, name: init.name, created: init.created, members, quorum: init.quorum ?? 'majority', ...(init.recovery === undefined ? {} : { recovery: init.recovery }) })
}

/** Canonical bytes of a genesis document. */
export function encodeGenesis (genesis: Genesis): Uint8Array {
  return encode(genesis)
}

/** Decodes and checks a genesis document. */
export function decodeGenesis (bytes: Uint8Array): Genesis {
  return parseGenesis(decode(bytes))
}

/** The ledger id: SHA-256 of the canonical genesis bytes. */
export function ledgerIdOf (genesis: Genesis): Uint8Array {
  return sha256(encodeGenesis(genesis))
}

/** How many approvals a membership change needs among `memberCount` current members. */
export function quorumSize (rule: QuorumRule, memberCount: number): number {
  switch (rule) {
    case 'majority': return Math.floor(memberCount / 2) + 1
    case 'two-thirds': return Math.ceil((memberCount * 2) / 3)
    case 'all': return memberCount
  }
}

/** A JSON-friendly view of a genesis document (keys in hex), for files and HTTP. */
export function genesisToJson (genesis: Genesis): unknown {
  return { ...genesis, members: genesis.members.map(m => ({ ...m, key: toHex(m.key) })) }
}

/** Reads the JSON view written by `genesisToJson` back into a checked genesis document. */
export function genesisFromJson (v: unknown): Genesis {
  const f = expectFields(v, 'genesis', ['v', 'name', 'created', 'members', 'quorum'], ['recovery'])
  const members = expectArray(f.members, 'genesis.members', MAX_MEMBERS, (x, p) => {
    const m = expectFields(x, p, ['name', 'key', 'addrs'])
    const hex = expectString(m.key, `${p}.key`, 64, 64)
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new SchemaError(`${p}.key: expected 64 lower-case hex digits`)
    return { ...m, key: fromHex(hex) }
  })
  return parseGenesis({ ...f, members })
}
