// What a CLI command receives from node/main.ts instead of touching `process`: arguments, the
// environment, the working folder, output streams and a shutdown signal. Tests pass their own.
import { MedichainError } from '../../protocol/errors.ts'
import type { Clock } from '../../ledger/types.ts'

/** A text sink (process.stdout, or a buffer in tests). */
export interface TextOut { write(text: string): unknown }

/** The outside world of one CLI run. */
export interface CliIo {
  cwd: string
  env: Record<string, string | undefined>
  stdout: TextOut
  stderr: TextOut
  /** Aborted on SIGINT or SIGTERM: long-running commands shut down gracefully when it fires. */
  signal: AbortSignal
  clock: Clock
}

/** Process exit codes of the CLI. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const

/** Thrown when the command line is wrong: unknown command or flag, missing or malformed value. */
export class UsageError extends MedichainError {
  /** The command whose usage should be shown ('' for the top level). */
  readonly command: string
  constructor (message: string, command = '') {
    super('USAGE', message)
    this.name = 'UsageError'
    this.command = command
  }
}

/** Writes one line. */
export function println (out: TextOut, line = ''): void {
  out.write(`${line}\n`)
}
