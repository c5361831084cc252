// Catch-up replication over the stream protocol `/medichain/sync/1.0.0` (docs/design.md §4): a client
// sends its heads, the member it asks answers with the blocks it lacks in causal order, round
// after round until nothing is left; then both swap evidence. It runs when a member connects,
// every `intervalMs`, and on demand, with at most one session per peer at a time.
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import type { Evidence, Head, Ledger } from '../../ledger/types.ts'
import { toHex } from '../../protocol/bytes.ts'
import { MedichainError } from '../../protocol/errors.ts'
import { SYNC_INTERVAL_MS, SYNC_IO_TIMEOUT_MS, SYNC_MAX_BLOCKS, SYNC_MAX_BYTES, SYNC_MAX_EVIDENCE_IDS, SYNC_MAX_FRAME_BYTES, SYNC_MAX_ROUNDS, SYNC_PROTOCOL } from './constants.ts'
import { codeOf, NotMemberPeerError, SyncError } from './errors.ts'
import { isMemberPeer } from './gater.ts'
import { decodeRequest, decodeResponse, encodeFrame, evidenceKey } from './sync-messages.ts'
import type { EvidenceId, SyncRequest } from './sync-messages.ts'

/** Options of createSync. */
export interface SyncInit {
  /** Period of background sync with every connected member (ms); 0 turns it off. */
  intervalMs?: number
  /** Blocks per response, at most SYNC_MAX_BLOCKS. */
  maxBlocks?: number
  /** Bytes of blocks per response (a response always carries at least one block). */
  maxBytes?: number
  /** Time allowed for one read or write (ms). */
  timeoutMs?: number
}

/** The ledger operations sync uses. */
export type SyncLedger = Pick<Ledger, 'heads' | 'blocksAfter' | 'receive' | 'evidence' | 'receiveEvidence' | 'isMember'>

/** What sync needs. */
export interface SyncComponents {
  libp2p: Libp2p
  ledger: SyncLedger
  logger: Logger
}

/** What one client session achieved. */
export interface SyncResult {
  /** PeerId string of the member asked. */
  peer: string
  rounds: number
  /** Blocks received, and how many of them were new. */
  received: number
  appended: number
  /** Blocks the ledger refused (logged with their code). */
  rejected: number
  evidenceReceived: number
  evidenceSent: number
}

/** Events of the sync service: 'sync:complete' (SyncResult), 'sync:failed' ({ peer, code }). */
export interface SyncEvents {
  'sync:complete': SyncResult
  'sync:failed': { peer: string, code: string }
}

/** The sync service. */
export interface Sync extends EventTarget {
  start(): Promise<void>
  stop(): Promise<void>
  /**
   * Pulls what `peer` has and this peer lacks. A call during a running session with the same peer
   * queues one more session after it (calls in between share it). Rejects with SyncError or
   * NotMemberPeerError.
   */
  syncWith(peer: PeerId): Promise<SyncResult>
  /** Syncs with every connected member; failures are logged, not thrown. */
  syncAll(): Promise<SyncResult[]>
}

interface PeerSessions { current: Promise<SyncResult>, next?: Promise<SyncResult> }

