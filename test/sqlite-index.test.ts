import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import type { IndexDocument } from '../src/types.ts';

function doc(id: string, text: string, sequencer?: string): IndexDocument {
  return {
    id, source: `s3://b/${id}`, bucket: 'b', key: id, name: id, contentType: 'text/plain', size: text.length, status: 'ok',
    text, truncated: false, pages: 1, ocrPages: 0, indexedAt: new Date().toISOString(), ...(sequencer ? { sequencer } : {}),
  };
}

test('an older event never overwrites a newer document, nor brings back one a newer event removed', async () => {
  const index = new SqliteIndex(':memory:');
  await index.init();
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: doc('k', 'newer text', '0055AED6DCD90281F0') }]), [{ ok: true }]);
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: doc('k', 'older text', '0055AED6DCD90281E5') }]), [{ ok: true, stale: true }]);
  assert.equal((await index.get('k'))?.text, 'newer text');
  // Sequencers of different lengths compare after right-padding with zeros.
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: doc('k', 'newest', '0055AED6DCD90281F01') }]), [{ ok: true }]);

  await index.write([{ kind: 'remove', id: 'k', sequencer: '0055AED6DCD9028200' }]);
  assert.equal(await index.get('k'), undefined);
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: doc('k', 'late old upload', '0055AED6DCD90281FF') }]), [{ ok: true, stale: true }]);
  assert.equal(await index.get('k'), undefined, 'the removed document stays removed');
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: doc('k', 'uploaded again', '0055AED6DCD9028300') }]), [{ ok: true }]);
  assert.equal((await index.get('k'))?.text, 'uploaded again');

  // A remove older than the document leaves it alone.
  await index.write([{ kind: 'remove', id: 'k', sequencer: '0055AED6DCD9028250' }]);
  assert.equal((await index.get('k'))?.text, 'uploaded again');
  await index.close();
});

test('search: AND of terms, Japanese substrings, snippets, and LIKE wildcards in the query are literal', async () => {
  const index = new SqliteIndex(':memory:');
  await index.init();
  await index.write([
    { kind: 'upsert', doc: doc('a', '請求書 2026年11月分 株式会社サンプル 合計 120,000円') },
    { kind: 'upsert', doc: doc('b', 'invoice for November, total 100% paid') },
    { kind: 'upsert', doc: doc('c', 'invoice draft') },
  ]);
  assert.deepEqual((await index.search('請求書', 10)).map((h) => h.id), ['a']);
  assert.deepEqual((await index.search('株式会社 合計', 10)).map((h) => h.id), ['a']);
  assert.deepEqual((await index.search('invoice paid', 10)).map((h) => h.id), ['b']);
  assert.deepEqual((await index.search('%', 10)).map((h) => h.id), ['b'], 'a % in the query matches a literal %');
  assert.match((await index.search('November', 10))[0]!.snippet, /<mark>November<\/mark>/);
  assert.equal((await index.search('   ', 10)).length, 3, 'no words: every document');
  await index.close();
});

test('metadata and language are stored typed (lists as lists, dates as ISO text) and read back', async () => {
  const index = new SqliteIndex(':memory:');
  await index.init();
  const d: IndexDocument = { ...doc('m', '議事録'), title: '定例会議 議事録', authors: ['山田', 'Smith, John'], keywords: ['会議'], created: '2024-04-01T09:30:00.000Z', orientation: 6, language: 'ja', openWith: 'DocuWorks' };
  await index.write([{ kind: 'upsert', doc: d }]);
  const back = await index.get('m');
  assert.deepEqual(back?.authors, ['山田', 'Smith, John']);
  assert.equal(back?.title, '定例会議 議事録');
  assert.equal(back?.created, '2024-04-01T09:30:00.000Z');
  assert.equal(back?.orientation, 6);
  assert.equal(back?.language, 'ja');
  assert.equal(back?.openWith, 'DocuWorks');
  assert.equal(back?.modified, undefined, 'absent fields stay absent');
  // A re-index without metadata clears it (no stale title from an older version).
  await index.write([{ kind: 'upsert', doc: doc('m', '議事録 v2') }]);
  assert.equal((await index.get('m'))?.title, undefined);
  await index.close();
});

test('a database from before the metadata columns is upgraded in place, its rows kept', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sqlite-upgrade-'));
  const path = join(dir, 'index.db');
  try {
    const old = new DatabaseSync(path);
    old.exec(`CREATE TABLE documents (id TEXT PRIMARY KEY, source TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
      content_type TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT, version_id TEXT, sequencer TEXT, last_modified TEXT, status TEXT NOT NULL,
      error TEXT, text TEXT NOT NULL, truncated INTEGER NOT NULL, pages INTEGER NOT NULL, ocr_pages INTEGER NOT NULL, thumbnail TEXT, indexed_at TEXT NOT NULL)`);
    old.exec(`INSERT INTO documents VALUES ('o', 's3://b/o', 'b', 'o', 'o', 'text/plain', 3, NULL, NULL, NULL, NULL, 'ok', NULL, 'old', 0, 1, 0, NULL, '2024-01-01T00:00:00.000Z')`);
    old.close();
    const index = new SqliteIndex(path);
    await index.init();
    assert.equal((await index.get('o'))?.text, 'old');
    await index.write([{ kind: 'upsert', doc: { ...doc('n', 'new'), language: 'en', title: 'New' } }]);
    assert.equal((await index.get('n'))?.language, 'en');
    await index.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
