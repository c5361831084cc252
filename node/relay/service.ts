// The stream protocol `/medichain/sign-in/1.0.0` between members (issue 18): it serves the home
// side's answers to members, and asks a member as a visited hospital. One request and one answer
// per stream, length-prefixed, with a deadline each way; members only, like sync and status.
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import type { Ledger } from '../../ledger/types.ts'
import { codeOf, NotMemberPeerError } from '../p2p/errors.ts'
import { isMemberPeer } from '../p2p/gater.ts'
import { memberKeyOfPeer, peerIdFromMemberKey } from '../p2p/identity.ts'
import { HOME_UNREACHABLE_RETRY_S, RELAY_MAX_FRAME_BYTES, RELAY_PROTOCOL, RELAY_TIMEOUT_MS } from './constants.ts'
import { HomeUnreachableError, RelayProtocolError } from './errors.ts'
import { decodeAnswer, decodeRequest, encodeAnswer, encodeRequest } from './messages.ts'
import type { RelayAnswer, RelayRequest } from './messages.ts'

/** What the protocol service uses. */
export interface RelayServiceComponents {
  /** Read at start: the P2P layer's libp2p node exists only once it has started. */
  readonly libp2p: Libp2p
  ledger: Pick<Ledger, 'isMember'>
  /** Answers one request of member `from` (the home side's questions, and revokes from a home). */
  answer: (req: RelayRequest, from: Uint8Array) => Promise<RelayAnswer>
  logger: Logger
}

/** The protocol service. */
export interface RelayService {
  start(): Promise<void>
  stop(): Promise<void>
  /**
   * Sends one request to member `home` and returns its answer. Throws HOME_UNREACHABLE when the
   * member cannot be dialled or does not answer in time, RELAY_PROTOCOL when it answers garbage.
   */
  ask(home: Uint8Array, req: RelayRequest): Promise<RelayAnswer>
}

/** Creates the protocol service; see the file comment. */
export function createRelayService (init: { timeoutMs?: number } = {}) {
  return (components: RelayServiceComponents): RelayService => {
    const log = components.logger
    const timeoutMs = init.timeoutMs ?? RELAY_TIMEOUT_MS
    let controller = new AbortController()
    let running = false
    const io = (): AbortSignal => AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)])
    const frames = (stream: Stream) => lpStream(stream, { maxDataLength: RELAY_MAX_FRAME_BYTES, maxBufferSize: RELAY_MAX_FRAME_BYTES + 16 })

    const serve = async (stream: Stream, connection: Connection): Promise<void> => {
      const peer = connection.remotePeer
      const via = memberKeyOfPeer(peer)
      if (via === undefined || !isMemberPeer(components.ledger, peer)) {
        stream.abort(new NotMemberPeerError('relayed sign-in is for members only'))
        return
      }
      try {
        const lp = frames(stream)
        const req = decodeRequest((await lp.read({ signal: io() })).subarray())
        const answer = await components.answer(req, via)
        await lp.write(encodeAnswer(answer), { signal: io() })
        await stream.close({ signal: io() })
      } catch (err) {
        // Codes only: a request names nobody in the clear, but a log line never carries it anyway.
        if (running) log.warn({ peer: peer.toString(), code: codeOf(err) }, 'relayed sign-in stream from a member failed')
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      }
    }

    const ask = async (home: Uint8Array, req: RelayRequest): Promise<RelayAnswer> => {
      if (!running) throw new HomeUnreachableError(HOME_UNREACHABLE_RETRY_S)
      if (!components.ledger.isMember(home)) throw new RelayProtocolError('the home hospital is not an active member')
      let stream: Stream
      try {
        stream = await components.libp2p.dialProtocol(peerIdFromMemberKey(home), RELAY_PROTOCOL, { signal: io() })
      } catch (err) {
        throw new HomeUnreachableError(HOME_UNREACHABLE_RETRY_S, { cause: err })
      }
      let bytes: Uint8Array
      try {
        const lp = frames(stream)
        await lp.write(encodeRequest(req), { signal: io() })
        bytes = (await lp.read({ signal: io() })).subarray()
        await stream.close({ signal: io() })
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error(String(err)))
        throw new HomeUnreachableError(HOME_UNREACHABLE_RETRY_S, { cause: err })
      }
      try {
        return decodeAnswer(bytes)
      } catch (err) {
        throw new RelayProtocolError(`the home hospital answered something the protocol does not define: ${codeOf(err)}`, { cause: err })
      }
    }

    return {
      async start () {
        if (running) return
        running = true
        controller = new AbortController()
        await components.libp2p.handle(RELAY_PROTOCOL, serve, { maxInboundStreams: 32, maxOutboundStreams: 64 })
      },
      async stop () {
        if (!running) return
        running = false
        controller.abort()
        await components.libp2p.unhandle(RELAY_PROTOCOL).catch(() => undefined)
      },
      ask
    }
  }
}
