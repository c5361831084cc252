// `medichain ledger verify` re-checks a data folder end to end; `medichain ledger show` prints
// heads, members and a block summary. Both need the peer stopped (level allows one opener) and
// print no transaction bodies: ids, types and counts only.
import { toHex } from '../../protocol/bytes.ts'
import { ledgerIdOf } from '../../protocol/chain/genesis.ts'
import { createLedger } from '../../ledger/ledger.ts'
import { nodeIdentity, nodeVerify } from '../../ledger/verify/node-crypto.ts'
import { verifyLedger } from '../../ledger/verify/verify.ts'
import { loadConfig } from '../config/index.ts'
import type { Config } from '../config/index.ts'
import { loadKeyFile } from '../keys.ts'
import { createLogger } from '../logger.ts'
import type { Logger } from '../logger.ts'
import { ledgerPath } from '../peer.ts'
import { parseHexParam, parseUintParam } from '../http/query.ts'
import { renderBlock, renderHead, renderMember } from '../http/render.ts'
import { CONFIG_OPTIONS, HELP_OPTION, parseArgs, parseCommandLine } from './args.ts'
import { readGenesisFile } from './genesis-file.ts'
import { LEDGER_HELP, LEDGER_SHOW_HELP, LEDGER_VERIFY_HELP } from './help.ts'
import { EXIT, println, UsageError } from './io.ts'
import type { CliIo } from './io.ts'

const COMMON = { ...HELP_OPTION, ...CONFIG_OPTIONS, genesis: { type: 'string' } } as const

async function setup (values: { data?: string, config?: string, genesis?: string, 'log-level'?: string }, io: CliIo): Promise<{ config: Config, logger: Logger }> {
  // These commands are interactive: quieter than the daemon unless a level is asked for.
  const level = values['log-level'] ?? (io.env.MEDICHAIN_LOG_LEVEL === undefined || io.env.MEDICHAIN_LOG_LEVEL === '' ? 'warn' : io.env.MEDICHAIN_LOG_LEVEL)
  const config = await loadConfig({ flags: { ...values, 'log-level': level }, env: io.env, cwd: io.cwd })
  // Logs go to stderr so that stdout stays the command's own output.
  return { config, logger: createLogger({ level: config.logLevel, destination: 2 }) }
}

/** Runs `medichain ledger verify`. */
export async function runLedgerVerify (argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('ledger verify', () => parseArgs({ args: argv, options: COMMON, strict: true, allowPositionals: false }))
  if (values.help === true) {
    io.stdout.write(LEDGER_VERIFY_HELP)
    return EXIT.ok
  }
  const { config, logger } = await setup(values, io)
  const genesis = await readGenesisFile(config.genesis)
  const report = await verifyLedger({ path: ledgerPath(config.data), genesis }, { verify: nodeVerify, logger })
  println(io.stdout, `ledger:     ${toHex(ledgerIdOf(genesis))}`)
  println(io.stdout, `blocks:     ${report.blocks}`)
  println(io.stdout, `txs:        ${report.txs}`)
  println(io.stdout, `state root: ${report.stateRoot}`)
  for (const p of report.problems) println(io.stdout, `problem ${p.code}: ${p.message}`)
  println(io.stdout, report.ok ? 'ledger verify: ok' : `ledger verify: FAILED (${report.problems.length} problems)`)
  return report.ok ? EXIT.ok : EXIT.failure
}

/** Runs `medichain ledger show`. */
export async function runLedgerShow (argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('ledger show', () => parseArgs({
    args: argv,
    options: { ...COMMON, author: { type: 'string' }, from: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
    allowPositionals: false
  }))
  if (values.help === true) {
    io.stdout.write(LEDGER_SHOW_HELP)
    return EXIT.ok
  }
  let author: Uint8Array | undefined
  let from: number
  let limit: number
  try {
    author = values.author === undefined ? undefined : parseHexParam(values.author, '--author', 32)
    from = parseUintParam(values.from, '--from', 0)
    limit = parseUintParam(values.limit, '--limit', 20, 500)
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err), 'ledger show')
  }
  const { config, logger } = await setup(values, io)
  const genesis = await readGenesisFile(config.genesis)
  const key = await loadKeyFile(config.data)
  const ledger = createLedger({ path: ledgerPath(config.data), genesis })({ identity: nodeIdentity(key.seed), verify: nodeVerify, logger, clock: io.clock })
  await ledger.start()
  try {
    const authors = author !== undefined ? [author] : ledger.heads().map(h => h.author)
    const chains = await Promise.all(authors.map(async a => ({ author: a, blocks: await ledger.blocks(a, from, limit) })))
    const root = toHex(await ledger.stateRoot())
    const members = ledger.members().map(m => renderMember(m, ledger.self, new Set()))
    const heads = ledger.heads().map(renderHead)
    if (values.json === true) {
      const out = { ledger: toHex(ledger.id), stateRoot: root, blocks: ledger.size(), members, heads, chains: chains.map(c => ({ author: toHex(c.author), blocks: c.blocks.map(renderBlock) })) }
      println(io.stdout, JSON.stringify(out, null, 2))
      return EXIT.ok
    }
    println(io.stdout, `ledger:     ${toHex(ledger.id)} (${genesis.name})`)
    println(io.stdout, `state root: ${root}`)
    println(io.stdout, `blocks:     ${ledger.size()}`)
    println(io.stdout, 'members:')
    for (const m of members) println(io.stdout, `  ${m.key} ${m.status}${m.flagged ? ' FLAGGED' : ''}${m.self ? ' (self)' : ''} ${m.name}`)
    println(io.stdout, 'heads:')
    for (const h of heads) println(io.stdout, `  ${h.author} height ${h.height} ${h.hash}`)
    for (const c of chains) {
      println(io.stdout, `chain ${toHex(c.author)} from ${from}:`)
      for (const b of c.blocks.map(renderBlock)) {
        const types = new Map<string, number>()
        for (const t of b.txs) types.set(t.type, (types.get(t.type) ?? 0) + 1)
        const summary = [...types].map(([t, n]) => `${t}×${n}`).join(' ') || 'empty'
        println(io.stdout, `  #${b.header.height} ${b.hash} ${new Date(b.header.time).toISOString()} ${b.txs.length} txs ${summary}`)
      }
      const head = heads.find(h => h.author === toHex(c.author))?.height ?? -1
      const shownTo = from + c.blocks.length - 1
      if (shownTo < head) {
        println(io.stdout, `  … ${head - shownTo} more (heights ${shownTo + 1}..${head}): --from ${shownTo + 1} shows the next ${limit}, --limit up to 500`)
      }
    }
    return EXIT.ok
  } finally {
    await ledger.stop()
  }
}

/** Runs `medichain ledger <verify|show>`. */
export async function runLedger (argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === 'verify') return await runLedgerVerify(rest, io)
  if (sub === 'show') return await runLedgerShow(rest, io)
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(LEDGER_HELP)
    return EXIT.ok
  }
  throw new UsageError(sub === undefined ? 'missing ledger command (verify or show)' : `unknown ledger command ${JSON.stringify(sub)}`, 'ledger')
}
