import { test } from 'node:test';
import assert from 'node:assert/strict';
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
