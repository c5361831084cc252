// The `npm test` runner: typecheck first, then every test/**/*.test.ts in its own Node process,
// two at a time, each with a deadline. Its last line is always `N passed, N failed`.
// Usage: node scripts/run-tests.ts [--e2e] [path-substring ...]
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CONCURRENCY = 2
const TIMEOUT_MS = Number(process.env.MEDICHAIN_TEST_TIMEOUT ?? 240) * 1000
// test/e2e is included as well: `--e2e` is accepted for symmetry with CI scripts, and ignored.
const filters = process.argv.slice(2).filter(a => !a.startsWith('--'))

interface FileResult { file: string, passed: number, failed: number, problem: string | null }

/** Every *.test.ts under `dir`, sorted so runs are reproducible. */
function findTests (dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...findTests(path))
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) out.push(relative(ROOT, path))
  }
  return out.sort()
}

/** uvu's summary counts, from output with ANSI colours stripped; null when it never printed one. */
function parseSummary (output: string): { total: number, passed: number } | null {
  // eslint-disable-next-line no-control-regex
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '')
  const total = /Total:\s+(\d+)/.exec(plain)
  const passed = /Passed:\s+(\d+)/.exec(plain)
  if (total === null || passed === null) return null
  return { total: Number(total[1]), passed: Number(passed[1]) }
}

const running = new Set<ChildProcess>()

/** Kills a child's whole process group (tests may start peers of their own). */
function killGroup (child: ChildProcess): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // The group is already gone.
  }
}

/** Runs one test file in its own process group and judges it. */
function runFile (file: string): Promise<FileResult> {
  return new Promise(resolve => {
    const started = performance.now()
    const child = spawn(process.execPath, [file], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(child)
    let output = ''
    let timedOut = false
    child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const timer = setTimeout(() => {
      timedOut = true
      killGroup(child)
    }, TIMEOUT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      running.delete(child)
      const seconds = ((performance.now() - started) / 1000).toFixed(1)
      const summary = parseSummary(output)
      let passed = summary?.passed ?? 0
      let failed = summary === null ? 0 : summary.total - summary.passed
      let problem: string | null = null
      if (timedOut) problem = `timed out after ${TIMEOUT_MS / 1000} s`
      else if (summary === null && code !== 0) problem = `crashed (exit ${signal ?? code})`
      else if (summary === null) problem = 'printed no uvu summary (missing test.run()?)'
      else if (code !== 0 && failed === 0) problem = `exited with ${signal ?? code} after its tests passed`
      if (problem !== null) {
        failed = Math.max(failed, 1)
        if (timedOut || summary === null) passed = 0
      }
      process.stdout.write(`\n── ${file} (${seconds} s)${problem !== null ? `: ${problem}` : ''}\n${output.trimEnd()}\n`)
      resolve({ file, passed, failed, problem })
    })
    child.on('error', err => {
      output += `\n${err.message}`
    })
  })
}

/**
 * Marker of a test file that measures time (a latency bound under load): it runs on its own after
 * the others, so a neighbouring test cannot take its core. Put it in the file's opening comment.
 */
const ALONE_MARKER = 'test-runner: alone'

/** Whether `file` asks to run alone (ALONE_MARKER in its first lines). */
function runsAlone (file: string): boolean {
  return readFileSync(join(ROOT, file), 'utf8').split('\n', 12).some(line => line.includes(ALONE_MARKER))
}

/** Runs files with at most CONCURRENCY at a time, then those that must run alone, one by one. */
async function runAll (files: string[]): Promise<FileResult[]> {
  const results: FileResult[] = []
  const shared = files.filter(f => !runsAlone(f))
  let next = 0
  async function worker (): Promise<void> {
    while (next < shared.length) results.push(await runFile(shared[next++]))
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, shared.length) }, worker))
  for (const file of files.filter(runsAlone)) results.push(await runFile(file))
  return results
}

function finish (passed: number, failed: number): never {
  console.log(`${passed} passed, ${failed} failed`)
  process.exit(failed > 0 ? 1 : 0)
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of running) killGroup(child)
    process.exit(130)
  })
}

const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', '.'], { cwd: ROOT, stdio: 'inherit' })
if (tsc.status !== 0) {
  console.log('typecheck failed: tsc --noEmit -p .')
  finish(0, 1)
}

const files = findTests(join(ROOT, 'test')).filter(f => filters.length === 0 || filters.some(s => f.includes(s)))
if (files.length === 0) {
  console.log(`no test files match ${filters.join(' ') || 'test/**/*.test.ts'}`)
  finish(0, 1)
}

const results = await runAll(files)
const passed = results.reduce((n, r) => n + r.passed, 0)
const failed = results.reduce((n, r) => n + r.failed, 0)
const bad = results.filter(r => r.failed > 0).sort((a, b) => a.file.localeCompare(b.file))
console.log(`\n${files.length} files${bad.length > 0 ? `; failing: ${bad.map(r => `${r.file}${r.problem !== null ? ` (${r.problem})` : ''}`).join(', ')}` : ''}`)
finish(passed, failed)
