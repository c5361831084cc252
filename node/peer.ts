// One hospital peer: the ledger (level under `<data>/ledger`), the libp2p host that replicates it,
// image storage (helia on that same libp2p node, blocks under `<data>/blocks`), accounts
// (`<data>/accounts`), and the HTTP API over them. Starts in that order and stops in reverse, so
// the stores are flushed last, after nothing can write to them any more.
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { Genesis } from '../protocol/chain/genesis.ts'
import { createLedger } from '../ledger/ledger.ts'
import { nodeIdentity, nodeVerify } from '../ledger/verify/node-crypto.ts'
import type { Clock, Ledger } from '../ledger/types.ts'
import { WriteGate } from '../ledger/store/write-gate.ts'
import { hospitalBoxPublicKey, hospitalBoxSecretKey } from '../protocol/crypto/user-keys.ts'
import { AnalyserSlot } from './analysis/analyser.ts'
import { createAuth } from './auth/index.ts'
import type { Auth } from './auth/index.ts'
import type { Config } from './config/index.ts'
import { IMAGING_DEFAULTS } from './config/imaging.ts'
import type { ImagingConfig } from './config/imaging.ts'
import { RECORDS_DEFAULTS } from './config/records.ts'
import type { RecordsConfig } from './config/records.ts'
import type { DicomConfig } from './config/dicom.ts'
import { createDicom } from './dicom/index.ts'
import type { Dicom } from './dicom/index.ts'
import { DICOM_STATUS_BY_CODE, dicomRoutes } from './dicom/routes.ts'
import { DICOMWEB_STATUS_BY_CODE, dicomwebRoutes } from './dicomweb/routes.ts'
import { createInstanceView } from './dicomweb/instances.ts'
import { viewerRoutes } from './viewer/routes.ts'
import { ViewerTokens } from './dicomweb/tokens.ts'
import { directoryRoutes } from './http/routes/routes-directory.ts'
import { PATIENT_CODE_STATUS_BY_CODE, patientCodeRoutes } from './http/routes/routes-patient-code.ts'
import { modelRoutes } from './http/routes/routes-models.ts'
import { memberRoutes } from './http/routes/routes-members.ts'
import { recordRoutes } from './http/routes/routes-records.ts'
import { scopedRoutes } from './http/routes/routes-scoped.ts'
import { serveWeb } from './http/middleware/static.ts'
import { writeLimits } from './http/middleware/write-limits.ts'
import { activeBackend, initBackend } from './ai/runtime/backend.ts'
import { createFederation, FL_STATUS_BY_CODE, flRoutes, flTopicAllowance } from './fl/index.ts'
import type { Federation } from './fl/index.ts'
import { toHex } from '../protocol/bytes.ts'
import { createReads } from './records/reads.ts'
import { createStudyKeys } from './records/study-keys.ts'
import { emptyTempDir } from './records/temp-files.ts'
import { FETCHED_COPIES_SWEEP_MS } from './records/constants.ts'
import { createFetchedCopies } from './records/fetched-copies.ts'
import type { FetchedCopies } from './records/fetched-copies.ts'
import { createRekeys } from './records/rekey.ts'
import { createPatientRekeys } from './records/patient-rekeys.ts'
import type { PatientRekeys } from './records/patient-rekeys.ts'
import { rekeyRoutes } from './http/routes/routes-rekeys.ts'
import { emergencyRoutes } from './http/routes/routes-emergency.ts'
import { createEmergencies } from './emergency/service.ts'
import type { Emergencies } from './emergency/service.ts'
import type { Rekeys } from './records/rekey.ts'
import { labelRoutes, LABEL_STATUS_BY_CODE } from './labels/routes.ts'
import { createLabels } from './labels/service.ts'
import type { Labels } from './labels/service.ts'
import { labelKey, LabelStore } from './labels/store.ts'
import type { ExportConfig } from './research/service.ts'
import { RESEARCH_STATUS_BY_CODE } from './research/routes.ts'
import { createResearchPart } from './research/part.ts'
import type { RemoteLabels } from './research/remote-labels.ts'
import { createHttpServer } from './http/server.ts'
import type { HttpServer } from './http/server.ts'
import { createP2P } from './p2p/index.ts'
import { createRelay, RELAY_STATUS_BY_CODE } from './relay/index.ts'
import type { Relay, RelayInit } from './relay/index.ts'
import type { P2P } from './p2p/index.ts'
import { loadDefaultAnalyser } from './ai/detect/default-model.ts'
import { createDecodePool } from './imaging/pool/decode-pool.ts'
import { createAnalysisPool, defaultAnalysisWorkers } from './ai/detect/analysis-pool.ts'
import { createStorage } from './storage/index.ts'
import type { Storage } from './storage/index.ts'

