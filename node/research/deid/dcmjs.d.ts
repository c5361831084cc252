// The part of dcmjs's API (0.50, which ships no types) that the de-identifier uses: read a Part 10
// file into the DICOM JSON-like model (PS3.18 §F.2, keyed by 8-hex-digit tags) and write it back.
declare module 'dcmjs' {
  /** One attribute: its VR and its values (PN as {Alphabetic}, SQ items as nested data sets, binary as ArrayBuffer). */
  export interface DicomElement { vr: string, Value?: unknown[], InlineBinary?: string, BulkDataURI?: string }
  /** A data set keyed by tag, upper-case hex without punctuation, e.g. '00100010'. */
  export type DicomDataset = Record<string, DicomElement>
  export interface DicomDictInstance { meta: DicomDataset, dict: DicomDataset, write (options?: { allowInvalidVRLength?: boolean }): ArrayBuffer }
  interface Data {
    DicomMessage: { readFile (buffer: ArrayBuffer, options?: { ignoreErrors?: boolean }): DicomDictInstance }
    DicomDict: new (meta: DicomDataset) => DicomDictInstance
    DicomMetaDictionary: {
      nameMap: Record<string, { tag: string, vr: string, name: string }>
      /** Keyword-keyed ("naturalized") data set to the tag-keyed model; `_vrMap` names the VR of ambiguous ones. */
      denaturalizeDataset (dataset: Record<string, unknown>): DicomDataset
    }
  }
  const dcmjs: { data: Data }
  export default dcmjs
}
