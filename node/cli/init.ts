// `medichain init`: creates the hospital key in the data folder and prints what other hospitals
// need to admit this one (public key and PeerId). Never overwrites an existing key.
import { loadConfig } from '../config.ts'
import { createKeyFile } from '../keys.ts'
import { toHex } from '../../protocol/bytes.ts'
import { CONFIG_OPTIONS, HELP_OPTION, parseArgs, parseCommandLine } from './args.ts'
import { INIT_HELP } from './help.ts'
import { assertWritable } from './explain.ts'
import { EXIT, println } from './io.ts'
import type { CliIo } from './io.ts'

/** Runs `medichain init`. */
export async function runInit (argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('init', () => parseArgs({
    args: argv, options: { ...HELP_OPTION, data: CONFIG_OPTIONS.data, config: CONFIG_OPTIONS.config }, strict: true, allowPositionals: false
  }))
  if (values.help === true) {
    io.stdout.write(INIT_HELP)
    return EXIT.ok
  }
  const config = await loadConfig({ flags: { data: values.data, config: values.config }, env: io.env, cwd: io.cwd })
  await assertWritable(config.data)
  const key = await createKeyFile(config.data)
  println(io.stdout, `created hospital key ${key.path}`)
  println(io.stdout, `public key: ${toHex(key.publicKey)}`)
  println(io.stdout, `peer id: ${key.peerId}`)
  return EXIT.ok
}
