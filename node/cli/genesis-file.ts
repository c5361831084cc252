// Reading and writing the genesis document as JSON (`genesisToJson`: keys in hex). A genesis is
// never overwritten by accident: a different genesis means a different ledger.
import { access, mkdir, open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { MedichainError } from '../../protocol/errors.ts'
import { genesisFromJson, genesisToJson } from '../../protocol/chain/genesis.ts'
import type { Genesis } from '../../protocol/chain/genesis.ts'

/** Thrown when the configured genesis file does not exist. */
export class GenesisNotFoundError extends MedichainError {
  constructor (path: string) {
    super('GENESIS_NOT_FOUND', `no genesis document at ${path}; build one with \`medichain genesis\` or pass --genesis FILE`)
    this.name = 'GenesisNotFoundError'
  }
}

/** Thrown when writing a genesis would replace an existing file. */
export class GenesisExistsError extends MedichainError {
  constructor (path: string) {
    super('GENESIS_EXISTS', `${path} already exists; refusing to overwrite it (pass --force to replace it)`)
    this.name = 'GenesisExistsError'
  }
}

/** True when `path` exists. */
export async function fileExists (path: string): Promise<boolean> {
  try {
    await access(path)
    return true
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return false
    throw err
  }
}

/** Reads and checks a genesis JSON file. Throws GenesisNotFoundError, or SchemaError (BAD_SCHEMA). */
export async function readGenesisFile (path: string): Promise<Genesis> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') throw new GenesisNotFoundError(path)
    throw err
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new MedichainError('BAD_ENCODING', `${path}: the genesis document is not valid JSON`)
  }
  try {
    return genesisFromJson(json)
  } catch (err) {
    if (err instanceof MedichainError) err.message = `${path}: ${err.message}`
    throw err
  }
}

/** The JSON text of a genesis document, as written to files (2-space indent, final newline). */
export function genesisJsonText (genesis: Genesis): string {
  return `${JSON.stringify(genesisToJson(genesis), null, 2)}\n`
}

/** Writes a genesis JSON file, durably; refuses to replace an existing one unless `force`. */
export async function writeGenesisFile (path: string, genesis: Genesis, opts: { force?: boolean } = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  let file
  try {
    file = await open(path, opts.force === true ? 'w' : 'wx', 0o644)
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'EEXIST') throw new GenesisExistsError(path)
    throw err
  }
  try {
    await file.writeFile(genesisJsonText(genesis), 'utf8')
    await file.sync()
  } finally {
    await file.close()
  }
}
