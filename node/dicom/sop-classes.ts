// The storage SOP classes the C-STORE SCP accepts: the image storage classes dcmjs-dimse names
// (PS3.4 §B.5), without structured reports, encapsulated documents and video, which the upload
// pipeline cannot decode and so would only be refused after the transfer.
import dimse from 'dcmjs-dimse'

const NOT_IMAGES = /Sr(Storage)?$|SRStorage$|Encapsulated|Video/

/** SOP Class UIDs accepted in a storage presentation context. */
export const STORAGE_SOP_CLASSES: ReadonlySet<string> = new Set(
  Object.entries(dimse.constants.StorageClass).filter(([name]) => !NOT_IMAGES.test(name)).map(([, uid]) => uid)
)
