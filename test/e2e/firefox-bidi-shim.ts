#!/usr/bin/env node
// The executable playwright-core launches in place of Firefox (test-only; see firefox.ts for why):
// starts the Firefox named by MEDICHAIN_FIREFOX_BIN with playwright's arguments, passes its output
// through, and when Firefox says "WebDriver BiDi listening on ws://…" starts the loopback proxy and
// prints the proxy's address in that same line instead, which is what playwright waits for. It
// exits with Firefox's exit code and passes SIGTERM, SIGINT and SIGHUP on to Firefox.
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { createInterface } from 'node:readline'
import { FIREFOX_BIN_ENV, LISTENING, startBidiProxy } from './firefox.ts'
import type { BidiProxy } from './firefox.ts'

const bin = process.env[FIREFOX_BIN_ENV]
if (bin === undefined || bin === '') {
  process.stderr.write(`firefox-bidi-shim: set ${FIREFOX_BIN_ENV} to the Firefox binary\n`)
  process.exit(2)
}

const firefox = spawn(bin, process.argv.slice(2), { stdio: ['ignore', 'inherit', 'pipe'] })
let proxy: BidiProxy | undefined
let started = false

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(signal, () => { firefox.kill(signal) })
}

const lines = createInterface({ input: firefox.stderr, crlfDelay: Infinity })
lines.on('line', (line) => {
  const match = LISTENING.exec(line)
  if (match === null || started) {
    process.stderr.write(`${line}\n`)
    return
  }
  started = true
  // Firefox prints ws://127.0.0.1:<port>; the proxy forwards each connection's path there.
  startBidiProxy({ upstream: match[1], note: (l) => { process.stderr.write(`${l}\n`) } }).then((p) => {
    proxy = p
    process.stderr.write(`WebDriver BiDi listening on ${p.url}\n`)
  }, (err: unknown) => {
    process.stderr.write(`firefox-bidi-shim: the proxy did not start: ${String(err)}\n`)
    firefox.kill('SIGKILL')
  })
})

firefox.on('error', (err) => {
  process.stderr.write(`firefox-bidi-shim: cannot start ${bin}: ${err.message}\n`)
  process.exit(1)
})

firefox.on('exit', (code, signal) => {
  proxy?.close()
  process.exit(code ?? (signal === null ? 1 : 128 + constants.signals[signal]))
})
