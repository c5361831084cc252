// `medichain fl start` and `medichain fl continue`: an admin starts a federated-learning task on a
// running peer, which then coordinates it (issue 4), or continues an interrupted or stopped one;
// `fl models`, `pin`, `unpin` and `rollback` are in fl-models.ts.
// Signs in through the client SDK like the web UI does; the password comes from a file so it never
// appears in the process list or shell history.
import { HELP_OPTION, parseArgs, parseCommandLine } from './args.ts'
import { FL_CONTINUE_HELP, FL_HELP, FL_START_HELP } from './help.ts'
import { EXIT, println, UsageError } from './io.ts'
import type { CliIo } from './io.ts'
import { runFlModels } from './fl-models.ts'
import { asAdmin, DEFAULT_URL } from './as-admin.ts'

const OPTIONS = {
  ...HELP_OPTION,
  url: { type: 'string' },
  username: { type: 'string' },
  'password-file': { type: 'string' },
  task: { type: 'string' },
  rounds: { type: 'string' },
  epochs: { type: 'string' },
  'min-participants': { type: 'string' },
  aggregation: { type: 'string' },
  clip: { type: 'string' }
} as const


function positiveInt (v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined
  if (!/^[1-9][0-9]{0,5}$/.test(v)) throw new UsageError(`--${flag}: expected a positive integer, got ${JSON.stringify(v)}`, 'fl start')
  return Number(v)
}

function positiveNumber (v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!/^[0-9]+(\.[0-9]+)?$/.test(v) || !(n > 0) || n > 1e6) throw new UsageError(`--${flag}: expected a positive number up to 1e6, got ${JSON.stringify(v)}`, 'fl start')
  return n
}

/** Runs `medichain fl start`. */
export async function runFlStart (argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('fl start', () => parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }))
  if (values.help === true) {
    io.stdout.write(FL_START_HELP)
    return EXIT.ok
  }
  if (values.username === undefined || values['password-file'] === undefined) throw new UsageError('--username and --password-file are required', 'fl start')
  const aggregation = values.aggregation
  if (aggregation !== undefined && aggregation !== 'fedavg' && aggregation !== 'trimmed-mean' && aggregation !== 'secure') throw new UsageError('--aggregation: fedavg, trimmed-mean or secure', 'fl start')
  const clip = positiveNumber(values.clip, 'clip')
  if (aggregation === 'secure' && clip === undefined) throw new UsageError('--aggregation secure needs --clip: it bounds every update, so the masked sum cannot overflow', 'fl start')
  const body = Object.fromEntries(Object.entries({
    task: values.task,
    rounds: positiveInt(values.rounds, 'rounds'),
    epochs: positiveInt(values.epochs, 'epochs'),
    minParticipants: positiveInt(values['min-participants'], 'min-participants'),
    aggregation,
    clip
  }).filter(([, v]) => v !== undefined))
  const url = values.url ?? DEFAULT_URL
  const { id } = await asAdmin(url, values.username, values['password-file'], async client =>
    await (await client.request('POST', '/api/fl/tasks', body)).json() as { id: string })
  println(io.stdout, `federated-learning task ${id} started; follow it at ${url}/api/fl/tasks/${id}`)
  return EXIT.ok
}

const CONTINUE_OPTIONS = { ...HELP_OPTION, url: OPTIONS.url, username: OPTIONS.username, 'password-file': OPTIONS['password-file'], id: { type: 'string' } } as const

/** Runs `medichain fl continue`: the peer starts a new task from where the given one stopped. */
export async function runFlContinue (argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('fl continue', () => parseArgs({ args: argv, options: CONTINUE_OPTIONS, strict: true, allowPositionals: false }))
  if (values.help === true) {
    io.stdout.write(FL_CONTINUE_HELP)
    return EXIT.ok
  }
  if (values.username === undefined || values['password-file'] === undefined || values.id === undefined) {
    throw new UsageError('--id, --username and --password-file are required', 'fl continue')
  }
  const url = values.url ?? DEFAULT_URL
  const old = values.id
  const { id } = await asAdmin(url, values.username, values['password-file'], async client =>
    await (await client.request('POST', `/api/fl/tasks/${encodeURIComponent(old)}/continue`)).json() as { id: string })
  println(io.stdout, `federated-learning task ${id} continues ${old}; follow it at ${url}/api/fl/tasks/${id}`)
  return EXIT.ok
}

/** Runs `medichain fl <start|continue>`. */
export async function runFl (argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === 'start') return await runFlStart(rest, io)
  if (sub === 'continue') return await runFlContinue(rest, io)
  if (sub === 'models' || sub === 'pin' || sub === 'unpin' || sub === 'rollback') return await runFlModels(sub, rest, io)
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(FL_HELP)
    return EXIT.ok
  }
  throw new UsageError(sub === undefined ? 'missing fl command (start, continue, models, pin, unpin or rollback)' : `unknown fl command ${JSON.stringify(sub)}`, 'fl')
}
