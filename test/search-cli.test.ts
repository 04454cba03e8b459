// `search` and `dump` from the terminal against either index: INDEX_URL pointing at OpenSearch (the
// double) works as well as the local SQLite file; filters are flags; bad flags exit 2 with a message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenSearchIndex } from '../src/adapters/opensearch-index.ts';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import type { IndexDocument, SearchIndex } from '../src/types.ts';
import { startOpenSearchDouble } from './helpers/opensearch-double.ts';

const root = new URL('..', import.meta.url).pathname;

// Asynchronous: the OpenSearch double runs in this process and must keep answering.
function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['src/cli.ts', ...args], { cwd: root, env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

function doc(id: string, name: string, text: string, extra: Partial<IndexDocument> = {}): IndexDocument {
  return {
    id, source: `s3://files/経理/${name}`, bucket: 'files', key: `経理/${name}`, name, contentType: 'application/pdf', size: 10, status: 'ok', text,
    truncated: false, pages: 1, ocrPages: 0, indexedAt: '2026-12-01T00:00:00.000Z', lastModified: '2026-11-01T00:00:00.000Z', ...extra,
  };
}

const DOCS = [
  doc('a', '請求書.pdf', '2026年11月分の請求書です。合計 120,000円'),
  doc('b', 'minutes.pdf', '定例会議の議事録 budget review', { status: 'partial' }),
  doc('c', 'broken.pdf', '', { status: 'failed', error: 'bad xref' }),
];

async function exercise(index: SearchIndex, env: Record<string, string>) {
  await index.init();
  await index.write(DOCS.map((d) => ({ kind: 'upsert' as const, doc: d })));
  await index.close();
  const json = await cli(['search', '会議', '--json'], env);
  assert.equal(json.code, 0, json.err);
  assert.deepEqual(json.out.trim().split('\n').map((l) => JSON.parse(l).name), ['minutes.pdf']);
  const human = await cli(['search', '請求書'], env);
  assert.match(human.out, /s3:\/\/files\/経理\/請求書\.pdf {2}\[ok\]\n {4}.*\[請求書\]/);
  assert.match(human.out, /1 of 1 document\(s\)/);
  const filtered = await cli(['search', '--status', 'failed,partial', '--json'], env);
  assert.deepEqual(filtered.out.trim().split('\n').map((l) => JSON.parse(l).id).sort(), ['b', 'c']);
  const bad = await cli(['search', 'x', '--status', 'done'], env);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /status: must be one of ok, partial/);
  const dump = await cli(['dump'], env);
  assert.equal(dump.code, 0, dump.err);
  const lines = dump.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((d) => d.id).sort(), ['a', 'b', 'c']);
  assert.equal(lines.find((d) => d.id === 'c').error, 'bad xref');
  assert.ok(lines.every((d) => 'thumbnail' in d && typeof d.text === 'string'));
}

test('search and dump read OpenSearch when INDEX_URL names it', async () => {
  const double = await startOpenSearchDouble();
  try {
    await exercise(new OpenSearchIndex({ node: double.url, index: 'files' }), { INDEX_URL: `${double.url}/files` });
  } finally {
    await double.stop();
  }
});

test('search and dump read the SQLite file INDEX_URL names', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fsw-search-cli-'));
  try {
    await exercise(new SqliteIndex(join(dir, 'index.db')), { INDEX_URL: `sqlite:${join(dir, 'index.db')}` });
    const missing = await cli(['search', 'x'], { INDEX_URL: `sqlite:${join(dir, 'nope.db')}` });
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no SQLite index at .*nope\.db: run `filesearch-worker index <folder>` first/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('serve refuses to listen beyond loopback without a token, and a weak token, as bad configuration', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fsw-serve-cfg-'));
  try {
    const index = new SqliteIndex(join(dir, 'index.db'));
    await index.init();
    await index.close();
    const env = { INDEX_URL: `sqlite:${join(dir, 'index.db')}`, SERVE_PORT: '0' };
    const open = await cli(['serve'], { ...env, SERVE_HOST: '0.0.0.0' });
    assert.equal(open.code, 78, open.err);
    assert.match(open.err, /bad configuration: SERVE_TOKEN: must be set when SERVE_HOST is not a loopback address/);
    const weak = await cli(['serve'], { ...env, SERVE_HOST: '0.0.0.0', SERVE_TOKEN: 'short' });
    assert.equal(weak.code, 78);
    assert.match(weak.err, /SERVE_TOKEN: must be at least 16 characters/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
