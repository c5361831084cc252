// The researcher's and admin's side of research (docs/design.md §10), on top of a signed-in
// MedichainClient: projects and decisions are signed here with the user's own key, exports are
// downloaded with progress, and a patient reads the research uses of their images.
import { fromHex } from '../bytes.ts'
import type { MedichainClient } from './client.ts'
import { nobleIdentity } from '../crypto/ed25519.ts'
import { MedichainError } from '../errors.ts'
import type { ResearchBodies } from '../chain/research.ts'
import { encodeTx, parseBody, signTx } from '../chain/tx.ts'
import { StoredZipProgress } from './zip-progress.ts'
import type { TxOf } from '../chain/tx.ts'
import { txToBase64 } from '../chain/tx-transport.ts'

/** A project as the API lists it. */
export interface ApiProject {
  id: string, title: string, purpose: string, researcher: string, time: number
  criteria: ResearchBodies['research.project']['criteria']
  options: ResearchBodies['research.project']['options']
  decisions: Array<{ hospital: string, hospitalName: string | null, approve: boolean, time: number }>
}

/** A count under 5 comes back as "<5" (small-cell suppression). */
export type ApiCount = number | '<5'

/** The cohort of a project, per hospital. */
export interface ApiCohort { hospitals: Array<{ hospital: string, decision: 'approved' | 'refused' | 'pending', count: ApiCount }>, total: ApiCount }

/** One export of a project. */
export interface ApiExport { export: string, time: number, images: number, txs: string[] }

/** One research use of a patient's image. */
export interface ApiResearchUse { project: string, title: string, image: string, hospital: string, hospitalName: string | null, export: string, time: number, tx: string }

/** A published model as listed. */
export interface ApiModel { cid: string, task: string, round: number, time: number, hospital: string, hospitalName: string | null, tx: string }

/** A model card: what the model does, on whose data, how well, and the publication with its inclusion proof. */
export interface ApiModelCard {
  cid: string, task: string, round: number, time: number
  publisher: { hospital: string, name: string | null }
  metrics: Record<string, number>
  data: Array<{ hospital: string, name: string | null, samples: number | null }>
  /** The `model.publish` transaction as `GET /api/ledger/tx/:id` renders it, `proof` included. */
  provenance: { id: string, proof: unknown, location: { blockHash: string, author: string, height: number, index: number } }
}

/** An export prepared for DICOMweb: its QIDO/WADO root (under the peer's URL) and a bearer token for it alone. */
export interface PreparedDicomwebExport { export: string, base: string, token: string, expires: number, instances: number, held: number, skipped: number }

/**
 * A downloaded export. `parts` are the chunks as they arrived (a browser makes a Blob of them
 * without one contiguous copy, which a Zip64 archive of several GiB would not fit in); `bytes`
 * joins them on first use.
 */
export interface DownloadedExport { readonly bytes: Uint8Array, parts: Uint8Array[], exportId: string, images: number, held: number, skipped: number }

/** Builds and signs a `research.project` (the researcher's key). */
export function buildResearchProject (input: { ledgerId: Uint8Array, signSeed: Uint8Array, body: ResearchBodies['research.project'], seq: number, time: number }): TxOf<'research.project'> {
  const identity = nobleIdentity(input.signSeed)
  const tx = signTx(input.ledgerId, { type: 'research.project', body: parseBody('research.project', input.body), signer: identity.publicKey, seq: input.seq, time: input.time }, identity)
  encodeTx(tx)
  return tx
}

/** Builds and signs a `research.decision` (an admin's key, for their own hospital). */
export function buildResearchDecision (input: { ledgerId: Uint8Array, signSeed: Uint8Array, body: ResearchBodies['research.decision'], seq: number, time: number }): TxOf<'research.decision'> {
  const identity = nobleIdentity(input.signSeed)
  return signTx(input.ledgerId, { type: 'research.decision', body: parseBody('research.decision', input.body), signer: identity.publicKey, seq: input.seq, time: input.time }, identity)
}

/** Research calls of a signed-in client. */
export class ResearchClient {
  readonly #c: MedichainClient
  constructor (client: MedichainClient) { this.#c = client }

  async #json<T> (method: string, path: string, body?: unknown): Promise<T> {
    return await (await this.#c.request(method, path, body)).json() as T
  }

  #seed (): Uint8Array {
    const keys = this.#c.keys
    if (keys === null) throw new MedichainError('VAULT_LOCKED', 'sign in first: the vault is locked')
    return keys.signSeed
  }

  async #nextSeq (): Promise<number> {
    return (await this.#json<{ nextSeq: number }>('GET', '/api/research/next-seq')).nextSeq
  }

