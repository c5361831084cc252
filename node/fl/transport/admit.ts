// The checks every FL message passes before any part of FL sees it, whichever way it came (gossip
// validator in gossip.ts, direct stream in direct.ts): sending peer a member, well-formed, signer a
// member, signature valid, and a coordinator's message signed by the coordinator its task id names.
import type { PeerId } from '@libp2p/interface'
import { toHex } from '../../../protocol/bytes.ts'
import type { Verifier } from '../../../protocol/crypto/ed25519.ts'
import { isCoordinatorOf } from '../../../ledger/rules/fl.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { codeOf } from '../../p2p/errors.ts'
import { isMemberPeer } from '../../p2p/gater.ts'
import { decodeFlMessage, isCoordinatorMessage, signerOf, verifyFlMessage } from './messages.ts'
import type { FlMessage } from './messages.ts'

/** Why a message was refused: the code, the sending peer and, once known, the signer and kind. */
export interface Refusal { code: string, from: string, signer?: string, kind?: FlMessage['kind'] }

/** A message admitted, or the refusal. */
export type Admission = { message: FlMessage, refusal?: undefined } | { refusal: Refusal, message?: undefined }

/** Runs the checks of the file comment on `bytes` received from `peer`. Never throws. */
export function admitFlMessage (ledger: Pick<Ledger, 'id' | 'isMember'>, verify: Verifier, peer: PeerId, bytes: Uint8Array): Admission {
  const from = peer.toString()
  if (!isMemberPeer(ledger, peer)) return { refusal: { code: 'NOT_MEMBER_PEER', from } }
  let message: FlMessage
  try {
    message = decodeFlMessage(bytes)
  } catch (err) {
    return { refusal: { code: codeOf(err), from } }
  }
  const refusal = { from, signer: toHex(signerOf(message)), kind: message.kind }
  if (!ledger.isMember(signerOf(message))) return { refusal: { ...refusal, code: 'NOT_MEMBER' } }
  try {
    verifyFlMessage(ledger.id, message, verify)
  } catch (err) {
    return { refusal: { ...refusal, code: codeOf(err) } }
  }
  // Round messages come only from the coordinator the task id names, as the ledger requires of its model.publish.
  if (isCoordinatorMessage(message) && !isCoordinatorOf(message.task, signerOf(message))) return { refusal: { ...refusal, code: 'NOT_TASK_COORDINATOR' } }
  return { message }
}
