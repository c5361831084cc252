// The bodies of the secure-aggregation step envelopes (node/fl/transport/messages.ts SecAggEnvelope) as
// dag-cbor, and their shape checks: a body that does not parse is refused with BAD_SCHEMA before
// any of it reaches the protocol's state machines.
import { decode, encode } from '../../../protocol/codec.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../../../protocol/constants.ts'
import { SchemaError } from '../../../protocol/errors.ts'
import { expectArray, expectBytes, expectFields, expectFinite, expectString, expectUint } from '../../../protocol/schema.ts'
import { MAX_PARTIES, X25519_KEY_BYTES } from './constants.ts'
import type { AdvertiseKeys, MaskedInput, ShareKeys, Unmask } from './messages.ts'

/** The masked step: the masked input and, in clear, the local loss and training time for the round record. */
export interface MaskedBody { input: MaskedInput, loss: number, trainMs: number }

/** What each step's body holds. */
export interface StepBodies {
  keys: AdvertiseKeys
  shares: ShareKeys
  masked: MaskedBody
  unmask: Unmask
  'key-list': { keys: AdvertiseKeys[] }
  'share-list': { shares: ShareKeys[] }
  survivors: { survivors: Uint8Array[] }
}

const KEY = ED25519_PUBLIC_KEY_BYTES
const SIG = ED25519_SIGNATURE_BYTES
/** A masked input is at most the FL inline bound (1 MiB). */
const MASKED_MAX = 1024 * 1024

function head (f: Record<string, unknown>, p: string): { task: string, round: number, hospital: Uint8Array, sig: Uint8Array } {
  return { task: expectString(f.task, `${p}.task`, 64), round: expectUint(f.round, `${p}.round`), hospital: expectBytes(f.hospital, `${p}.hospital`, KEY), sig: expectBytes(f.sig, `${p}.sig`, SIG) }
}

function keys (v: unknown, p: string): AdvertiseKeys {
  const f = expectFields(v, p, ['kind', 'task', 'round', 'hospital', 'maskKey', 'shareKey', 'samples', 'sig'])
  if (f.kind !== 'secagg-keys') throw new SchemaError(`${p}.kind: expected secagg-keys`)
  const samples = expectUint(f.samples, `${p}.samples`, 1e9)
  if (samples === 0) throw new SchemaError(`${p}.samples: must be positive`)
  return { kind: 'secagg-keys', ...head(f, p), maskKey: expectBytes(f.maskKey, `${p}.maskKey`, X25519_KEY_BYTES), shareKey: expectBytes(f.shareKey, `${p}.shareKey`, X25519_KEY_BYTES), samples }
}

function shares (v: unknown, p: string): ShareKeys {
  const f = expectFields(v, p, ['kind', 'task', 'round', 'hospital', 'shares', 'sig'])
  if (f.kind !== 'secagg-shares') throw new SchemaError(`${p}.kind: expected secagg-shares`)
  return {
    kind: 'secagg-shares',
    ...head(f, p),
    shares: expectArray(f.shares, `${p}.shares`, MAX_PARTIES, (x, q) => {
      const s = expectFields(x, q, ['to', 'sealed'])
      return { to: expectBytes(s.to, `${q}.to`, KEY), sealed: expectBytes(s.sealed, `${q}.sealed`, undefined, 1024) }
    })
  }
}

function shareList (v: unknown, p: string): Unmask['seedShares'] {
  return expectArray(v, p, MAX_PARTIES, (x, q) => {
    const s = expectFields(x, q, ['of', 'x', 'y'])
    const xc = expectUint(s.x, `${q}.x`, MAX_PARTIES)
    if (xc === 0) throw new SchemaError(`${q}.x: must be 1..${MAX_PARTIES}`)
    return { of: expectBytes(s.of, `${q}.of`, KEY), x: xc, y: expectBytes(s.y, `${q}.y`, undefined, 64) }
  })
}

function unmask (v: unknown, p: string): Unmask {
  const f = expectFields(v, p, ['kind', 'task', 'round', 'hospital', 'seedShares', 'keyShares', 'sig'])
  if (f.kind !== 'secagg-unmask') throw new SchemaError(`${p}.kind: expected secagg-unmask`)
  return { kind: 'secagg-unmask', ...head(f, p), seedShares: shareList(f.seedShares, `${p}.seedShares`), keyShares: shareList(f.keyShares, `${p}.keyShares`) }
}

function masked (v: unknown, p: string): MaskedBody {
  const f = expectFields(v, p, ['input', 'loss', 'trainMs'])
  const i = expectFields(f.input, `${p}.input`, ['kind', 'task', 'round', 'hospital', 'masked', 'sig'])
  if (i.kind !== 'secagg-masked') throw new SchemaError(`${p}.input.kind: expected secagg-masked`)
  const loss = expectFinite(f.loss, `${p}.loss`)
  if (loss < 0) throw new SchemaError(`${p}.loss: must be ≥ 0`)
  return { input: { kind: 'secagg-masked', ...head(i, `${p}.input`), masked: expectBytes(i.masked, `${p}.input.masked`, undefined, MASKED_MAX) }, loss, trainMs: expectUint(f.trainMs, `${p}.trainMs`) }
}

const PARSERS: { [S in keyof StepBodies]: (v: unknown) => StepBodies[S] } = {
  keys: v => keys(v, 'secagg'),
  shares: v => shares(v, 'secagg'),
  masked: v => masked(v, 'secagg'),
  unmask: v => unmask(v, 'secagg'),
  'key-list': v => ({ keys: expectArray(expectFields(v, 'secagg', ['keys']).keys, 'secagg.keys', MAX_PARTIES, keys) }),
  'share-list': v => ({ shares: expectArray(expectFields(v, 'secagg', ['shares']).shares, 'secagg.shares', MAX_PARTIES, shares) }),
  survivors: v => ({ survivors: expectArray(expectFields(v, 'secagg', ['survivors']).survivors, 'secagg.survivors', MAX_PARTIES, (x, q) => expectBytes(x, q, KEY)) })
}

/** dag-cbor bytes of a step's body. */
export function encodeStep<S extends keyof StepBodies> (_step: S, body: StepBodies[S]): Uint8Array {
  return encode(body)
}

/** A step's body from its bytes; throws BAD_ENCODING, NON_CANONICAL or BAD_SCHEMA. */
export function decodeStep<S extends keyof StepBodies> (step: S, bytes: Uint8Array): StepBodies[S] {
  return PARSERS[step](decode(bytes))
}
