// The parts of the codec packages' APIs (they ship no usable types) that dicom/codecs.ts uses.
declare module 'jpeg-lossless-decoder-js' {
  /** JPEG Lossless (ITU T.81 process 14) decoder: samples of 8 bits as Uint8Array, more as Uint16Array. */
  export class Decoder {
    decode (buffer: ArrayBuffer, offset: number, length: number, numBytes?: number): Uint8Array | Uint16Array | Int16Array
  }
}
