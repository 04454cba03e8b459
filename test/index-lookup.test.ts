// What each index answers about what it holds — states by id, a document by content hash, a scan of a
// bucket prefix — the same on SQLite and on OpenSearch (through the protocol double).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { OpenSearchIndex } from '../src/adapters/opensearch-index.ts';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { documentId, sourceOf } from '../src/ids.ts';
import type { IndexDocument, SearchIndex } from '../src/types.ts';
import { startOpenSearchDouble } from './helpers/opensearch-double.ts';

const BUCKET = 'b';

function doc(key: string, o: Partial<IndexDocument> = {}): IndexDocument {
  return {
    id: documentId(BUCKET, key), source: sourceOf(BUCKET, key), bucket: BUCKET, key, name: key.split('/').pop()!,
    contentType: 'text/plain', size: 10, etag: `etag-${key}`, status: 'ok', text: `text of ${key}`, truncated: false,
    pages: 1, ocrPages: 0, indexedAt: new Date().toISOString(), extractorVersion: 1, ...o,
  };
}

async function exercise(index: SearchIndex): Promise<void> {
  const keys = ['a/1.txt', 'a/2.txt', 'a/sub/3.txt', 'ab/4.txt', 'b/5.txt'];
  await index.write(keys.map((k, i) => ({ kind: 'upsert', doc: doc(k, { sha256: i < 2 ? 'f'.repeat(64) : `${i}`.repeat(64) }) })));
  await index.write([{ kind: 'upsert', doc: doc('other-bucket.txt', { bucket: 'c', id: documentId('c', 'other-bucket.txt') }) }]);

  const states = await index.states!([documentId(BUCKET, 'a/1.txt'), documentId(BUCKET, 'missing.txt')]);
  assert.equal(states.size, 1);
  const s = states.get(documentId(BUCKET, 'a/1.txt'))!;
  assert.deepEqual({ key: s.key, etag: s.etag, sha256: s.sha256, extractorVersion: s.extractorVersion, status: s.status }, {
    key: 'a/1.txt', etag: 'etag-a/1.txt', sha256: 'f'.repeat(64), extractorVersion: 1, status: 'ok',
  });

  const found = await index.findByHash!('f'.repeat(64), 1);
  assert.ok(found && ['a/1.txt', 'a/2.txt'].includes(found.key), 'a document with those bytes');
  assert.match(found.text, /^text of a\/[12]\.txt$/);
  assert.equal(await index.findByHash!('f'.repeat(64), 2), undefined, 'another extractor version does not count');
  assert.equal(await index.findByHash!('0'.repeat(64), 1), undefined);

  const scanned = [];
  for await (const st of index.scan!(BUCKET, 'a/')) scanned.push(st.key);
  assert.deepEqual(scanned, ['a/1.txt', 'a/2.txt', 'a/sub/3.txt'], 'the prefix, in key order, not ab/ nor another bucket');
  const all = [];
  for await (const st of index.scan!(BUCKET, '')) all.push(st.key);
  assert.deepEqual(all, keys);
}

describe('index lookups', () => {
  test('SQLite', async () => {
    const index = new SqliteIndex(':memory:');
    await index.init();
    await exercise(index);
    await index.close();
  });

  test('OpenSearch (protocol double)', async () => {
    const double = await startOpenSearchDouble();
    const index = new OpenSearchIndex({ node: double.url, index: 'files', maxRetries: 0 });
    try {
      await index.init();
      await exercise(index);
    } finally {
      await index.close();
      await double.stop();
    }
  });

  test('an OpenSearch index made before the new fields gains them in its mapping at init', async () => {
    const double = await startOpenSearchDouble();
    try {
      const first = new OpenSearchIndex({ node: double.url, index: 'files', maxRetries: 0 });
      await first.init();
      const props = (m: unknown) => Object.keys(((m as { mappings?: { properties?: object } }).mappings?.properties) ?? {});
      const res = await fetch(`${double.url}/files/_mapping`);
      // The answer is keyed by the concrete index (the name may be an alias of it).
      assert.ok(props(Object.values((await res.json()) as Record<string, unknown>)[0]).includes('sha256'));
      const again = new OpenSearchIndex({ node: double.url, index: 'files', maxRetries: 0 });
      await again.init();
      assert.ok(double.requests.some((r) => (r.method === 'PUT' || r.method === 'POST') && r.path.endsWith('/_mapping')), 'the existing index got a mapping update');
      await first.close();
      await again.close();
    } finally {
      await double.stop();
    }
  });

  test('a SQLite file from before sha256 and extractor_version gains the columns and keeps its documents', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fsw-migrate-'));
    try {
      const path = join(dir, 'old.db');
      const old = new DatabaseSync(path);
      old.exec(`CREATE TABLE documents (id TEXT PRIMARY KEY, source TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
        content_type TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT, version_id TEXT, sequencer TEXT, last_modified TEXT, status TEXT NOT NULL,
        error TEXT, text TEXT NOT NULL, truncated INTEGER NOT NULL, pages INTEGER NOT NULL, ocr_pages INTEGER NOT NULL, thumbnail TEXT, indexed_at TEXT NOT NULL)`);
      old.prepare(`INSERT INTO documents VALUES ('x', 's3://b/old.txt', 'b', 'old.txt', 'old.txt', 'text/plain', 3, 'e', NULL, NULL, NULL, 'ok', NULL, 'old', 0, 1, 0, NULL, '2026-01-01')`).run();
      old.close();
      const index = new SqliteIndex(path);
      await index.init();
      const s = (await index.states(['x'])).get('x');
      assert.equal(s?.extractorVersion, undefined, 'an old document has no extractor version: it is redone');
      await index.write([{ kind: 'upsert', doc: doc('new.txt', { sha256: 'a'.repeat(64) }) }]);
      assert.equal((await index.findByHash('a'.repeat(64), 1))?.key, 'new.txt');
      await index.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test('lookups made together reach the index as one states() call, and each gets its own answer', async () => {
  const { batchedStateLookup } = await import('../src/flow/state-lookup.ts');
  const index = new SqliteIndex(':memory:');
  await index.init();
  await index.write([{ kind: 'upsert', doc: doc('x/1.txt') }, { kind: 'upsert', doc: doc('x/2.txt') }]);
  const calls: number[] = [];
  const inner = index.states.bind(index);
  index.states = async (ids: string[]) => (calls.push(ids.length), inner(ids));
  const lookup = batchedStateLookup(index, { maxBatch: 100, maxWaitMs: 5 })!;
  const ids = [documentId(BUCKET, 'x/1.txt'), documentId(BUCKET, 'x/2.txt'), documentId(BUCKET, 'nope.txt'), documentId(BUCKET, 'x/1.txt')];
  const got = await Promise.all(ids.map((id) => lookup(id)));
  assert.deepEqual(calls, [3], 'one call, duplicate ids asked once');
  assert.deepEqual(got.map((s) => s?.key), ['x/1.txt', 'x/2.txt', undefined, 'x/1.txt']);
  // A full batch goes at once; an index without states() gives no lookup at all.
  const many = await Promise.all(Array.from({ length: 150 }, (_, i) => lookup(documentId(BUCKET, `m${i}`))));
  assert.equal(many.length, 150);
  assert.deepEqual(calls.slice(1), [100, 50]);
  assert.equal(batchedStateLookup({ kind: 'x', init: async () => {}, write: async () => [], close: async () => {} }), undefined);
  await index.close();
});
