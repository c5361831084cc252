// `medichain genesis`: builds the consortium's genesis document from the founding hospitals'
// public keys and addresses, given as `--member` specs or read from their data folders.
import { resolve } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { fromHex, toHex } from '../../protocol/bytes.ts'
import { createGenesis, ledgerIdOf, QUORUM_RULES } from '../../protocol/chain/genesis.ts'
import type { GenesisMember } from '../../protocol/chain/genesis.ts'
import { loadConfig } from '../config/index.ts'
import { loadKeyFile } from '../keys.ts'
import { HELP_OPTION, parseArgs, parseCommandLine } from './args.ts'
import { genesisJsonText, writeGenesisFile } from './genesis-file.ts'
import { GENESIS_HELP } from './help.ts'
import { EXIT, println, UsageError } from './io.ts'
import type { CliIo } from './io.ts'

/** Parses one `--member` spec: `name=N,key=HEX,addr=MA[,addr=MA...]`. */
export function parseMemberSpec (spec: string): GenesisMember {
  let name: string | undefined
  let key: Uint8Array | undefined
  const addrs: string[] = []
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=')
    if (eq <= 0) throw new UsageError(`--member ${JSON.stringify(spec)}: expected name=…,key=…,addr=… pairs`, 'genesis')
    const k = part.slice(0, eq).trim()
    const v = part.slice(eq + 1).trim()
    if (k === 'name') {
      if (v.length === 0 || v.length > 128) throw new UsageError('--member: name must be 1..128 characters', 'genesis')
      name = v
    } else if (k === 'key') {
      if (!/^[0-9a-fA-F]{64}$/.test(v)) throw new UsageError(`--member: key must be 64 hex digits (an Ed25519 public key), got ${JSON.stringify(v.slice(0, 70))}`, 'genesis')
      key = fromHex(v.toLowerCase())
    } else if (k === 'addr') {
      try {
        addrs.push(multiaddr(v).toString())
      } catch {
        throw new UsageError(`--member: ${JSON.stringify(v)} is not a valid multiaddr`, 'genesis')
      }
    } else {
      throw new UsageError(`--member: unknown field ${JSON.stringify(k)} (expected name, key, addr)`, 'genesis')
    }
  }
  if (name === undefined || key === undefined) throw new UsageError(`--member ${JSON.stringify(spec)}: name and key are required`, 'genesis')
  return { name, key, addrs }
}

/** A founding member from a hospital's data folder: its key file, config name and addresses. */
export async function memberFromDataDir (dir: string, cwd: string): Promise<GenesisMember> {
  const data = resolve(cwd, dir)
  const key = await loadKeyFile(data)
  const config = await loadConfig({ flags: { data }, env: {}, cwd })
  return { name: config.name, key: key.publicKey, addrs: config.p2p.announce }
}

/** Runs `medichain genesis`. */
export async function runGenesis (argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('genesis', () => parseArgs({
    args: argv,
    options: {
      ...HELP_OPTION,
      name: { type: 'string' },
      member: { type: 'string', multiple: true },
      'from-data': { type: 'string', multiple: true },
      quorum: { type: 'string' },
      created: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' }
    },
    strict: true,
    allowPositionals: false
  }))
  if (values.help === true) {
    io.stdout.write(GENESIS_HELP)
    return EXIT.ok
  }
  if (values.name === undefined || values.name.trim() === '') throw new UsageError('--name is required', 'genesis')
  const quorum = QUORUM_RULES.find(r => r === (values.quorum ?? 'majority'))
  if (quorum === undefined) {
    throw new UsageError(`--quorum: expected one of ${QUORUM_RULES.join(', ')}, got ${JSON.stringify(values.quorum)}`, 'genesis')
  }
  let created = io.clock()
  if (values.created !== undefined) {
    if (!/^\d{1,16}$/.test(values.created)) throw new UsageError('--created: expected milliseconds since the epoch', 'genesis')
    created = Number(values.created)
  }
  const members = (values.member ?? []).map(parseMemberSpec)
  const dirs = (values['from-data'] ?? []).flatMap(d => d.split(',')).map(d => d.trim()).filter(d => d.length > 0)
  for (const dir of dirs) members.push(await memberFromDataDir(dir, io.cwd))
  if (members.length === 0) throw new UsageError('at least one --member or --from-data folder is required', 'genesis')
  const seen = new Set<string>()
  for (const m of members) {
    const hex = toHex(m.key)
    if (seen.has(hex)) throw new UsageError(`the key ${hex.slice(0, 12)}… is listed twice`, 'genesis')
    seen.add(hex)
  }
  const genesis = createGenesis({ name: values.name.trim(), created, members, quorum })
  if (values.out === undefined) {
    io.stdout.write(genesisJsonText(genesis))
    return EXIT.ok
  }
  const out = resolve(io.cwd, values.out)
  await writeGenesisFile(out, genesis, { force: values.force === true })
  println(io.stdout, `wrote genesis ${out}`)
  println(io.stdout, `ledger id: ${toHex(ledgerIdOf(genesis))}`)
  for (const m of genesis.members) println(io.stdout, `member: ${m.name} ${toHex(m.key)} ${m.addrs.join(' ')}`)
  return EXIT.ok
}
