// The layout's rules, checked on the import graph of src/ (static imports, `import type` and dynamic
// import() alike): the pool thread's side stays apart, folders do not import each other in a circle,
// and the root of src/ holds only the story and the shared vocabulary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(new URL('../src', import.meta.url).pathname);
const THREAD_ENTRY = 'workers/extract-worker.ts';
/** Root modules the thread side may use: shared vocabulary, no main-thread machinery. */
const THREAD_MAY_IMPORT = new Set(['types.ts', 'errors.ts', 'ids.ts', 'config.ts']);
const MAX_ROOT_FILES = 8;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return name.endsWith('.ts') ? [relative(SRC, p)] : [];
  });
}

/** Relative imports of each file, as paths under src/. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(join(SRC, file), 'utf8');
    const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1]!);
    graph.set(file, specs.map((s) => relative(SRC, resolve(SRC, dirname(file), s))));
  }
  return graph;
}

/** A module's place in the folder graph: its top folder under src/, or the root file itself. */
const nodeOf = (file: string) => file.split('/')[0]!;

test('the import graph is read (every import resolves to a file under src/)', () => {
  const graph = importGraph();
  assert.ok(graph.size > 40, `only ${graph.size} files found`);
  const files = new Set(graph.keys());
  const missing = [...graph].flatMap(([f, deps]) => deps.filter((d) => !files.has(d)).map((d) => `${f} -> ${d}`));
  assert.deepEqual(missing, []);
  assert.ok(graph.get('pipeline.ts')!.includes('flow/channel.ts'), 'a known import is seen');
});

test('nothing on the main side imports the pool thread entry', () => {
  const offenders = [...importGraph()].filter(([f, deps]) => !f.startsWith('workers/') && deps.includes(THREAD_ENTRY)).map(([f]) => f);
  assert.deepEqual(offenders, [], 'import the contract from src/workers/protocol.ts instead');
});

test('the thread side (src/workers/) imports only itself and the shared vocabulary', () => {
  const bad = [...importGraph()]
    .filter(([f]) => f.startsWith('workers/'))
    .flatMap(([f, deps]) => deps.filter((d) => !d.startsWith('workers/') && !THREAD_MAY_IMPORT.has(d)).map((d) => `${f} -> ${d}`));
  assert.deepEqual(bad, []);
});

test('no cycle between folders', () => {
  const edges = new Map<string, Set<string>>();
  for (const [f, deps] of importGraph()) {
    for (const d of deps) {
      if (nodeOf(f) === nodeOf(d)) continue;
      if (!edges.has(nodeOf(f))) edges.set(nodeOf(f), new Set());
      edges.get(nodeOf(f))!.add(nodeOf(d));
    }
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const walk = (n: string, path: string[]) => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'open') {
      cycles.push([...path.slice(path.indexOf(n)), n].join(' -> '));
      return;
    }
    state.set(n, 'open');
    for (const m of edges.get(n) ?? []) walk(m, [...path, n]);
    state.set(n, 'done');
  };
  for (const n of edges.keys()) walk(n, []);
  assert.deepEqual(cycles, []);
});

test(`src/ root holds at most ${MAX_ROOT_FILES} files`, () => {
  const root = readdirSync(SRC).filter((n) => statSync(join(SRC, n)).isFile());
  assert.ok(root.length <= MAX_ROOT_FILES, `src/ has ${root.length} files (${root.join(', ')}): put new code in a folder`);
});