/** Folder of the ledger's level database inside the data folder. */
export const LEDGER_DIR = 'ledger'

/** Folder of the hospital's ground-truth labels inside the data folder. */
export const LABELS_DIR = 'labels'

/** What a peer is built from: the resolved config plus the hospital seed and the genesis document. */
export type PeerInit = Pick<Config, 'data' | 'http' | 'peers' | 'syncIntervalMs'> & Partial<Pick<Config, 'auth' | 'fl'>> & {
  /** Upload limit, access policy, pin replicas; defaults RECORDS_DEFAULTS. */
  records?: RecordsConfig
  /** Pixel budget and decode worker pool; defaults IMAGING_DEFAULTS. */
  imaging?: ImagingConfig
  /** Research export tuning (batch budget, block wait); defaults in node/research/export.ts. */
  researchExports?: ExportConfig
  /** Listen addresses, and the addresses to announce when they differ (NAT, 0.0.0.0). */
  p2p: Pick<Config['p2p'], 'listen'> & { announce?: string[] }
  /** The hospital's 32-byte Ed25519 seed (secret). */
  seed: Uint8Array
  genesis: Genesis
  /** Worker threads verifying received blocks' signatures; default: one per core. */
  verifyWorkers?: number
  /** Folder of the built web UI (scripts/build-web.ts); default web/dist. */
  webRoot?: string
  /** Folder of the installed OHIF viewer (scripts/viewer-install.ts); default node/viewer DEFAULT_VIEWER_ROOT. */
  viewerRoot?: string
  /**
   * Deploy the shipped default detect-strange model (trained on synthetic phantoms) until a
   * federated task publishes one; default false (tests), `medichain start` turns it on.
   */
  defaultModel?: boolean
  /**
   * Start this hospital's chain afresh (`medichain start --fresh-chain`): write without waiting
   * for a member to confirm the own head; start fails with CHAIN_EXISTS when this folder or a
   * member that answers holds a block of the chain.
   */
  freshChain?: boolean
  /** The DICOM listener (node/dicom); off unless given with `enabled` (`medichain start` gives it). */
  dicom?: DicomConfig
  /** Relayed sign-in of patients from other members (node/relay): check period, offline grace, timeout. */
  relay?: RelayInit
}

/** What a peer uses from its host. */
export interface PeerComponents {
  logger: Logger
  clock: Clock
}

/** A running hospital peer. */
export interface Peer {
  start(): Promise<void>
  stop(): Promise<void>
  readonly ledger: Ledger
  readonly p2p: P2P
  readonly storage: Storage
  readonly auth: Auth
  /** The detect-strange analyser in use (empty until a model is loaded or published). */
  readonly analysers: AnalyserSlot
  /** Ground-truth labels of this hospital's images: federated learning's training and held-out sets. */
  readonly labels: Labels
  /** Research labels across hospitals: asks custodians, and answers for this hospital's own images. */
  readonly researchLabels: RemoteLabels
  /** Federated learning: tasks this peer coordinates, rounds it trains in, models it hot-loads. */
  readonly federation: Federation
  /** Ciphertext fetched under consents, deleted when they end (sweep() runs one pass now). */
  readonly fetchedCopies: FetchedCopies
  /** Re-keying after a patient's "revoke and re-key" (idle() resolves once queued work is done). */
  readonly rekeys: Rekeys
  /** Assisted recovery: re-wraps this custodian's image keys once a patient.rekey takes effect. */
  readonly patientRekeys: PatientRekeys
  /** Emergency access across hospitals: declaring here for images held elsewhere, and releasing keys as custodian. */
  readonly emergencies: Emergencies
  readonly http: Pick<HttpServer, 'url' | 'app'>
  /** Held while this hospital must not write its own chain (SYNCING, CLOCK_SKEW). */
  readonly writes: WriteGate
  /** The DICOM node (DIMSE listener, patient index, custody), or null when DICOM is off. */
  readonly dicom: Dicom | null
  /** Relayed sign-in: this hospital's patients signing in at other members, and theirs here. */
  readonly relay: Relay
}

