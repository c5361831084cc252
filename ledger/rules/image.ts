// Ledger rules on an `image.add` body beyond its schema. The ledger and its gossip reach every
// member, so a field copied from an image file may carry only values from a closed list.
import { isModalityTerm } from '../../protocol/dicom-modalities.ts'
import { LedgerRuleError } from '../../protocol/errors.ts'
import type { CID } from 'multiformats/cid'
import type { TxBodies } from '../../protocol/chain/tx.ts'

/**
 * Throws BAD_STUDY for a DICOM series place without a study (record), and BAD_MODALITY unless the modality is a DICOM Modality defined term (PS3.3 §C.7.3.1.1.1;
 * peers write 'OT' for anything else). The message never repeats the value, which may be PHI.
 */
export function checkImageAdd (body: TxBodies['image.add']): void {
  if (!isModalityTerm(body.modality)) {
    throw new LedgerRuleError('BAD_MODALITY', 'image.add modality must be a DICOM Modality defined term (OT for any other value)')
  }
  // A series belongs to a study: the study is the image's record (docs/design.md §5 "Studies and series").
  if (body.dicom !== undefined && body.record === null) {
    throw new LedgerRuleError('BAD_STUDY', 'image.add with a series place must name its study as its record')
  }
  checkMetaCid(body.meta, [body.raw, body.result])
}

/**
 * Throws BAD_IMAGE_META when an image's sealed card (`meta`) names the same CID as one of its
 * parts: pins, deletion after a revoke and re-keying treat each CID as one part only.
 */
export function checkMetaCid (meta: CID | undefined, parts: Array<CID | null>): void {
  if (meta === undefined) return
  if (parts.some(c => c !== null && c.equals(meta))) {
    throw new LedgerRuleError('BAD_IMAGE_META', 'an image card (meta) must have its own CID, not the raw or result image\'s')
  }
}
