// The CLI as scripts and shells expect it (issue 16): --version, --help for every command (exit 0),
// usage errors on stderr with exit 2, a closed stdout ends a command quietly (exit 0), a missing
// index is named, and a METRICS_PORT already in use is a configuration error (78) naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import type { IndexDocument } from '../src/types.ts';

const root = new URL('..', import.meta.url).pathname;
const ENV = { ...process.env, LOG_LEVEL: 'warn', POOL_SIZE: '1' };

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['bin/filesearch-worker.js', ...args], { cwd: root, env: { ...ENV, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('--version, and --help for every command, answer on stdout with exit 0', () => {
  const v = cli(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.out, /^filesearch-worker \d+\.\d+\.\d+\n$/);
  for (const command of ['run', 'index', 'search', 'dump', 'serve', 'reindex']) {
    const r = cli([command, '--help']);
    assert.equal(r.code, 0, `${command} --help: ${r.err}`);
    assert.match(r.out, new RegExp(`^usage: filesearch-worker ${command}\\b`), command);
    assert.equal(r.err, '');
  }
  assert.equal(cli(['--help']).code, 0);
});

test('usage errors: unknown flags, a missing argument, no command or an unknown one: usage on stderr, exit 2', () => {
  for (const args of [['index', '--bogus', 'x'], ['run', '--foo'], ['dump', '--nope'], ['search', 'x', '--limit'], ['index'], [], ['frobnicate']]) {
    const r = cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, /usage: filesearch-worker/, `usage on stderr for ${args.join(' ')}`);
    assert.equal(r.out, '', `nothing on stdout for ${args.join(' ')}`);
  }
});

test('search and dump on an index that does not exist say so, and create nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fsw-conv-'));
  try {
    for (const args of [['search', 'x', '--db', join(dir, 'none.db')], ['dump', '--db', join(dir, 'none.db')]]) {
      const r = cli(args);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /no SQLite index at .*none\.db/);
    }
    assert.equal(spawnSync('ls', [dir], { encoding: 'utf8' }).stdout, '', 'no empty database was created');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('`dump | head -1`: a closed stdout ends the command quietly with exit 0', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fsw-conv-'));
  try {
    const db = join(dir, 'index.db');
    const index = new SqliteIndex(db);
    await index.init();
    const docs: IndexDocument[] = Array.from({ length: 3000 }, (_, i) => ({
      id: `d${i}`, source: `/x/d${i}.txt`, bucket: '', key: `/x/d${i}.txt`, name: `d${i}.txt`, contentType: 'text/plain', size: 10,
      status: 'ok', text: `document ${i} ${'words '.repeat(50)}`, truncated: false, pages: 1, ocrPages: 0, indexedAt: new Date().toISOString(),
    }));
    await index.write(docs.map((doc) => ({ kind: 'upsert', doc })));
    await index.close();
    const result = await new Promise<{ code: number | null; signal: string | null; err: string; first: string }>((resolve) => {
      const c = spawn(process.execPath, ['bin/filesearch-worker.js', 'dump', '--db', db], { cwd: root, env: ENV });
      let err = '';
      let first = '';
      c.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      c.stdout.setEncoding('utf8').once('data', (d: string) => {
        first = d.split('\n')[0]!;
        c.stdout.destroy(); // what `head -1` does once it has its line
      });
      c.on('exit', (code, signal) => resolve({ code, signal, err, first }));
    });
    assert.match(result.first, /^\{"id":/);
    assert.deepEqual({ code: result.code, signal: result.signal }, { code: 0, signal: null }, result.err);
    assert.doesNotMatch(result.err, /EPIPE|Unhandled/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('METRICS_PORT already in use: exit 78 with a message naming the variable', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fsw-conv-'));
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '0.0.0.0', r));
  const port = (taken.address() as { port: number }).port;
  try {
    const r = cli(['run'], { QUEUE_URL: 'http://127.0.0.1:9/000000000000/q', AWS_REGION: 'us-east-1', INDEX_URL: `sqlite:${join(dir, 'i.db')}`, METRICS_PORT: String(port), TMPDIR: dir });
    assert.equal(r.code, 78, r.err);
    assert.match(r.err, new RegExp(`METRICS_PORT: port ${port} is already in use`));
    assert.doesNotMatch(r.err, /EADDRINUSE.*\n\s+at /, 'no stack trace');
  } finally {
    taken.close();
    await rm(dir, { recursive: true, force: true });
  }
});
