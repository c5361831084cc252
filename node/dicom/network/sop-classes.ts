// The storage SOP classes the C-STORE SCP accepts: the image storage classes dcmjs-dimse names
// (PS3.4 §B.5), without structured reports, encapsulated documents and video, which the upload
// pipeline cannot decode and so would only be refused after the transfer.
import dimse from 'dcmjs-dimse'
import { SEGMENTATION_SOP_CLASS } from '../results/ai-segmentation.ts'

const NOT_IMAGES = /Sr(Storage)?$|SRStorage$|Encapsulated|Video/

/** SOP Class UIDs accepted in a storage presentation context. */
export const STORAGE_SOP_CLASSES: ReadonlySet<string> = new Set(
  Object.entries(dimse.constants.StorageClass).filter(([name]) => !NOT_IMAGES.test(name)).map(([, uid]) => uid)
)

/**
 * Storage SOP classes this peer only sends: the Segmentations it derives from detect-strange
 * results (ai-segmentation.ts), offered as C-GET sub-operations. A storage context for one is
 * accepted only on an association that also proposes a C-GET, and a C-STORE of one is refused
 * (PS3.4 §B.2.3 status 0122, SOP class not supported): the upload pipeline cannot decode it.
 */
export const RETRIEVE_ONLY_SOP_CLASSES: ReadonlySet<string> = new Set([SEGMENTATION_SOP_CLASS])
