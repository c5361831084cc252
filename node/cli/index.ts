// The `medichain` command: dispatches to init, genesis, start and ledger, and turns errors into
// exit codes: 0 success, 1 failure (printed as `error CODE: message`), 2 wrong usage.
import { MedichainError } from '../../protocol/errors.ts'
import { ADMIN_HELP, FL_HELP, FL_START_HELP, GENESIS_HELP, INIT_HELP, LEDGER_HELP, LEDGER_SHOW_HELP, LEDGER_VERIFY_HELP, MAIN_HELP, START_HELP } from './help.ts'
import { explainError } from './explain.ts'
import { EXIT, println, UsageError } from './io.ts'
import type { CliIo } from './io.ts'

const HELP_BY_COMMAND: Record<string, string> = {
  '': MAIN_HELP,
  init: INIT_HELP,
  genesis: GENESIS_HELP,
  start: START_HELP,
  ledger: LEDGER_HELP,
  'ledger verify': LEDGER_VERIFY_HELP,
  'ledger show': LEDGER_SHOW_HELP,
  fl: FL_HELP,
  'fl start': FL_START_HELP,
  admin: ADMIN_HELP,
  'admin setup-link': ADMIN_HELP
}

/** Commands load on demand: `--help` and usage errors then answer without importing libp2p or level. */
const COMMANDS: Record<string, (argv: string[], io: CliIo) => Promise<number>> = {
  init: async (argv, io) => await (await import('./init.ts')).runInit(argv, io),
  genesis: async (argv, io) => await (await import('./genesis.ts')).runGenesis(argv, io),
  start: async (argv, io) => await (await import('./start.ts')).runStart(argv, io),
  ledger: async (argv, io) => await (await import('./ledger.ts')).runLedger(argv, io),
  fl: async (argv, io) => await (await import('./fl.ts')).runFl(argv, io),
  admin: async (argv, io) => await (await import('./admin.ts')).runAdmin(argv, io)
}

async function dispatch (argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined) throw new UsageError('missing command')
  if (command === '--help' || command === '-h') {
    io.stdout.write(MAIN_HELP)
    return EXIT.ok
  }
  if (command === 'help') {
    const topic = rest.join(' ')
    const text = HELP_BY_COMMAND[topic]
    if (text === undefined) throw new UsageError(`no help for ${JSON.stringify(topic)}`)
    io.stdout.write(text)
    return EXIT.ok
  }
  const run = COMMANDS[command]
  if (run === undefined) throw new UsageError(`unknown command ${JSON.stringify(command)}`)
  // `<command> [sub] --help` answers from the help texts, without loading the command (start
  // would load libp2p, helia and tfjs first: seconds on a busy machine, for a page of text).
  if (rest.includes('--help') || rest.includes('-h')) {
    const sub = rest[0] !== undefined && !rest[0].startsWith('-') ? `${command} ${rest[0]}` : command
    const text = HELP_BY_COMMAND[sub] ?? HELP_BY_COMMAND[command]
    if (text !== undefined) {
      io.stdout.write(text)
      return EXIT.ok
    }
  }
  return await run(rest, io)
}

/** Runs the CLI with `argv` (without the node and script paths) and returns the exit code. */
export async function runCli (argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io)
  } catch (err) {
    if (err instanceof UsageError) {
      println(io.stderr, `medichain: ${err.message}`)
      println(io.stderr)
      io.stderr.write(HELP_BY_COMMAND[err.command] ?? MAIN_HELP)
      return EXIT.usage
    }
    const explained = explainError(err)
    if (explained !== undefined) {
      println(io.stderr, `error ${explained.code}: ${explained.message}`)
      return EXIT.failure
    }
    if (err instanceof MedichainError && err.code === 'INVALID_CONFIG' && err.message.startsWith('--')) {
      // A malformed flag value is wrong usage (exit 2), as the exit-code table says; a bad value in
      // the config file or the environment is a failure of the setup (exit 1).
      println(io.stderr, `error ${err.code}: ${err.message}`)
      return EXIT.usage
    }
    if (err instanceof MedichainError) {
      println(io.stderr, `error ${err.code}: ${err.message}`)
      return EXIT.failure
    }
    const e = err instanceof Error ? err : new Error(String(err))
    const code = 'code' in e && typeof e.code === 'string' ? e.code : 'INTERNAL'
    println(io.stderr, `error ${code}: ${e.message}`)
    if (io.env.MEDICHAIN_DEBUG === '1' && e.stack !== undefined) println(io.stderr, e.stack)
    return EXIT.failure
  }
}
