// The SDK side of assisted recovery (issue 16.3), next to the client rather than inside it: the
// new key pair, vault and recovery code are made where the patient types the new password (the
// admin's kiosk page of the hospital that checks their identity), and the `patient.rekey` is
// signed there by the new key. Admins list, co-sign and veto requests; a patient's old devices
// list the requests naming their id and veto them with the old key.
import { fromHex, toHex } from '../bytes.ts'
import type { MedichainClient } from './client.ts'
import { accountRegistrationProof } from '../chain/consent.ts'
import { deriveAuthSecret } from '../crypto/auth-secret.ts'
import { nobleIdentity } from '../crypto/ed25519.ts'
import { MedichainError } from '../errors.ts'
import { deriveRecoverySecret, newRecoveryCode, normaliseRecoveryCode } from '../crypto/recovery-code.ts'
import { parseBody, signTx } from '../chain/tx.ts'
import { txToBase64 } from '../chain/tx-transport.ts'
import { generateUserKeys } from '../crypto/user-keys.ts'
import { sealVault } from '../crypto/vault.ts'

/** A request as the API lists it (keys and ids in hex). */
export interface ApiRekey {
  id: string
  old: string
  patientId: string
  key: string
  hospital: { key: string, name: string | null }
  time: number
  status: 'cosigning' | 'waiting' | 'effective' | 'vetoed'
  effectiveAt: number | null
  neededCustodians: number
  custodians: Array<{ key: string, name: string | null }>
  cosigners: Array<{ key: string, name: string | null, time: number }>
  vetoes: Array<{ by: string, kind: 'patient' | 'custodian', time: number }>
}

async function json<T> (client: MedichainClient, method: string, path: string, body?: unknown): Promise<T> {
  const res = await client.request(method, path, body)
  return await res.json() as T
}

/**
 * Starts an assisted recovery at this hospital (an admin's session, after checking the patient in
 * person): makes the new keys, seals them under the new password and a new recovery code, signs
 * the `patient.rekey` of `oldPatientId` with the new key, and creates the new account. Resolves to
 * the request id, the new patient id and the recovery code to show once.
 */
export async function startAssistedRecovery (client: MedichainClient, input: { username: string, password: string, oldPatientId: string, vaultIterations?: number }): Promise<{ id: string, patientId: string, recoveryCode: string }> {
  const peer = await client.peerInfo()
  const keys = generateUserKeys()
  const username = input.username.toLowerCase()
  try {
    const code = newRecoveryCode()
    const body = parseBody('patient.rekey', { old: fromHex(input.oldPatientId), box: keys.boxPub, hospital: peer.self })
    const identity = nobleIdentity(keys.signSeed)
    const rekey = signTx(peer.ledger, { type: 'patient.rekey', body, signer: identity.publicKey, seq: 0, time: Date.now() }, identity)
    const made = await json<{ patientId: string, rekey: string }>(client, 'POST', '/api/accounts/recovered', {
      username,
      password: await deriveAuthSecret(username, input.password),
      role: 'patient',
      keys: { sign: toHex(keys.signPub), box: toHex(keys.boxPub) },
      pop: toHex(accountRegistrationProof({ ledgerId: peer.ledger, keys, role: 'patient', hospital: peer.self })),
      vault: await sealVault(keys, input.password, { username, iterations: input.vaultIterations }),
      recovery: { secret: await deriveRecoverySecret(username, code), vault: await sealVault(keys, normaliseRecoveryCode(code), { username, iterations: input.vaultIterations }) },
      rekey: txToBase64(rekey)
    })
    return { id: made.rekey, patientId: made.patientId, recoveryCode: code }
  } finally {
    keys.signSeed.fill(0)
    keys.boxSecret.fill(0)
  }
}

/** The requests concerning patients whose images this hospital holds, or that it started (admin). */
export async function listRekeys (client: MedichainClient): Promise<ApiRekey[]> {
  return (await json<{ rekeys: ApiRekey[] }>(client, 'GET', '/api/rekeys')).rekeys
}

/** This hospital co-signs a request: it checked the patient's identity (admin). */
export async function cosignRekey (client: MedichainClient, id: string): Promise<{ id: string }> {
  return await json(client, 'POST', `/api/rekeys/${id}/cosign`)
}

/** This hospital vetoes a request during its waiting period (admin). */
export async function vetoRekey (client: MedichainClient, id: string): Promise<{ id: string }> {
  return await json(client, 'POST', `/api/rekeys/${id}/veto`)
}

/** The requests to move the signed-in patient's id to another key (`from`), and those that made it (`to`). */
export async function myRekeys (client: MedichainClient): Promise<{ nextSeq: number, from: ApiRekey[], to: ApiRekey[] }> {
  return await json(client, 'GET', '/api/me/rekeys')
}

/** The patient vetoes a request to move their id to another key, signing with the key it would replace. */
export async function vetoMyRekey (client: MedichainClient, id: string): Promise<{ id: string }> {
  const keys = client.keys
  if (keys === null) throw new MedichainError('VAULT_LOCKED', 'unlock first: the veto is signed with your key')
  const peer = await client.peerInfo()
  const mine = await myRekeys(client)
  const request = mine.from.find(r => r.id === id)
  if (request === undefined) throw new MedichainError('NOT_FOUND', 'no request to move your id has this id')
  const identity = nobleIdentity(keys.signSeed)
  const body = parseBody('patient.veto', { rekey: fromHex(id), patient: fromHex(request.old) })
  const tx = signTx(peer.ledger, { type: 'patient.veto', body, signer: identity.publicKey, seq: mine.nextSeq, time: Date.now() }, identity)
  return await json(client, 'POST', `/api/me/rekeys/${id}/veto`, { tx: txToBase64(tx) })
}
