// The status exchange over `/medichain/status/1.0.0`: a member asks, the other answers with its
// clock and the asker's own chain head as it holds it. One round trip gives both what a rebuilt
// peer must learn before it writes (its own head as the consortium holds it) and a clock sample
// (NTP's offset estimate, RFC 5905 §8, from one exchange). Members only, like sync.
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import type { Clock, Ledger } from '../../ledger/types.ts'
import { equals } from '../../protocol/bytes.ts'
import { decode, encode } from '../../protocol/codec.ts'
import { HASH_BYTES } from '../../protocol/constants.ts'
import { SchemaError } from '../../protocol/errors.ts'
import { expectBytes, expectEnum, expectFields, expectUint, nullable } from '../../protocol/schema.ts'
import { STATUS_MAX_FRAME_BYTES, STATUS_PROTOCOL, STATUS_TIMEOUT_MS } from './constants.ts'
import { codeOf, NotMemberPeerError, StatusError } from './errors.ts'
import { isMemberPeer } from './gater.ts'
import { memberKeyOfPeer } from './identity.ts'

/** The asker's chain as the answering member holds it. */
export interface HeldHead { height: number, hash: Uint8Array }

/** What one exchange with a member yields. */
export interface StatusSample {
  /** PeerId string of the member. */
  peer: string
  /** The member's clock when it answered (ms since the epoch). */
  remoteTime: number
  /** The local clock when the question left and when the answer arrived. */
  sentAt: number
  receivedAt: number
  /** The asker's own chain as the member holds it; null when it holds none of it. */
  head: HeldHead | null
}

/** Estimated offset of the member's clock from ours (ms; positive: the member is ahead). */
export function offsetOf (s: StatusSample): number {
  return s.remoteTime - (s.sentAt + s.receivedAt) / 2
}

/** What the status service needs. */
export interface StatusComponents {
  libp2p: Libp2p
  ledger: Pick<Ledger, 'heads' | 'isMember'>
  logger: Logger
  clock: Clock
}

/** The status service: serves the protocol and asks members. */
export interface Status {
  start(): Promise<void>
  stop(): Promise<void>
  /** One exchange with `peer`; rejects with StatusError or NotMemberPeerError. */
  ask(peer: PeerId): Promise<StatusSample>
}

/** The question: a fixed frame, so the answer is the only variable part. */
const QUESTION = encode({ t: 'status?' })

function encodeAnswer (time: number, head: HeldHead | null): Uint8Array {
  return encode({ t: 'status', time, head })
}

function decodeAnswer (bytes: Uint8Array): { time: number, head: HeldHead | null } {
  const f = expectFields(decode(bytes), 'status', ['t', 'time', 'head'])
  expectEnum(f.t, 'status.t', ['status'] as const)
  const head = nullable(f.head, 'status.head', (v, p) => {
    const h = expectFields(v, p, ['height', 'hash'])
    return { height: expectUint(h.height, `${p}.height`), hash: expectBytes(h.hash, `${p}.hash`, HASH_BYTES) }
  })
  return { time: expectUint(f.time, 'status.time'), head }
}

/** Creates the status service; see the file comment. */
export function createStatus (init: { timeoutMs?: number } = {}) {
  return (components: StatusComponents): Status => {
    const { libp2p, ledger, clock } = components
    const log = components.logger.child({ module: 'p2p:status' })
    const timeoutMs = init.timeoutMs ?? STATUS_TIMEOUT_MS
    let controller = new AbortController()
    let running = false
    const io = (): AbortSignal => AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)])
    const frames = (stream: Stream) => lpStream(stream, { maxDataLength: STATUS_MAX_FRAME_BYTES, maxBufferSize: STATUS_MAX_FRAME_BYTES + 16 })

    const serve = async (stream: Stream, connection: Connection): Promise<void> => {
      const peer = connection.remotePeer
      const asker = memberKeyOfPeer(peer)
      if (asker === undefined || !isMemberPeer(ledger, peer)) {
        stream.abort(new NotMemberPeerError('status is for members only'))
        return
      }
      try {
        const lp = frames(stream)
        const question = await lp.read({ signal: io() })
        if (!equals(question.subarray(), QUESTION)) throw new SchemaError('status: unexpected question')
        const held = ledger.heads().find(h => equals(h.author, asker))
        await lp.write(encodeAnswer(clock(), held === undefined ? null : { height: held.height, hash: held.hash }), { signal: io() })
        await stream.close({ signal: io() })
      } catch (err) {
        if (running) log.debug({ peer: peer.toString(), code: codeOf(err) }, 'status stream from a member failed')
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      }
    }

    const ask = async (peerId: PeerId): Promise<StatusSample> => {
      if (!running) throw new StatusError('the status service is not running')
      if (!isMemberPeer(ledger, peerId)) throw new NotMemberPeerError('can only ask an active member')
      let stream: Stream
      try {
        stream = await libp2p.dialProtocol(peerId, STATUS_PROTOCOL, { signal: io() })
      } catch (err) {
        throw new StatusError(`could not open a status stream: ${codeOf(err)}`, { cause: err })
      }
      try {
        const lp = frames(stream)
        const sentAt = clock()
        await lp.write(QUESTION, { signal: io() })
        const answer = decodeAnswer((await lp.read({ signal: io() })).subarray())
        const receivedAt = clock()
        await stream.close({ signal: io() })
        return { peer: peerId.toString(), remoteTime: answer.time, sentAt, receivedAt, head: answer.head }
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error(String(err)))
        throw new StatusError(`status exchange with a member failed: ${codeOf(err)}`, { cause: err })
      }
    }

    return {
      async start () {
        if (running) return
        running = true
        controller = new AbortController()
        await libp2p.handle(STATUS_PROTOCOL, serve, { maxInboundStreams: 4, maxOutboundStreams: 4 })
      },
      async stop () {
        if (!running) return
        running = false
        controller.abort()
        await libp2p.unhandle(STATUS_PROTOCOL).catch(() => undefined)
      },
      ask
    }
  }
}