/** HTTP statuses of the upload and read errors (the error middleware's extension point). */
const RECORD_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  UNSUPPORTED_FORMAT: 415,
  UNSUPPORTED_TRANSFER_SYNTAX: 415,
  UNSUPPORTED_PIXEL_FORMAT: 415,
  CORRUPT_IMAGE: 400,
  IMAGE_TOO_LARGE: 413,
  PIXEL_BUDGET: 413,
  DECODE_BUSY: 503,
  UNKNOWN_PATIENT: 404,
  NO_CONSENT: 403,
  KEYS_UNAVAILABLE: 409,
  EMERGENCY_NOT_CUSTODIAN: 409,
  REKEY_CLOSED: 409,
  BAD_CONSENT: 400,
  BAD_WRAPPED_KEY: 400,
  BAD_WEIGHTS: 400,
  ABORTED: 503,
  // Upload body errors (records/multipart.ts): nobody reads the answer to an abort.
  CLIENT_ABORTED: 400,
  STORAGE_FULL: 507
}

/**
 * /api/health fields of the write gate: `writes` is `open`, `syncing` (the own head is still being
 * learnt from the members) or `clock-skew`; `clockSkewMs` is how far this clock runs ahead of the
 * connected members' median (negative: behind; null before any member answered).
 */
function writeFields (gate: WriteGate, p2p: P2P): Record<string, string | number | null> {
  const first = gate.holds()[0]
  const skew = p2p.clockSkew()
  return {
    writes: first === undefined ? 'open' : first.code === 'SYNCING' ? 'syncing' : 'clock-skew',
    clockSkewMs: skew?.aheadMs ?? null,
    clockSamples: skew?.members ?? 0
  }
}

/**
 * /api/health fields beyond the ledger's: the tfjs backend, the model in use, what is stored, and
 * what the orphan collector freed (its last pass, and in total since start).
 */
function healthFields (storage: Storage, analysers: AnalyserSlot): Record<string, string | number | null> {
  let blocks: number | null = null
  let pins: number | null = null
  let collected: ReturnType<Storage['collected']> | undefined
  try {
    const s = storage.stats()
    blocks = s.blocks
    pins = s.pins
    collected = storage.collected()
  } catch {
    // storage not started yet
  }
  return {
    backend: activeBackend(),
    model: analysers.current?.model.toString() ?? null,
    storedBlocks: blocks,
    pins,
    collectedAt: collected?.last?.at ?? null,
    collectedBlocks: collected?.freedBlocks ?? null,
    collectedBytes: collected?.freedBytes ?? null
  }
}

/** Path of the ledger database for a data folder. */
export function ledgerPath (data: string): string {
  return join(data, LEDGER_DIR)
}

/** Announce addresses worth passing to libp2p: none when they merely repeat the listen addresses. */
function announceOf (p2p: PeerInit['p2p']): string[] | undefined {
  const { listen, announce } = p2p
  if (announce === undefined || announce.length === 0) return undefined
  const same = announce.length === listen.length && announce.every((a, i) => a === listen[i])
  return same ? undefined : announce
}

