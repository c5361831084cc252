// `medichain fl models | pin | unpin | rollback`: an admin sees which published models this
// hospital deployed or holds back and why, pins one, lifts the pin, or rolls back to the model
// deployed before (issue 11). Each signs in like `fl start` and calls /api/fl/deployment.
import { CID } from 'multiformats/cid'
import { HELP_OPTION, parseArgs, parseCommandLine } from './args.ts'
import { FL_MODELS_HELP } from './help.ts'
import { EXIT, println, UsageError } from './io.ts'
import type { CliIo } from './io.ts'
import { asAdmin, DEFAULT_URL } from './as-admin.ts'

const OPTIONS = {
  ...HELP_OPTION,
  url: { type: 'string' },
  username: { type: 'string' },
  'password-file': { type: 'string' },
  model: { type: 'string' },
  json: { type: 'boolean' }
} as const

/** One model as GET /api/fl/deployment lists it (the fields printed here). */
interface ModelLine { cid: string, task: string, round: number, state: string, reason: { code: string, message: string } | null }
interface Deployment { deployed: ModelLine | null, pinned: boolean, models: ModelLine[] }

/** Text lines of a deployment: the deployed model and pin, then every model newest first. */
function describe (d: Deployment): string[] {
  const head = d.deployed === null ? 'deployed: none' : `deployed: ${d.deployed.cid}${d.pinned ? ' (pinned)' : ''}`
  return [head, ...d.models.map(m => `${m.state.padEnd(9)} ${m.cid} ${m.task} round ${m.round}${m.reason === null ? '' : ` — ${m.reason.code}: ${m.reason.message}`}`)]
}

/** Runs `medichain fl <models|pin|unpin|rollback>`; `sub` is the command. */
export async function runFlModels (sub: 'models' | 'pin' | 'unpin' | 'rollback', argv: string[], io: CliIo): Promise<number> {
  const command = `fl ${sub}`
  const { values } = parseCommandLine(command, () => parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }))
  if (values.help === true) {
    io.stdout.write(FL_MODELS_HELP)
    return EXIT.ok
  }
  if (values.username === undefined || values['password-file'] === undefined) throw new UsageError('--username and --password-file are required', command)
  if ((sub === 'pin') !== (values.model !== undefined)) throw new UsageError(sub === 'pin' ? '--model CID is required' : '--model is only for fl pin', command)
  const model = values.model
  if (model !== undefined) {
    try {
      CID.parse(model)
    } catch {
      throw new UsageError(`--model: expected a CID, got ${JSON.stringify(model.slice(0, 80))}`, command)
    }
  }
  const d = await asAdmin(values.url ?? DEFAULT_URL, values.username, values['password-file'], async client => {
    const res = sub === 'models'
      ? await client.request('GET', '/api/fl/deployment')
      : await client.request('POST', `/api/fl/deployment/${sub}`, sub === 'pin' ? { model } : undefined)
    return await res.json() as Deployment
  })
  if (values.json === true) println(io.stdout, JSON.stringify(d))
  else for (const line of describe(d)) println(io.stdout, line)
  return EXIT.ok
}
