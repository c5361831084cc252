// Ledger rules on an `image.add` body beyond its schema. The ledger and its gossip reach every
// member, so a field copied from an image file may carry only values from a closed list.
import { isModalityTerm } from '../protocol/dicom-modalities.ts'
import { LedgerRuleError } from '../protocol/errors.ts'
import type { TxBodies } from '../protocol/tx.ts'

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
}
