#!/usr/bin/env node
// Entry point of the `medichain` command. The only file that reads process.argv and the
// environment: it hands them, the standard streams and a SIGINT/SIGTERM abort signal to the CLI.
import { runCli } from './cli/index.ts'
import { applyGcPolicy } from './gc-policy.ts'

applyGcPolicy()

/** Exit code after a second Ctrl-C: the conventional 128 + SIGINT. */
const FORCED_EXIT = 130

const shutdown = new AbortController()
const onSignal = (signal: NodeJS.Signals): void => {
  if (shutdown.signal.aborted) {
    process.stderr.write(`medichain: ${signal} again, exiting without a clean shutdown\n`)
    process.exit(FORCED_EXIT)
  }
  shutdown.abort(signal)
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

const code = await runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: shutdown.signal,
  clock: Date.now
})
// Exit explicitly: libraries may hold timers after a clean stop, and every store is flushed by now.
process.exit(code)
