// The research part of a peer (docs/design.md §10), made and mounted by node/peer.ts: projects of
// this hospital's researchers, cohorts under research consents, exports de-identified here (the
// zip, and the same export prepared for DICOMweb with its own tokens), other hospitals' labels of
// consented cohort images over a members-only protocol, and the published models' cards.
import { join } from 'node:path'
import type Koa from 'koa'
import type { Logger } from 'pino'
import type { Clock, Ledger } from '../../ledger/types.ts'
import type { Auth } from '../auth/index.ts'
import type { LabelStore } from '../labels/store.ts'
import type { P2P } from '../p2p/index.ts'
import type { FetchedCopies } from '../records/fetched-copies.ts'
import type { HospitalBox } from '../records/reader-keys.ts'
import type { Storage } from '../storage/index.ts'
import { createTextDetector } from './burned-in/text-detector.ts'
import { endTokensOnSessionsEnded, researchDicomwebRoutes } from './dicomweb-routes.ts'
import { ExportTokens } from './export-tokens.ts'
import { publishedModelRoutes } from './model-routes.ts'
import { PreparedExports } from './prepared-exports.ts'
import { createRemoteLabels } from './remote-labels.ts'
import type { RemoteLabels } from './remote-labels.ts'
import { Reviews } from './reviews.ts'
import { researchRoutes } from './routes.ts'
import { createResearch } from './service.ts'
import type { ExportConfig } from './service.ts'

/** What the research part is made of: the peer's own components. */
export interface ResearchPartInit {
  data: string
  tmpDir: string
  seed: Uint8Array
  exports?: ExportConfig
  ledger: Ledger
  p2p: () => P2P
  storage: Storage
  box: HospitalBox
  labelStore: LabelStore
  copies: FetchedCopies
  auth: Auth
  clock: Clock
  logger: Logger
}

/** The research part: mounted on the HTTP app, started and stopped with the peer. */
export interface ResearchPart {
  /** Research labels across hospitals: asks custodians, and answers for this hospital's own images. */
  readonly labels: RemoteLabels
  /** Adds the research routes (projects, exports, DICOMweb exports, published models) to the app. */
  mount(app: Koa): void
  /** Opens the reviews and starts answering label requests; returns how to undo each step, in order. */
  start(): Promise<Array<{ name: string, stop: () => Promise<void> }>>
}

export function createResearchPart (init: ResearchPartInit): ResearchPart {
  const log = init.logger.child({ component: 'research' })
  const textDetector = createTextDetector()
  const reviews = new Reviews(join(init.data, 'research-reviews.json'))
  // Other hospitals' labels of consented cohort images, over a members-only protocol (lesion counts, never masks).
  const remoteLabels = createRemoteLabels({
    ledger: init.ledger,
    libp2p: () => init.p2p().libp2p,
    lesionOf: async (raw) => (await init.labelStore.get(raw))?.lesionPixels ?? null,
    clock: init.clock,
    logger: log
  })
  const research = createResearch({
    detector: textDetector,
    reviews,
    ledger: init.ledger,
    storage: init.storage,
    box: init.box,
    seed: init.seed,
    labels: async () => new Map((await init.labelStore.list(() => {})).map(m => [m.cid, m.lesionPixels])),
    remoteLabels,
    copies: init.copies,
    clock: init.clock,
    exports: init.exports
  })
  // Research exports prepared for DICOMweb: spooled (sealed) in the temp folder, pulled with the export's own token.
  const prepared = new PreparedExports(init.tmpDir, init.clock)
  const tokens = new ExportTokens(init.clock)
  endTokensOnSessionsEnded(init.auth, tokens)

  return {
    labels: remoteLabels,
    mount (app) {
      const projects = researchRoutes({ auth: init.auth, research, ledger: init.ledger, logger: log })
      app.use(projects.routes())
      app.use(projects.allowedMethods({ throw: true }))
      const web = researchDicomwebRoutes({ auth: init.auth, research, prepared, tokens, ledger: init.ledger, clock: init.clock, logger: log })
      app.use(web.routes())
      app.use(web.allowedMethods({ throw: true }))
      app.use(publishedModelRoutes({ auth: init.auth, ledger: init.ledger, storage: init.storage }).routes())
    },
    async start () {
      await reviews.open()
      await remoteLabels.start()
      return [
        { name: 'research-labels', stop: async () => await remoteLabels.stop() },
        { name: 'research-dicomweb', stop: async () => await prepared.close() },
        // The OCR worker starts on the first export; stopping ends it if it ran.
        { name: 'text-detector', stop: async () => await textDetector.close() }
      ]
    }
  }
}