  /** Projects: a researcher's own, or every project for an admin. */
  async projects (): Promise<ApiProject[]> {
    return (await this.#json<{ projects: ApiProject[] }>('GET', '/api/research/projects')).projects
  }

  /** Every project's id, title and purpose: what a patient's research consent may name. */
  async openProjects (): Promise<Array<{ id: string, title: string, purpose: string }>> {
    return (await this.#json<{ projects: Array<{ id: string, title: string, purpose: string }> }>('GET', '/api/research/projects/open')).projects
  }

  /** Creates a project, signed with the researcher's key; resolves to its id. */
  async create (body: ResearchBodies['research.project']): Promise<{ id: string }> {
    const peer = await this.#c.peerInfo()
    const tx = buildResearchProject({ ledgerId: peer.ledger, signSeed: this.#seed(), body, seq: await this.#nextSeq(), time: Date.now() })
    return await this.#json('POST', '/api/research/projects', { tx: txToBase64(tx) })
  }

  /** Approves or refuses a project for the admin's own hospital. */
  async decide (project: string, approve: boolean): Promise<{ id: string }> {
    const user = this.#c.user
    if (user === null) throw new MedichainError('NOT_SIGNED_IN', 'sign in first')
    const peer = await this.#c.peerInfo()
    const tx = buildResearchDecision({ ledgerId: peer.ledger, signSeed: this.#seed(), body: { project: fromHex(project), hospital: fromHex(user.hospital), approve }, seq: await this.#nextSeq(), time: Date.now() })
    return await this.#json('POST', `/api/research/projects/${project}/decisions`, { tx: txToBase64(tx) })
  }

  /** Per-hospital cohort counts of one of the researcher's projects. */
  async cohort (project: string): Promise<ApiCohort> {
    return await this.#json('GET', `/api/research/projects/${project}/cohort`)
  }

  /** The download history of a project. */
  async exports (project: string): Promise<ApiExport[]> {
    return (await this.#json<{ exports: ApiExport[] }>('GET', `/api/research/projects/${project}/exports`)).exports
  }

  /**
   * Prepares a project's export for DICOMweb: the peer runs the export (its uses logged as for the
   * zip) and answers the QIDO-RS/WADO-RS root of its de-identified instances and a token for a
   * DICOMweb client (`Authorization: Bearer …`), both good until `expires`.
   */
  async prepareDicomweb (project: string, ttlMinutes?: number): Promise<PreparedDicomwebExport> {
    return await this.#json('POST', `/api/research/projects/${project}/dicomweb`, ttlMinutes === undefined ? {} : { ttlMinutes })
  }

  /** Ends an export prepared for DICOMweb: its instances and tokens are gone. */
  async endDicomweb (exportId: string): Promise<void> {
    await this.#c.request('DELETE', `/api/research/dicomweb/${exportId}`)
  }

  /**
   * Exports a project as a zip, calling `progress(done, total)` as each image's bytes arrive:
   * `total` is the cohort size the peer announces (X-Medichain-Cohort); images held for a check
   * or skipped never arrive, so the last call is `progress(total, total)`. The counts returned
   * come from manifest.json, the archive's last entry.
   */
  async export (project: string, progress?: (done: number, total: number) => void): Promise<DownloadedExport> {
    const res = await this.#c.request('POST', `/api/research/projects/${project}/export`)
    const total = Number(res.headers.get('x-medichain-cohort') ?? 0)
    const zip = new StoredZipProgress(['manifest.json'])
    const parts: Uint8Array[] = []
    let received = 0
    let shown = -1
    const reader = res.body?.getReader()
    while (reader !== undefined) {
      const { done, value } = await reader.read()
      if (done) break
      parts.push(value)
      received += value.length
      zip.push(value)
      const images = Math.min(total, zip.entries)
      if (images !== shown) progress?.(shown = images, total)
    }
    const json = zip.kept('manifest.json')
    if (json === undefined) throw new MedichainError('EXPORT_INCOMPLETE', 'the export ended before its manifest: download it again')
    const manifest = JSON.parse(new TextDecoder().decode(json)) as { files: unknown[], held?: number, skipped?: unknown[] }
    progress?.(total, total)
    let joined: Uint8Array | undefined
    return {
      get bytes (): Uint8Array {
        if (joined !== undefined) return joined
        const out = new Uint8Array(received)
        let at = 0
        for (const p of parts) { out.set(p, at); at += p.length }
        return (joined = out)
      },
      parts,
      exportId: res.headers.get('x-medichain-export') ?? '',
      images: manifest.files.length,
      held: manifest.held ?? 0,
      skipped: manifest.skipped?.length ?? 0
    }
  }

  /** Published models, oldest first. */
  async models (): Promise<ApiModel[]> {
    return (await this.#json<{ models: ApiModel[] }>('GET', '/api/models/published')).models
  }

  /** The card of one published model. */
  async modelCard (cid: string): Promise<ApiModelCard> {
    return await this.#json('GET', `/api/models/published/${cid}/card`)
  }

  /** The weights of one published model. */
  async modelWeights (cid: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.#c.request('GET', `/api/models/published/${cid}/weights`)).arrayBuffer())
  }

  /** A patient's research uses: "used in research project X". */
  async myUses (): Promise<ApiResearchUse[]> {
    return (await this.#json<{ uses: ApiResearchUse[] }>('GET', '/api/me/research')).uses
  }
}
