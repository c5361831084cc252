// The large image of the upload benchmark: a synthetic multi-frame 16-bit CT DICOM of 512 × 512
// frames with noise pixels, no PHI beyond placeholder tags. Its own module, so the upload client's
// process (upload-client.ts) builds it without loading the peer.
import { createCipheriv } from 'node:crypto'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'

/** A synthetic multi-frame 16-bit DICOM of about `bytes` (512 × 512 frames), no PHI. */
export function largeDicom (bytes: number): Uint8Array {
  const frames = Math.max(1, Math.round(bytes / (512 * 512 * 2)))
  const pixels = new Uint16Array(512 * 512 * frames)
  const noise = createCipheriv('aes-256-ctr', new Uint8Array(32).fill(3), new Uint8Array(16)).update(new Uint8Array(pixels.buffer))
  pixels.set(new Uint16Array(noise.buffer, noise.byteOffset, pixels.length))
  for (let i = 0; i < pixels.length; i++) pixels[i] &= 0x0fff
  return encodeDicom({
    rows: 512, columns: 512, bitsAllocated: 16, bitsStored: 12, pixels, frames, modality: 'CT',
    sopInstanceUid: '2.25.7001', studyInstanceUid: '2.25.7002', seriesInstanceUid: '2.25.7003',
    patient: { name: 'BENCH^ONLY', id: 'BENCH-1', birthDate: '20000101' }
  })
}

