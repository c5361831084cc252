// The ledger's rule on the keys a consent carries (issue 11.3): every key in a `consent.grant` is
// sealed for a hospital peer and bound to its image and part (protocol/crypto/key-wrap.ts wrapBoundKey),
// never a plain box a user could open. The grantee's hospital re-wraps a key for its user only
// after the live consent check, so no key a grantee can use outlives a revoke or an expiry.
import { LedgerRuleError } from '../../protocol/errors.ts'
import { BOUND_WRAPPED_KEY_BYTES } from '../../protocol/crypto/key-wrap.ts'
import type { Tx } from '../../protocol/chain/tx.ts'

/**
 * Throws LedgerRuleError CONSENT_KEYS_UNBOUND unless every key of a `consent.grant` has the size of
 * a bound hospital key. A sealed box does not name its recipient, so the size is what the ledger
 * can check; a patient's honest browser (protocol/chain/consent.ts) wraps only for the grantee's hospital.
 */
export function checkConsentKeys (tx: Tx): void {
  if (tx.type !== 'consent.grant') return
  for (const k of tx.body.keys) {
    if (k.raw.length !== BOUND_WRAPPED_KEY_BYTES || (k.result !== null && k.result.length !== BOUND_WRAPPED_KEY_BYTES)) {
      throw new LedgerRuleError('CONSENT_KEYS_UNBOUND', `consent key for ${k.image.toString()} is not a key bound for the grantee's hospital`)
    }
  }
}
