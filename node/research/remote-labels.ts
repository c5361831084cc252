// Labels of other hospitals' images for a research export (docs/design.md §10). A label's mask
// never leaves its hospital; what an export's manifest needs is whether an image is labelled and
// its lesion pixel count. The researcher's home hospital asks each custodian over
// `/medichain/research-labels/1.0.0` (members only: the connection names the asking hospital), and
// the custodian answers for an image only when, checked on its own ledger, the asker is the
// project researcher's home hospital, the custodian itself approved the project, the image is its
// own and meets the criteria, and the patient's live research consent to the researcher or the
// asker names this project or none and covers the image: the image is in the consented cohort.
// Anything else is left out of the answer, which says nothing of why.
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import { CID } from 'multiformats/cid'
import { equals, toHex } from '../../protocol/bytes.ts'
import { decode, encode } from '../../protocol/codec.ts'
import { HASH_BYTES } from '../../protocol/constants.ts'
import { MedichainError } from '../../protocol/errors.ts'
import { meetsCriteria } from '../../protocol/chain/research.ts'
import { expectArray, expectBytes, expectCid, expectFields, expectString, expectUint, nullable } from '../../protocol/schema.ts'
import type { ConsentRecord } from '../../ledger/queries/queries.ts'
import type { Clock, Ledger } from '../../ledger/types.ts'
import { isMemberPeer } from '../p2p/gater.ts'
import { memberKeyOfPeer, peerIdFromMemberKey } from '../p2p/identity.ts'
import { researchConsentFor } from './cohort.ts'

/** The protocol id. */
export const RESEARCH_LABELS_PROTOCOL = '/medichain/research-labels/1.0.0'

/** Images one request names: a frame of 1,000 CIDs stays near 40 KiB. */
export const LABELS_PER_REQUEST = 1000

/** Largest frame either way. */
const MAX_FRAME_BYTES = 128 * 1024

/** How long one exchange with a custodian may take (ms). */
const EXCHANGE_TIMEOUT_MS = 20_000

/** The custodian's answer: lesion pixels (null when unlabelled) of the images it may tell of. */
type Answer = { ok: true, labels: Array<{ raw: CID, lesion: number | null }> } | { ok: false, code: string }

/** What the service uses. */
export interface RemoteLabelComponents {
  ledger: Pick<Ledger, 'self' | 'queries' | 'isMember'>
  libp2p: () => Libp2p
  /** Lesion pixels of this hospital's label of a raw CID, null when unlabelled. */
  lesionOf: (raw: string) => Promise<number | null>
  clock: Clock
  logger: Logger
}

/** Both sides of the exchange. */
export interface RemoteLabels {
  start(): Promise<void>
  stop(): Promise<void>
  /**
   * Asks `custodian` for the labels of `images` in `project`: lesion pixels by raw CID, null for
   * an unlabelled image. An image the custodian does not tell of (outside the consented cohort as
   * it sees it), or every image when it cannot be reached, is absent from the map.
   */
  ask(custodian: Uint8Array, project: Uint8Array, images: CID[]): Promise<Map<string, number | null>>
}

function decodeRequest (bytes: Uint8Array): { project: Uint8Array, images: CID[] } {
  const f = expectFields(decode(bytes), 'request', ['project', 'images'])
  return { project: expectBytes(f.project, 'request.project', HASH_BYTES), images: expectArray(f.images, 'request.images', LABELS_PER_REQUEST, expectCid) }
}

function decodeAnswer (bytes: Uint8Array): Answer {
  const v = decode(bytes)
  const ok = expectFields(v, 'answer', ['ok'], ['labels', 'code']).ok
  if (ok === true) {
    const f = expectFields(v, 'answer', ['ok', 'labels'])
    return {
      ok: true,
      labels: expectArray(f.labels, 'answer.labels', LABELS_PER_REQUEST, (x, p) => {
        const g = expectFields(x, p, ['raw', 'lesion'])
        return { raw: expectCid(g.raw, `${p}.raw`), lesion: nullable(g.lesion, `${p}.lesion`, (y, q) => expectUint(y, q)) }
      })
    }
  }
  return { ok: false, code: expectString(expectFields(v, 'answer', ['ok', 'code']).code, 'answer.code', 64) }
}

