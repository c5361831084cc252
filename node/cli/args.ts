// Command-line parsing on node:util parseArgs, strict: an unknown flag, a missing value or a stray
// argument becomes a UsageError (exit 2) that names the command, so its usage can be shown.
import { parseArgs } from 'node:util'
import { UsageError } from './io.ts'

/** `-h`/`--help`, accepted by every command. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const

/** Options shared by commands that read a data folder's config. */
export const CONFIG_OPTIONS = {
  data: { type: 'string' },
  config: { type: 'string' },
  'log-level': { type: 'string' }
} as const

/**
 * Runs parseArgs and turns its errors into UsageError for `command`. Callers pass the whole
 * parseArgs config literal so option types are inferred precisely.
 */
export function parseCommandLine<T> (command: string, parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(err.message, command)
    }
    throw err
  }
}

/** Re-export so commands import parsing from one place. */
export { parseArgs }
