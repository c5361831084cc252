// `medichain admin setup-link`: asks the running peer for a new one-time admin setup link, signed
// with the hospital key from the data folder. Only someone who can read that key (the IT team on
// the peer's host) can ask, and no restart is needed.
import { toHex } from '../../protocol/bytes.ts'
import { ledgerIdOf } from '../../protocol/chain/genesis.ts'
import { MedichainError } from '../../protocol/errors.ts'
import { nodeIdentity } from '../../ledger/verify/node-crypto.ts'
import { signSetupRequest } from '../auth/http/setup-request.ts'
import { loadConfig } from '../config/index.ts'
import { loadKeyFile } from '../keys.ts'
import { CONFIG_OPTIONS, HELP_OPTION, parseArgs, parseCommandLine } from './args.ts'
import { readGenesisFile } from './genesis-file.ts'
import { ADMIN_HELP } from './help.ts'
import { EXIT, println, UsageError } from './io.ts'
import type { CliIo } from './io.ts'

/** How long the peer has to answer (ms): a running peer answers in well under a second. */
const PEER_ANSWER_MS = 15_000

/** Thrown when the peer cannot be reached, or refuses the request. */
export class PeerRequestError extends MedichainError {
  constructor (code: string, message: string) {
    super(code, message)
    this.name = 'PeerRequestError'
  }
}

/** Runs `medichain admin …`. */
export async function runAdmin (argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === '--help' || sub === '-h' || sub === undefined) {
    io.stdout.write(ADMIN_HELP)
    return sub === undefined ? EXIT.usage : EXIT.ok
  }
  if (sub !== 'setup-link') throw new UsageError(`unknown admin command ${JSON.stringify(sub)}`, 'admin')
  const { values } = parseCommandLine('admin', () => parseArgs({
    args: rest, options: { ...HELP_OPTION, data: CONFIG_OPTIONS.data, config: CONFIG_OPTIONS.config, url: { type: 'string' } }, strict: true, allowPositionals: false
  }))
  if (values.help === true) {
    io.stdout.write(ADMIN_HELP)
    return EXIT.ok
  }
  const config = await loadConfig({ flags: { data: values.data, config: values.config }, env: io.env, cwd: io.cwd })
  const key = await loadKeyFile(config.data)
  const genesis = await readGenesisFile(config.genesis)
  const url = (values.url ?? `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${config.http.port}`).replace(/\/+$/, '')
  const time = io.clock()
  const sig = signSetupRequest(nodeIdentity(key.seed), ledgerIdOf(genesis), time)
  let res: Response
  try {
    // Something that accepts the connection but never answers must not hang the command.
    res = await fetch(`${url}/api/setup/link`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ time, sig: toHex(sig) }), signal: AbortSignal.timeout(PEER_ANSWER_MS) })
  } catch {
    throw new PeerRequestError('PEER_UNREACHABLE', `no peer answers at ${url}: start it (npm start), or pass its address with --url`)
  }
  const body = await res.json().catch(() => ({})) as { token?: string, code?: string, message?: string }
  if (res.status !== 201 || typeof body.token !== 'string') throw new PeerRequestError(body.code ?? 'INTERNAL', body.message ?? `the peer answered ${res.status}`)
  println(io.stdout, `admin setup (one-time link, keep it private): ${url}/setup#token=${body.token}`)
  return EXIT.ok
}