/** Creates the research label exchange of one peer. */
export function createRemoteLabels (c: RemoteLabelComponents): RemoteLabels {
  const log = c.logger
  let controller = new AbortController()
  let running = false
  const io = (): AbortSignal => AbortSignal.any([controller.signal, AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)])
  const frames = (stream: Stream) => lpStream(stream, { maxDataLength: MAX_FRAME_BYTES, maxBufferSize: MAX_FRAME_BYTES + 16 })

  /** The custodian's side: the labels of the named images that are in the project's consented cohort here. */
  async function answer (asker: Uint8Array, req: { project: Uint8Array, images: CID[] }): Promise<Answer> {
    const project = await c.ledger.queries.project(req.project)
    if (project === undefined) return { ok: false, code: 'UNKNOWN_PROJECT' }
    const researcher = await c.ledger.queries.account(project.researcher)
    if (researcher === undefined || !equals(researcher.hospital, asker)) return { ok: false, code: 'NOT_PROJECT_HOSPITAL' }
    const mine = (await c.ledger.queries.decisions(project.id)).find(d => equals(d.hospital, c.ledger.self))
    if (mine?.approve !== true) return { ok: false, code: 'NOT_APPROVED' }
    const now = c.clock()
    const consents = new Map<string, ConsentRecord[]>()
    const labels: Array<{ raw: CID, lesion: number | null }> = []
    for (const raw of req.images) {
      const image = (await c.ledger.queries.imagesByAnyCid(raw.toString())).find(f => f.part === 'raw' && equals(f.image.custodian, c.ledger.self))?.image
      if (image === undefined) continue
      // The labelled criterion is what the asker wants to learn, so it is not applied here.
      if (!meetsCriteria({ ...project.criteria, labelled: null }, { modality: image.modality, time: image.time, score: image.score, labelled: null })) continue
      const key = toHex(image.patient)
      let held = consents.get(key)
      if (held === undefined) consents.set(key, held = await c.ledger.queries.consentsOf(image.patient))
      if (researchConsentFor(held, image, project, asker, now) === undefined) continue
      labels.push({ raw: image.raw, lesion: await c.lesionOf(image.raw.toString()) })
    }
    log.debug({ asked: req.images.length, told: labels.length }, 'research labels told to the project\'s hospital')
    return { ok: true, labels }
  }

  const serve = async (stream: Stream, connection: Connection): Promise<void> => {
    const asker = memberKeyOfPeer(connection.remotePeer)
    if (asker === undefined || !isMemberPeer(c.ledger, connection.remotePeer)) {
      stream.abort(new Error('research labels are for members only'))
      return
    }
    try {
      const lp = frames(stream)
      const req = decodeRequest((await lp.read({ signal: io() })).subarray())
      let out: Answer
      try {
        out = await answer(asker, req)
      } catch (err) {
        if (!(err instanceof MedichainError)) log.error({ err }, 'research labels could not be read')
        out = { ok: false, code: err instanceof MedichainError ? err.code : 'INTERNAL' }
      }
      await lp.write(encode(out), { signal: io() })
      await stream.close({ signal: io() })
    } catch (err) {
      if (running) log.debug({ err }, 'a research labels stream failed')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  async function askOnce (custodian: Uint8Array, project: Uint8Array, images: CID[]): Promise<Answer> {
    const stream = await c.libp2p().dialProtocol(peerIdFromMemberKey(custodian), RESEARCH_LABELS_PROTOCOL, { signal: io() })
    try {
      const lp = frames(stream)
      await lp.write(encode({ project, images }), { signal: io() })
      const out = decodeAnswer((await lp.read({ signal: io() })).subarray())
      await stream.close({ signal: io() })
      return out
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }

  return {
    async start () {
      if (running) return
      running = true
      controller = new AbortController()
      await c.libp2p().handle(RESEARCH_LABELS_PROTOCOL, serve, { maxInboundStreams: 8, maxOutboundStreams: 8 })
    },
    async stop () {
      if (!running) return
      running = false
      controller.abort()
      await c.libp2p().unhandle(RESEARCH_LABELS_PROTOCOL).catch(() => undefined)
    },
    async ask (custodian, project, images) {
      const out = new Map<string, number | null>()
      const wanted = new Set(images.map(i => i.toString()))
      for (let at = 0; at < images.length; at += LABELS_PER_REQUEST) {
        let got: Answer
        try {
          got = await askOnce(custodian, project, images.slice(at, at + LABELS_PER_REQUEST))
        } catch (err) {
          log.debug({ hospital: toHex(custodian).slice(0, 16), err: err instanceof Error ? err.name : 'error' }, 'a custodian\'s research labels could not be fetched')
          return out
        }
        if (!got.ok) {
          log.debug({ hospital: toHex(custodian).slice(0, 16), code: got.code }, 'a custodian told no research labels')
          return out
        }
        // Only what was asked: a custodian cannot slip in labels of other images.
        for (const l of got.labels) if (wanted.has(l.raw.toString())) out.set(l.raw.toString(), l.lesion)
      }
      return out
    }
  }
}
