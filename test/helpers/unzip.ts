// Info-ZIP's unzip as the independent judge of the archives we write: it tests every entry's CRC,
// lists the names and extracts one entry.
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from './ledger/fixture.ts'

async function run (args: string[]): Promise<Buffer> {
  return await new Promise((resolve, reject) => {
    execFile('unzip', args, { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`unzip ${args[0]} failed: ${stderr.toString()}`))
      else resolve(stdout)
    })
  })
}

/** An archive written to a temp file, with unzip's view of it. */
export interface Unzipped { names: string[], read (name: string): Promise<Buffer>, path: string }

/** Writes `zip` to a temp file, has unzip test it (`-t`) and returns its entry names and a reader. */
export async function unzip (zip: Uint8Array): Promise<Unzipped> {
  const path = join(await tempDir('medichain-zip-'), 'archive.zip')
  await writeFile(path, zip)
  await run(['-tq', path])
  const names = (await run(['-Z1', path])).toString('utf8').split('\n').filter(n => n !== '')
  return { names, path, read: async (name: string) => await run(['-p', path, name]) }
}
