// Finds import circles among the TypeScript files under some folders: every group of files that
// import one another round a loop (Tarjan's strongly connected components over relative imports,
// type-only ones included). The web UI keeps none; `node scripts/import-circles.ts web/src` exits 1
// and lists them when one appears.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Relative specifiers in `import … from '…'`, `export … from '…'`, `import '…'` and `import('…')`. */
const SPECIFIER = /(?:from\s+|import\s*\(?\s*)'(\.{1,2}\/[^']+)'/g

function tsFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : tsFiles(path)
    return e.name.endsWith('.ts') ? [path] : []
  })
}

/** The import graph of the .ts files under `dirs`: absolute path → the files under `dirs` it imports. */
export function importGraph (dirs: string[]): Map<string, string[]> {
  const files = dirs.flatMap(d => tsFiles(resolve(d)))
  const known = new Set(files)
  return new Map(files.map(f => {
    const targets = [...readFileSync(f, 'utf8').matchAll(SPECIFIER)].map(m => resolve(dirname(f), m[1]))
    return [f, [...new Set(targets)].filter(t => known.has(t))]
  }))
}

/** Every circle in `graph`: each a sorted list of two or more files that reach one another. */
export function importCircles (graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const circles: string[][] = []
  const visit = (v: string): void => {
    const at = index.size
    index.set(v, at)
    low.set(v, at)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) visit(w)
      if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? at, low.get(w) ?? at))
    }
    if (low.get(v) !== at) return
    const group: string[] = []
    for (let w = stack.pop(); w !== undefined; w = w === v ? undefined : stack.pop()) {
      onStack.delete(w)
      group.push(w)
    }
    if (group.length > 1) circles.push(group.sort())
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return circles
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dirs = process.argv.slice(2)
  const circles = importCircles(importGraph(dirs.length > 0 ? dirs : ['web/src']))
  for (const c of circles) console.log(`circle: ${c.map(f => relative(process.cwd(), f)).join(' ⇄ ')}`)
  console.log(`${circles.length} import circles`)
  process.exitCode = circles.length > 0 ? 1 : 0
}
