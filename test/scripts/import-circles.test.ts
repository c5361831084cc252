// The import-circle finder on files written to a temp dir (a two-file circle, a three-file ring,
// type-only and dynamic imports, a tree without one), and the web UI's own sources: none.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { importCircles, importGraph } from '../../scripts/import-circles.ts'

let dir = ''
test.before.each(() => { dir = mkdtempSync(join(tmpdir(), 'mc-circles-')) })
test.after.each(() => { rmSync(dir, { recursive: true, force: true }) })

function write (files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
}
const names = (circles: string[][]): string[][] => circles.map(c => c.map(f => f.slice(dir.length + 1)))

test('a tree of imports has no circle', () => {
  write({ 'a.ts': "import './b.ts'\nimport { c } from './sub/c.ts'\n", 'b.ts': "import './sub/c.ts'\n", 'sub/c.ts': 'export const c = 1\n' })
  assert.equal(importCircles(importGraph([dir])), [])
})

test('two files that import each other are a circle, type-only imports included', () => {
  write({ 'a.ts': "import type { B } from './sub/b.ts'\n", 'sub/b.ts': "import '../a.ts'\nexport type B = 1\n", 'c.ts': "import './a.ts'\n" })
  assert.equal(names(importCircles(importGraph([dir]))), [['a.ts', 'sub/b.ts']])
})

test('a ring of three through a dynamic import and a multi-line import is one circle', () => {
  write({
    'a.ts': "void import('./b.ts')\n",
    'b.ts': "import {\n  c\n} from './c.ts'\n",
    'c.ts': "export { a } from './a.ts'\n"
  })
  assert.equal(names(importCircles(importGraph([dir]))), [['a.ts', 'b.ts', 'c.ts']])
})

test('the web UI (web/src) has no import circle', () => {
  const web = fileURLToPath(new URL('../../web/src', import.meta.url))
  const graph = importGraph([web])
  assert.ok(graph.size > 50, 'the web sources were read')
  assert.ok([...graph.values()].some(t => t.length > 0), 'their imports were read')
  assert.equal(importCircles(graph), [])
})

test.run()
