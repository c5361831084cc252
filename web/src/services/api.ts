// Typed reads of the peer's public ledger routes (docs/api.md), the admin account routes and the
// federated-learning routes, over the SDK client's request (same cookie, CSRF and error codes).
// Shapes are checked lightly: these are our own peer's answers, shown, never signed or trusted.
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { parseFlTask, parseFlTasks } from '../lib/fl/fl.ts'
import type { FlTask } from '../lib/fl/fl.ts'
import { parseFlDeployment } from '../lib/fl/deployment.ts'
import type { FlDeployment } from '../lib/fl/deployment.ts'

/** `GET /api/health`; `storage` and `backend` appear once the peer reports them. */
export interface Health {
  /** `ok`, or `degraded` while `reasons` says why the peer refuses writes. */
  status: string
  reasons?: Array<{ code: string, message: string, since: number }>
  ledger: string
  self: string
  blocks: number
  members: number
  connected: string[]
  uptimeMs: number
  /** Image blocks held on this peer's disk, and the images it pins whole. */
  storedBlocks?: number | null
  pins?: number | null
  /** The tfjs backend, and the CID of the model the upload pipeline runs (null: none deployed). */
  backend?: string
  model?: string | null
}

/** One member of `GET /api/members`. */
export interface Member {
  key: string, name: string, addrs: string[], status: string, flagged: boolean, admittedBy: string | null, self: boolean, connected: boolean
  /** Heights at which the member signed two blocks; its blocks above `refusedAbove` are refused until resolved. */
  equivocations: number[]
  refusedAbove: number | null
  resolutions: Array<{ height: number, keep: string, proposal: string }>
}

/** One equivocation of `GET /api/ledger/evidence`. */
export interface Evidence { author: string, height: number, blocks: [string, string] }

/** A chain head. */
export interface Head { author: string, height: number, hash: string }

/** A block summary of `GET /api/ledger/blocks`. */
export interface BlockSummary {
  hash: string
  header: { author: string, height: number, prev: string | null, time: number, txCount: number, txRoot: string, links: Array<{ author: string, height: number, hash: string }> }
  size: number
  txs: Array<{ id: string, type: string, signer: string, seq: number, time: number }>
}

/** `GET /api/ledger/tx/:id` (admins), or `GET /api/me/tx/:id` (a transaction that concerns the user). */
export interface TxAnswer { id: string, tx: { type: string, body: unknown, signer: string, seq: number, time: number }, location: { blockHash: string, author: string, height: number, index: number }, proof: unknown }

/** An account of `GET /api/accounts`. */
export interface Account { username: string, role: string, status: string, signPub: string, createdAt: number, registeredTx: string | null, lockedUntil: number | null }

async function get<T> (client: MedichainClient, path: string): Promise<T> {
  return await (await client.request('GET', path)).json() as T
}

/** The reads and admin actions the pages use. */
export function api (client: MedichainClient) {
  return {
    health: async () => await get<Health>(client, '/api/health'),
    members: async () => (await get<{ members: Member[] }>(client, '/api/members')).members,
    evidence: async () => (await get<{ evidence: Evidence[] }>(client, '/api/ledger/evidence')).evidence,
    heads: async () => (await get<{ heads: Head[] }>(client, '/api/ledger/heads')).heads,
    blocks: async (author: string, from: number, limit: number) =>
      (await get<{ blocks: BlockSummary[] }>(client, `/api/ledger/blocks?author=${author}&from=${from}&limit=${limit}`)).blocks,
    tx: async (id: string) => await get<TxAnswer>(client, `/api/ledger/tx/${id}`),
    /** One of the signed-in user's own transactions with its proof (the explorer is for admins). */
    myTx: async (id: string) => await get<TxAnswer>(client, `/api/me/tx/${id}`),
    accounts: async (status: 'pending' | 'active' | 'locked') =>
      (await get<{ accounts: Account[] }>(client, `/api/accounts?status=${status}`)).accounts,
    accountAction: async (username: string, action: 'approve' | 'lock' | 'unlock' | 'end-sessions') => {
      await client.request('POST', `/api/accounts/${encodeURIComponent(username)}/${action}`)
    },
    flTasks: async (): Promise<FlTask[]> => parseFlTasks(await get<unknown>(client, '/api/fl/tasks')),
    flTask: async (id: string): Promise<FlTask | null> => parseFlTask(await get<unknown>(client, `/api/fl/tasks/${encodeURIComponent(id)}`)),
    startFl: async (body: Record<string, unknown>): Promise<FlTask | null> =>
      parseFlTask(await (await client.request('POST', '/api/fl/tasks', body)).json()),
    /** Continues an interrupted or stopped task as a new one: `{ id, continues }`. */
    continueFl: async (id: string): Promise<FlTask | null> =>
      parseFlTask(await (await client.request('POST', `/api/fl/tasks/${encodeURIComponent(id)}/continue`)).json()),
    /** Published models: deployed here, or available with the reason (admin). */
    flDeployment: async (): Promise<FlDeployment> => parseFlDeployment(await get<unknown>(client, '/api/fl/deployment')),
    /** Pins a model, lifts the pin, or rolls back; each answers with the new deployment. */
    flDeploy: async (action: 'pin' | 'unpin' | 'rollback', model?: string): Promise<FlDeployment> =>
      parseFlDeployment(await (await client.request('POST', `/api/fl/deployment/${action}`, action === 'pin' ? { model } : undefined)).json())
  }
}

/** The API helper type. */
export type Api = ReturnType<typeof api>