/** Composes ledger, p2p and HTTP for one hospital: `createPeer(init)(components)`, then `start()`. */
export function createPeer (init: PeerInit): (components: PeerComponents) => Peer {
  return (components) => {
    const { logger, clock } = components
    const log = logger.child({ component: 'peer' })
    const verifyWorkers = init.verifyWorkers ?? availableParallelism()
    const writes = new WriteGate()
    const ledger = createLedger({ path: ledgerPath(init.data), genesis: init.genesis, verifyWorkers })({
      identity: nodeIdentity(init.seed),
      verify: nodeVerify,
      // The ledger, auth and FL name their own component on their loggers.
      logger,
      clock,
      writeGate: writes
    })
    const p2p = createP2P({
      seed: init.seed,
      // FL's control topic, and its task topics (named at run time) by prefix, admitted from creation.
      ...flTopicAllowance(toHex(ledger.id)),
      listen: init.p2p.listen,
      announce: announceOf(init.p2p),
      bootstrap: init.peers,
      syncIntervalMs: init.syncIntervalMs,
      freshChain: init.freshChain
    })({ ledger, logger: logger.child({ component: 'p2p' }), gate: writes, clock })
    // Storage mounts bitswap on the P2P layer's own libp2p node (same PeerId, same member-only
    // gater), which exists only once p2p has started: the getter is read in storage.start().
    const records = init.records ?? RECORDS_DEFAULTS
    const storage = createStorage({ dataDir: init.data, replicas: records.replicas, collectGraceMs: records.collectGraceMs, collectIntervalMs: records.collectIntervalMs })({
      get libp2p () { return p2p.libp2p },
      logger,
      ledger,
      clock
    })
    const auth = createAuth({ data: init.data, ...init.auth })({ ledger, logger, clock })
    const { maxSide, maxPixels, maxDecodedBytes, workers, queue, analysisWorkers, analysisBatch } = { ...IMAGING_DEFAULTS, ...init.imaging }
    // The model runs in worker threads: every analyser installed in the slot (the default model,
    // a hot-loaded one) is moved there, and the main thread only queues images for it.
    const analysis = createAnalysisPool({ workers: analysisWorkers === 0 ? defaultAnalysisWorkers() : analysisWorkers, batch: analysisBatch })
    const analysers = new AnalyserSlot()
    analysers.offloadTo(analysis.offload)
    const box = { publicKey: hospitalBoxPublicKey(ledger.self), secretKey: hospitalBoxSecretKey(init.seed) }
    // The shared portal: patients of other members sign in here through their home hospital.
    const relay = createRelay(init.relay ?? init.auth?.relay)({ get libp2p () { return p2p.libp2p }, ledger, auth, boxSecret: box.secretKey, clock, logger })
    const recordsLog = logger.child({ component: 'records' })
    // Ciphertext fetched for reads under a consent is deleted here once no live consent covers it.
    const fetchedCopies = createFetchedCopies({ sweepMs: FETCHED_COPIES_SWEEP_MS }, { ledger, storage, logger: recordsLog, clock })
    // "Revoke and re-key": the custodian re-encrypts; every member drops the replaced ciphertext.
    // One study key per study ingested here (docs/design.md §5 "Study keys"), renewed by a re-key.
    const studyKeys = createStudyKeys({ ledger, box })
    const rekeys = createRekeys({ ledger, storage, box, logger: recordsLog, studyKeys })
    const patientRekeys = createPatientRekeys({ ledger, box, logger: recordsLog, clock })
    const breakGlassLog = join(init.data, 'break-glass.jsonl')
    // Emergencies across hospitals: this peer as the declaring clinician's hospital and as custodian.
    const emergencies = createEmergencies({
      breakGlass: records.breakGlass,
      windowMs: records.emergencyWindowMs,
      limitWindowMs: records.emergencyLimitWindowMs,
      perClinician: records.emergenciesPerClinician,
      perHospital: records.emergenciesPerHospital
    }, { ledger, libp2p: () => p2p.libp2p, box, logger: recordsLog, clock, breakGlassLog })
    const reads = createReads(
      { policy: { custodianRead: records.custodianRead, breakGlass: records.breakGlass }, breakGlassLog },
      { ledger, storage, box, logger: recordsLog, clock, copies: fetchedCopies, emergencyKeys: (reader, image) => emergencies.keysFor(reader, image) }
    )
    const tmpDir = join(init.data, 'tmp')
    // Uploaded images are decoded off the main thread, under the pixel budget, a bounded number at once.
    const decoder = createDecodePool({ workers, queue, limits: { maxSide, maxPixels, maxDecodedBytes } })
    // Ground-truth labels of this hospital's own images (`<data>/labels`, sealed at rest): the
    // training and held-out sets of federated learning, read only under live training consents.
    const labelStore = new LabelStore(join(init.data, LABELS_DIR), labelKey(init.seed))
    const labels = createLabels({ ledger, storage, box, store: labelStore, decoder, logger: logger.child({ component: 'labels' }), clock })
    // Research projects of this hospital's researchers: cohorts under research consents, exports
    // de-identified here, other hospitals' labels of consented cohort images (docs/design.md §10).
    const research = createResearchPart({
      data: init.data, tmpDir, seed: init.seed, exports: init.researchExports,
      ledger, p2p: () => p2p, storage, box, labelStore, copies: fetchedCopies, auth, clock, logger
    })
    // Federated learning, and hot-loading of every model.publish into the analyser slot.
    const federation = createFederation({ data: init.data, ...init.fl })({
      ledger,
      p2p,
      storage,
      identity: nodeIdentity(init.seed),
      analysers,
      trainingSet: labels.trainingSet,
      validationSet: labels.validationSet,
      logger,
      clock
    })
    const dicom = init.dicom?.enabled === true
      ? createDicom({ config: init.dicom, data: init.data, tmpDir, seed: init.seed, custodianRead: records.custodianRead })({ upload: { ledger, storage, analysers, box, decoder, logger: recordsLog, studyKeys }, reads, logger, clock })
      : null
    const http = createHttpServer({
      host: init.http.host,
      port: init.http.port,
      trustProxy: init.http.trustProxy,
      statusByCode: { ...auth.statusByCode, ...RELAY_STATUS_BY_CODE, ...RECORD_STATUS_BY_CODE, ...FL_STATUS_BY_CODE, ...LABEL_STATUS_BY_CODE, ...RESEARCH_STATUS_BY_CODE, ...DICOM_STATUS_BY_CODE, ...PATIENT_CODE_STATUS_BY_CODE, ...DICOMWEB_STATUS_BY_CODE },
      ledgerGuard: auth.requireUser(),
      explorerGuard: auth.requireUser('admin')
    })({ ledger, logger, p2p, clock, health: () => ({ ...writeFields(writes, p2p), ...healthFields(storage, analysers) }) })
    // The UI's static files answer only UI paths (/, /setup, /app/*) and pass everything else on.
    http.app.use(serveWeb({ root: init.webRoot }))
    // Order matters: session and CSRF checks run before every feature route.
    auth.mount(http.app)
    http.app.use(relay.router.routes())
    http.app.use(relay.router.allowedMethods({ throw: true }))
    // Per-user and per-peer write budgets, after the session is known and before any feature writes.
    const limiter = writeLimits({ windowMs: records.writeWindowMs, perPatient: records.writesPerPatient, perStaff: records.writesPerStaff, perPeer: records.writesPerPeer }, clock)
    http.app.use(limiter)
    const routes = recordRoutes({ tmpDir, maxUploadBytes: records.maxUploadBytes }, {
      auth, reads, emergencies, ledger, storage, analysers, box, decoder, logger: recordsLog, clock, studyKeys, ...(dicom === null ? {} : { catalogue: dicom.catalogue })
    })
    http.app.use(routes.routes())
    http.app.use(routes.allowedMethods({ throw: true }))
    const fl = flRoutes({ federation, requireUser: (...roles) => auth.requireUser(...roles) })
    http.app.use(fl.routes())
    http.app.use(fl.allowedMethods({ throw: true }))
    const labelRouter = labelRoutes({ auth, labels })
    http.app.use(labelRouter.routes())
    http.app.use(labelRouter.allowedMethods({ throw: true }))
    research.mount(http.app)
    // Membership proposals and approvals for the admin console (issue 5).
    http.app.use(memberRoutes({ ledger, auth }).routes())
    http.app.use(directoryRoutes({ ledger, auth }).routes())
    http.app.use(patientCodeRoutes({ ledger, auth }).routes())
    http.app.use(rekeyRoutes({ ledger, auth, clock }).routes())
    http.app.use(emergencyRoutes({ ledger, auth, clock, breakGlassLog }).routes())
    http.app.use(modelRoutes({ auth }).routes())
    // Each signed-in user's own transactions with their proofs; the explorer is for admins.
    http.app.use(scopedRoutes({ ledger, requireUser: auth.requireUser() }).routes())
    if (dicom !== null) {
      http.app.use(dicomRoutes({ auth, dicom }).routes())
      // DICOMweb (PS3.18) for viewers and PACS, with viewer tokens that end with their clinician's sessions.
      const tokens = new ViewerTokens(clock)
      auth.events.addEventListener('sessions:ended', (e) => tokens.revokeAll((e as CustomEvent<{ username: string }>).detail.username))
      const view = createInstanceView({ catalogue: dicom.catalogue, ledger, reads })
      const web = dicomwebRoutes({ auth, dicom, ledger, reads, tokens, tmpDir, view, logger: logger.child({ component: 'dicomweb' }) })
      http.app.use(web.routes())
      http.app.use(web.allowedMethods({ throw: true }))
      // The OHIF viewer at /viewer over that DICOMweb service, for this hospital's clinicians.
      const viewer = viewerRoutes({ root: init.viewerRoot }, { view, dicom })
      http.app.use(viewer.routes())
      http.app.use(viewer.allowedMethods({ throw: true }))
    }

    /** Services started so far, so a failed start or a stop undoes exactly those, newest first. */
    const started: Array<{ name: string, stop: () => Promise<void> }> = []

    const stopAll = async (): Promise<void> => {
      while (started.length > 0) {
        const s = started.pop()
        if (s === undefined) break
        try {
          await s.stop()
        } catch (err) {
          log.error({ err, service: s.name }, 'stop failed')
        }
      }
    }

    return {
      ledger,
      p2p,
      storage,
      auth,
      analysers,
      labels,
      researchLabels: research.labels,
      federation,
      fetchedCopies,
      rekeys,
      patientRekeys,
      emergencies,
      http,
      writes,
      dicom,
      relay,
      async start (): Promise<void> {
        if (started.length > 0) return
        try {
          await ledger.start()
          started.push({ name: 'ledger', stop: async () => await ledger.stop() })
          await p2p.start()
          started.push({ name: 'p2p', stop: async () => await p2p.stop() })
          // Starting a chain afresh is refused before anything is served if a member still holds it.
          if (init.freshChain === true) await p2p.ownChainDecided()
          await storage.start()
          started.push({ name: 'storage', stop: async () => await storage.stop() })
          await fetchedCopies.start()
          started.push({ name: 'fetched-copies', stop: async () => await fetchedCopies.stop() })
          rekeys.start()
          started.push({ name: 'rekeys', stop: async () => await rekeys.stop() })
          patientRekeys.start()
          started.push({ name: 'patient-rekeys', stop: async () => await patientRekeys.stop() })
          await auth.start()
          started.push({ name: 'auth', stop: async () => await auth.stop() })
          await relay.start()
          started.push({ name: 'relay', stop: async () => await relay.stop() })
          await emergencies.start()
          started.push({ name: 'emergencies', stop: async () => await emergencies.stop() })
          await labelStore.open()
          started.push({ name: 'labels', stop: async () => await labelStore.close() })
          started.push(...await research.start())
          await initBackend({ logger: log })
          await federation.start()
          started.push({ name: 'fl', stop: async () => await federation.stop() })
          if (init.defaultModel === true && analysers.current === null) {
            // A published model installed later replaces it in the same slot.
            const shipped = await loadDefaultAnalyser()
            if (shipped !== undefined && analysers.current === null) {
              analysers.set(shipped.analyser)
              log.info({ model: shipped.cid.toString() }, 'default detect-strange model deployed (synthetic phantoms, not for clinical use)')
            }
          }
          // Plaintext of uploads a crash interrupted: wiped before anything can upload again.
          await emptyTempDir(tmpDir, recordsLog)
          decoder.start()
          started.push({ name: 'decode', stop: async () => await decoder.close() })
          started.push({ name: 'analysis', stop: async () => await analysis.close() })
          if (dicom !== null) {
            await dicom.start()
            started.push({ name: 'dicom', stop: async () => await dicom.stop() })
          }
          const sweeper = setInterval(() => limiter.sweep(), records.writeWindowMs)
          sweeper.unref()
          started.push({ name: 'write-limits', stop: async () => clearInterval(sweeper) })
          await http.start()
          started.push({ name: 'http', stop: async () => await http.stop() })
        } catch (err) {
          await stopAll()
          throw err
        }
        log.info({ http: http.url, p2p: p2p.addresses(), dicom: dicom?.address()?.port ?? null, blocks: ledger.size() }, 'peer started')
      },
      async stop (): Promise<void> {
        await stopAll()
        log.info('peer stopped')
      }
    }
  }
}
