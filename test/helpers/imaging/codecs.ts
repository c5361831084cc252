// The DICOM codec packages (node/imaging/dicom/codecs.ts) are optional at run time: a checkout whose
// node_modules predates them runs the rest of the suite and says so; under CI they must be there.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { codecsInstalled, loadCodecs } from '../../../node/imaging/dicom/codecs.ts'

/** Whether the codecs load; when not, a failing test under CI, else a line on stderr. */
export async function codecsPresent (suite: string): Promise<boolean> {
  await loadCodecs()
  if (codecsInstalled()) return true
  if (process.env.CI === 'true') test(`${suite}: the DICOM codec packages are installed under CI`, () => assert.unreachable('npm ci installs them'))
  else process.stderr.write(`${suite}: the DICOM codec packages are not installed (run npm ci); its tests are skipped\n`)
  return false
}
