// `medichain init`: creates the hospital key in the data folder and prints what other hospitals
// need to admit this one (public key and PeerId). Never overwrites an existing key.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CONFIG_FILE, loadConfig } from '../config/index.ts'
import { replaceFile } from '../durable/file.ts'
import { createKeyFile } from '../keys.ts'
import { toHex } from '../../protocol/bytes.ts'
import { CONFIG_OPTIONS, HELP_OPTION, parseArgs, parseCommandLine } from './args.ts'
import { INIT_HELP } from './help.ts'
import { assertWritable } from './explain.ts'
import { EXIT, println, UsageError } from './io.ts'
import type { CliIo } from './io.ts'

/** The trimmed `--name`; wrong usage unless it is 1..128 printable characters. */
function checkName (raw: string): string {
  const name = raw.trim()
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > 128 || /[\u0000-\u001f\u007f]/.test(name)) throw new UsageError('--name: expected 1..128 printable characters', 'init')
  return name
}

/**
 * Records the hospital's display name as `name` in <data>/config.json (keeping every other
 * setting), so the first start's genesis, the banner and the UI all use it. The file is replaced
 * atomically: a crash leaves the old settings or the new ones.
 */
async function saveHospitalName (data: string, name: string): Promise<string> {
  const path = join(data, CONFIG_FILE)
  let current: Record<string, unknown> = {}
  try {
    current = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  await replaceFile(path, `${JSON.stringify({ ...current, name }, null, 2)}\n`, 0o600)
  return path
}

/** Runs `medichain init`. */
export async function runInit (argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('init', () => parseArgs({
    args: argv, options: { ...HELP_OPTION, data: CONFIG_OPTIONS.data, config: CONFIG_OPTIONS.config, name: { type: 'string' } }, strict: true, allowPositionals: false
  }))
  if (values.help === true) {
    io.stdout.write(INIT_HELP)
    return EXIT.ok
  }
  const config = await loadConfig({ flags: { data: values.data, config: values.config }, env: io.env, cwd: io.cwd })
  const name = values.name === undefined ? undefined : checkName(values.name)
  await assertWritable(config.data)
  const key = await createKeyFile(config.data)
  println(io.stdout, `created hospital key ${key.path}`)
  println(io.stdout, `public key: ${toHex(key.publicKey)}`)
  println(io.stdout, `peer id: ${key.peerId}`)
  if (name !== undefined) println(io.stdout, `hospital name "${name}" saved in ${await saveHospitalName(config.data, name)}`)
  return EXIT.ok
}
