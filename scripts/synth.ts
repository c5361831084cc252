// `npm run data:synth -- --seed N --count N --out DIR [--hospitals 3 --non-iid] [--size 256] [--jpeg]`:
// writes deterministic phantom images with lesion masks as PNG and DICOM (and JPEG), plus a
// manifest (issue 4 "Data"). The same arguments always give byte-identical files.
import { parseArgs } from 'node:util'
import { writeDataset } from './synth/write.ts'
import { InvalidRequestError } from '../protocol/errors.ts'

const USAGE = 'usage: node scripts/synth.ts --seed N --count N --out DIR [--hospitals N] [--non-iid] [--size 256] [--jpeg]'

/** A whole decimal number from a flag, or a usage error naming the flag. */
function integer (flag: string, value: string | undefined, fallback?: number): number {
  if (value === undefined) {
    if (fallback !== undefined) return fallback
    throw new InvalidRequestError(`--${flag} is required`)
  }
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidRequestError(`--${flag} must be a non-negative integer, got ${JSON.stringify(value)}`)
  return Number(value)
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      count: { type: 'string' },
      out: { type: 'string' },
      hospitals: { type: 'string' },
      'non-iid': { type: 'boolean', default: false },
      size: { type: 'string' },
      jpeg: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false }
    },
    strict: true
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  if (values.out === undefined || values.out === '') throw new InvalidRequestError('--out is required')
  const started = performance.now()
  const manifest = await writeDataset({
    seed: integer('seed', values.seed),
    count: integer('count', values.count),
    out: values.out,
    hospitals: integer('hospitals', values.hospitals, 1),
    nonIid: values['non-iid'],
    size: integer('size', values.size, 256),
    jpeg: values.jpeg
  })
  const withLesions = manifest.images.filter(i => i.lesionCount > 0).length
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  console.log(`wrote ${manifest.count} images (${withLesions} with lesions) across ${manifest.hospitals.length} hospital(s) to ${values.out} in ${seconds} s`)
}

/** Bad flags (ours or parseArgs') exit 2 with the usage; anything else (a full disk) exits 1. */
function isUsageError (err: unknown): boolean {
  if (err instanceof InvalidRequestError) return true
  return err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')
}

try {
  await main()
} catch (err) {
  const usage = isUsageError(err)
  console.error(`synth: ${err instanceof Error ? err.message : String(err)}${usage ? `\n${USAGE}` : ''}`)
  process.exitCode = usage ? 2 : 1
}