/** Creates the sync service; see the file comment. */
export function createSync (init: SyncInit = {}) {
  return (components: SyncComponents): Sync => {
    const log = components.logger.child({ module: 'p2p:sync' })
    const { libp2p, ledger } = components
    const intervalMs = init.intervalMs ?? SYNC_INTERVAL_MS
    const maxBlocks = Math.min(init.maxBlocks ?? SYNC_MAX_BLOCKS, SYNC_MAX_BLOCKS)
    const maxBytes = Math.min(init.maxBytes ?? SYNC_MAX_BYTES, SYNC_MAX_BYTES)
    const timeoutMs = init.timeoutMs ?? SYNC_IO_TIMEOUT_MS
    const sessions = new Map<string, PeerSessions>()
    const events = new EventTarget()
    let controller = new AbortController()
    let timer: ReturnType<typeof setInterval> | undefined
    let running = false

    const io = (): AbortSignal => AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)])
    const frames = (stream: Stream): LengthPrefixedStream<Stream> =>
      lpStream(stream, { maxDataLength: SYNC_MAX_FRAME_BYTES, maxBufferSize: SYNC_MAX_FRAME_BYTES + 16 })

    /** Evidence of ours the other side lacks, within the byte budget. */
    const evidenceFor = async (theirs: EvidenceId[]): Promise<Evidence[]> => {
      const have = new Set(theirs.map(evidenceKey))
      const out: Evidence[] = []
      let bytes = 0
      for (const ev of await ledger.evidence()) {
        if (have.has(evidenceKey(ev))) continue
        const size = ev.blocks[0].length + ev.blocks[1].length
        if (out.length > 0 && bytes + size > maxBytes) break
        out.push(ev)
        bytes += size
      }
      return out
    }

    /** Ids of the evidence held here, as many as one frame may carry. */
    const evidenceIds = async (): Promise<EvidenceId[]> =>
      (await ledger.evidence()).slice(0, SYNC_MAX_EVIDENCE_IDS).map(ev => ({ author: ev.author, height: ev.height }))

    const receiveEvidence = async (list: Evidence[], peer: string): Promise<number> => {
      let stored = 0
      for (const ev of list) {
        try {
          if (await ledger.receiveEvidence(ev)) stored++
        } catch (err) {
          log.warn({ peer, code: codeOf(err) }, 'refused evidence from a sync peer')
        }
      }
      return stored
    }

    /** Answers one client frame. */
    const answer = async (lp: LengthPrefixedStream<Stream>, req: SyncRequest, peer: string): Promise<void> => {
      switch (req.t) {
        case 'heads': {
          const all = await ledger.blocksAfter(req.heads, maxBlocks)
          const blocks: Uint8Array[] = []
          let bytes = 0
          for (const b of all) {
            if (blocks.length > 0 && bytes + b.length > maxBytes) break
            blocks.push(b)
            bytes += b.length
          }
          const more = blocks.length < all.length || all.length >= maxBlocks
          await lp.write(encodeFrame({ t: 'blocks', blocks, more }), { signal: io() })
          return
        }
        case 'have': {
          const evidence = await evidenceFor(req.have)
          const have = await evidenceIds()
          await lp.write(encodeFrame({ t: 'evidence', have, evidence }), { signal: io() })
          return
        }
        case 'push':
          await receiveEvidence(req.evidence, peer)
      }
    }

    const serve = async (stream: Stream, connection: Connection): Promise<void> => {
      const peer = connection.remotePeer.toString()
      if (!isMemberPeer(ledger, connection.remotePeer)) {
        log.debug({ peer }, 'refused a sync stream from a non-member')
        stream.abort(new NotMemberPeerError('sync is for members only'))
        return
      }
      const lp = frames(stream)
      try {
        for (let i = 0; i < SYNC_MAX_ROUNDS + 2; i++) {
          let frame
          try {
            frame = await lp.read({ signal: io() })
          } catch (err) {
            if ((err as Error).name === 'UnexpectedEOFError') break
            throw err
          }
          await answer(lp, decodeRequest(frame.subarray()), peer)
        }
        await stream.close({ signal: io() })
      } catch (err) {
        if (running) log.warn({ peer, code: codeOf(err) }, 'sync stream from a member failed')
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      }
    }

    /**
     * Feeds one response's blocks to the ledger. All are handed over at once: the ledger appends
     * them in the order given while verifying the signatures of later ones on its worker pool.
     */
    const apply = async (blocks: Uint8Array[], result: SyncResult): Promise<void> => {
      result.received += blocks.length
      const outcomes = await Promise.allSettled(blocks.map(async bytes => await ledger.receive(bytes)))
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled') {
          if (outcome.value === 'appended') result.appended++
        } else {
          result.rejected++
          log.warn({ peer: result.peer, code: codeOf(outcome.reason) }, 'refused a block from a sync peer')
        }
      }
    }

    const pull = async (peerId: PeerId): Promise<SyncResult> => {
      const peer = peerId.toString()
      const result: SyncResult = { peer, rounds: 0, received: 0, appended: 0, rejected: 0, evidenceReceived: 0, evidenceSent: 0 }
      let stream: Stream
      try {
        stream = await libp2p.dialProtocol(peerId, SYNC_PROTOCOL, { signal: io() })
      } catch (err) {
        throw new SyncError('SYNC_FAILED', `could not open a sync stream: ${(err as Error).name}`, { cause: err })
      }
      const lp = frames(stream)
      try {
        while (result.rounds < SYNC_MAX_ROUNDS) {
          result.rounds++
          const heads = ledger.heads()
          await lp.write(encodeFrame({ t: 'heads', heads }), { signal: io() })
          const res = decodeResponse((await lp.read({ signal: io() })).subarray())
          if (res.t !== 'blocks') throw new SyncError('SYNC_PROTOCOL', `expected blocks, got ${res.t}`)
          await apply(res.blocks, result)
          // Stop when nothing is left, or when our heads did not move (no endless loop on blocks
          // we cannot use); blocks that gossip delivered meanwhile still count as movement.
          if (!res.more || headsKey(ledger.heads()) === headsKey(heads)) break
        }
        const have = await evidenceIds()
        await lp.write(encodeFrame({ t: 'have', have }), { signal: io() })
        const res = decodeResponse((await lp.read({ signal: io() })).subarray())
        if (res.t !== 'evidence') throw new SyncError('SYNC_PROTOCOL', `expected evidence, got ${res.t}`)
        result.evidenceReceived = await receiveEvidence(res.evidence, peer)
        const push = await evidenceFor(res.have)
        if (push.length > 0) await lp.write(encodeFrame({ t: 'push', evidence: push }), { signal: io() })
        result.evidenceSent = push.length
        await stream.close({ signal: io() })
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error(String(err)))
        if (err instanceof SyncError) throw err
        const code = err instanceof MedichainError ? 'SYNC_PROTOCOL' : 'SYNC_FAILED'
        throw new SyncError(code, `sync with a member failed: ${codeOf(err)}`, { cause: err })
      }
      return result
    }

    const session = async (peerId: PeerId): Promise<SyncResult> => {
      const peer = peerId.toString()
      try {
        const result = await pull(peerId)
        if (result.appended > 0 || result.evidenceReceived > 0) {
          log.info({ peer, rounds: result.rounds, appended: result.appended, evidence: result.evidenceReceived }, 'synced with a member')
        }
        events.dispatchEvent(new CustomEvent('sync:complete', { detail: result }))
        return result
      } catch (err) {
        const code = codeOf(err)
        events.dispatchEvent(new CustomEvent('sync:failed', { detail: { peer, code } }))
        throw err
      }
    }

    const syncWith = async (peerId: PeerId): Promise<SyncResult> => {
      if (!running) throw new SyncError('SYNC_FAILED', 'sync is not running')
      if (!isMemberPeer(ledger, peerId)) throw new NotMemberPeerError('can only sync with an active member')
      const key = peerId.toString()
      const run = (): Promise<SyncResult> => {
        const current: Promise<SyncResult> = session(peerId).finally(() => {
          if (sessions.get(key)?.current === current) sessions.delete(key)
        })
        sessions.set(key, { current })
        return current
      }
      const state = sessions.get(key)
      if (state === undefined) return await run()
      // One more session after the running one: it sees whatever arrived since that one began.
      state.next ??= state.current.catch(() => undefined).then(run)
      return await state.next
    }

    const syncAll = async (): Promise<SyncResult[]> => {
      const peers = new Map<string, PeerId>()
      for (const conn of libp2p.getConnections()) {
        if (isMemberPeer(ledger, conn.remotePeer)) peers.set(conn.remotePeer.toString(), conn.remotePeer)
      }
      const settled = await Promise.allSettled([...peers.values()].map(syncWith))
      const results: SyncResult[] = []
      for (const s of settled) {
        if (s.status === 'fulfilled') results.push(s.value)
        else if (running) log.debug({ code: codeOf(s.reason) }, 'background sync failed')
      }
      return results
    }

    const onConnect = (e: CustomEvent<PeerId>): void => {
      if (!isMemberPeer(ledger, e.detail)) return
      syncWith(e.detail).catch((err: unknown) => {
        if (running) log.debug({ peer: e.detail.toString(), code: codeOf(err) }, 'sync on connect failed')
      })
    }

    const service = Object.assign(events, {
      async start () {
        if (running) return
        running = true
        controller = new AbortController()
        await libp2p.handle(SYNC_PROTOCOL, serve, { maxInboundStreams: 4, maxOutboundStreams: 4 })
        libp2p.addEventListener('peer:connect', onConnect)
        if (intervalMs > 0) {
          timer = setInterval(() => { void syncAll() }, intervalMs)
          timer.unref?.()
        }
      },
      async stop () {
        if (!running) return
        running = false
        if (timer !== undefined) clearInterval(timer)
        timer = undefined
        libp2p.removeEventListener('peer:connect', onConnect)
        controller.abort()
        const pending = [...sessions.values()].flatMap(s => s.next === undefined ? [s.current] : [s.current, s.next])
        await Promise.allSettled(pending)
        sessions.clear()
        await libp2p.unhandle(SYNC_PROTOCOL).catch(() => undefined)
      },
      syncWith,
      syncAll
    })
    return service
  }
}

/** A comparable summary of a set of heads. */
function headsKey (heads: Head[]): string {
  return heads.map(h => `${toHex(h.author)}:${h.height}:${toHex(h.hash)}`).sort().join(',')
}
