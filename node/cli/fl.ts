// `medichain fl start`: an admin starts a federated-learning task on a running peer, which then
// coordinates it (issue 4). Signs in through the client SDK like the web UI does; the password
// comes from a file so it never appears in the process list or shell history.
import { readFile } from 'node:fs/promises'
import { MedichainClient } from '../../protocol/client.ts'
import { HELP_OPTION, parseArgs, parseCommandLine } from './args.ts'
import { FL_HELP, FL_START_HELP } from './help.ts'
import { EXIT, println, UsageError } from './io.ts'
import type { CliIo } from './io.ts'

const OPTIONS = {
  ...HELP_OPTION,
  url: { type: 'string' },
  username: { type: 'string' },
  'password-file': { type: 'string' },
  task: { type: 'string' },
  rounds: { type: 'string' },
  epochs: { type: 'string' },
  'min-participants': { type: 'string' },
  aggregation: { type: 'string' }
} as const

function positiveInt (v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined
  if (!/^[1-9][0-9]{0,5}$/.test(v)) throw new UsageError(`--${flag}: expected a positive integer, got ${JSON.stringify(v)}`, 'fl start')
  return Number(v)
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
  if (aggregation !== undefined && aggregation !== 'fedavg' && aggregation !== 'trimmed-mean') throw new UsageError('--aggregation: fedavg or trimmed-mean', 'fl start')
  const body = Object.fromEntries(Object.entries({
    task: values.task,
    rounds: positiveInt(values.rounds, 'rounds'),
    epochs: positiveInt(values.epochs, 'epochs'),
    minParticipants: positiveInt(values['min-participants'], 'min-participants'),
    aggregation
  }).filter(([, v]) => v !== undefined))
  const password = (await readFile(values['password-file'], 'utf8')).replace(/\r?\n$/, '')
  const client = new MedichainClient({ baseUrl: values.url ?? 'http://127.0.0.1:8080' })
  await client.signIn(values.username, password)
  const res = await client.request('POST', '/api/fl/tasks', body)
  const { id } = await res.json() as { id: string }
  println(io.stdout, `federated-learning task ${id} started; follow it at ${values.url ?? 'http://127.0.0.1:8080'}/api/fl/tasks/${id}`)
  await client.signOut()
  return EXIT.ok
}

/** Runs `medichain fl <start>`. */
export async function runFl (argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === 'start') return await runFlStart(rest, io)
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(FL_HELP)
    return EXIT.ok
  }
  throw new UsageError(sub === undefined ? 'missing fl command (start)' : `unknown fl command ${JSON.stringify(sub)}`, 'fl')
}
