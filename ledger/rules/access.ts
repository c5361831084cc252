// Ledger rules on an `access.log` that says what the read was (`use`, docs/design.md §5
// "Access"). Every member checks them, so a hospital cannot record a clinician's opening as a
// listing, a listing as naming an image, or its own training as somebody's view. An entry without
// `use` is the form written before uses existed: it is read as it always was, and judged as before.
import { equals } from '../../protocol/bytes.ts'
import { decode } from '../../protocol/codec.ts'
import { LedgerRuleError } from '../../protocol/errors.ts'
import type { TxOf } from '../../protocol/chain/tx.ts'
import { K } from '../store/keys.ts'

/** Reads state synchronously (validate.ts StateView). */
interface StateView { get(key: string): Uint8Array | undefined }

/** Staff roles that read a patient's images (node/records/access.ts purposeOfRole). */
const READER_ROLES = new Set(['clinician', 'researcher'])

function refuse (message: string): never {
  throw new LedgerRuleError('BAD_ACCESS_LOG', message)
}

/**
 * Throws BAD_ACCESS_LOG unless the entry is consistent: a listing, and only a listing, names no
 * image; a read under a consent, and only such a read, names the consent; the hospital's own
 * training or validation use names the hospital as accessor, under a consent; a listing or an
 * opening names a clinician or researcher the signing hospital registered (`author`), or the
 * hospital itself, as custodian or under a consent, when its DICOM network lists (C-FIND) or
 * retrieves an image (node/dicom/catalogue/retrieve.ts), never in an emergency (only a person declares one).
 */
export function checkAccessLog (tx: TxOf<'access.log'>, author: Uint8Array, view: StateView): void {
  const b = tx.body
  if (b.use === undefined) return
  if ((b.use === 'list') !== (b.image === null)) refuse('a listing names no image, and every other use names one')
  if ((b.basis === 'consent') !== (b.consent !== null)) refuse('a read under a consent names that consent, and a read on any other basis names none')
  if (b.use === 'train' || b.use === 'validate') {
    if (!equals(b.accessor, author)) refuse(`a ${b.use} use is the hospital's own: its accessor is the signing hospital`)
    if (b.basis !== 'consent') refuse(`a ${b.use} use relies on the patient's training consent`)
    return
  }
  if ((b.use === 'open' || b.use === 'list') && equals(b.accessor, author)) {
    if (b.basis === 'emergency') refuse(`an emergency ${b.use === 'open' ? 'opening' : 'listing'} is a clinician's, never the hospital's own`)
    return
  }
  const account = view.get(K.account(b.accessor))
  const a = account === undefined ? undefined : decode(account) as { role: string, hospital: Uint8Array }
  if (a === undefined || !READER_ROLES.has(a.role) || !equals(a.hospital, author)) {
    refuse(`the accessor of a ${b.use} is a clinician or researcher registered by the signing hospital`)
  }
}

/** The state keys checkAccessLog reads. */
export function accessLogKeys (tx: TxOf<'access.log'>): string[] {
  return (tx.body.use === 'list' || tx.body.use === 'open') && !equals(tx.body.accessor, tx.signer) ? [K.account(tx.body.accessor)] : []
}
