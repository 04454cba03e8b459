// Several processes on one SQLite index file (issue 16): "database is locked" is a wait, then a
// retryable error — never a document rejected. Three writers, small batches, all at once: every op
// succeeds and every row is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';

const root = new URL('..', import.meta.url).pathname;

function writer(db: string, prefix: string, count: number, batch: number): Promise<{ ok: number; failed: number; thrown: number; kinds: string[] }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['test/helpers/sqlite-writer.ts', db, prefix, String(count), String(batch)], { cwd: root });
    let out = '';
    let err = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`writer ${prefix} exited ${code}: ${err}`))));
  });
}

test('three processes writing small batches to one SQLite file at once: no op fails, every row is stored', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fsw-sqlite-'));
  try {
    const db = join(dir, 'index.db');
    const results = await Promise.all(['a', 'b', 'c'].map((p) => writer(db, p, 1500, 5)));
    for (const r of results) assert.deepEqual(r, { ok: 1500, failed: 0, thrown: 0, kinds: [] });
    const index = new SqliteIndex(db);
    await index.init();
    assert.equal(await index.count(), 4500);
    await index.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
