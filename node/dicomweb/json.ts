// The DICOM JSON model (PS3.18 Annex F): attributes keyed by their 8-hex-digit tag, each with its
// VR and a Value array (a PN value is an object with an Alphabetic group, F.2.2). Empty values are
// written without Value (F.2.5).

/** One attribute. */
export interface DicomJsonAttribute { vr: string, Value?: unknown[] }

/** A data set in the DICOM JSON model. */
export type DicomJson = Record<string, DicomJsonAttribute>

/** An attribute of `vr` with `values`, leaving out empty strings (an absent value is no Value). */
export function attr (vr: string, values: unknown[]): DicomJsonAttribute {
  const kept = values.filter(v => v !== '' && v !== undefined && v !== null)
  return kept.length === 0 ? { vr } : { vr, Value: kept }
}

/** A UI attribute of one UID. */
export function uidAttr (uid: string): DicomJsonAttribute {
  return attr('UI', [uid])
}

/** A PN attribute of one name in its alphabetic representation (PS3.18 F.2.2). */
export function personName (name: string): DicomJsonAttribute {
  return name === '' ? { vr: 'PN' } : { vr: 'PN', Value: [{ Alphabetic: name }] }
}
