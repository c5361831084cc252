// A fresh working folder for each test of a config suite: `cwd` for loadConfig, and `withFile` to
// write `<cwd>/data/config.json`, the file loadConfig reads by default. Removed after each test.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'uvu'

/** The current test's folder. */
export interface ConfigFolder {
  /** The working folder of the test running now. */
  readonly cwd: string
  /** Writes `value` as JSON to `<cwd>/data/config.json`. */
  withFile: (value: unknown) => Promise<void>
}

/** Registers before/after hooks on `suite` that create and remove a folder named `prefix…`. */
export function configFolder (suite: Test, prefix: string): ConfigFolder {
  let cwd = ''
  suite.before.each(async () => {
    cwd = await mkdtemp(join(tmpdir(), prefix))
  })
  suite.after.each(async () => {
    await rm(cwd, { recursive: true, force: true })
  })
  return {
    get cwd () { return cwd },
    async withFile (value) {
      await mkdir(join(cwd, 'data'), { recursive: true })
      await writeFile(join(cwd, 'data', 'config.json'), JSON.stringify(value))
    }
  }
}
