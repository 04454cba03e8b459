// SQLite specifics of the query model: one- and two-character words are answered from the gram
// table exactly as a scan would answer them, an index from before that table is filled on open,
// and a read-only reader of such an old index (no grams, no lookup table, no language column) still
// answers the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { SqliteSearch } from '../src/adapters/sqlite-search.ts';
import { buildQuery } from '../src/search/query.ts';
import type { IndexDocument } from '../src/types.ts';
import { prng } from './helpers/chaos.ts';

const CHARS = [...'会議請求書予算売上検索東京aAbB1２ー・、。 '];

function docs(n: number): IndexDocument[] {
  const rand = prng(7);
  return Array.from({ length: n }, (_, i) => {
    const text = Array.from({ length: 5 + Math.floor(rand() * 30) }, () => CHARS[Math.floor(rand() * CHARS.length)]).join('');
    return {
      id: `d${i}`, source: `/f/${i}.txt`, bucket: '', key: `/f/${i}.txt`, name: `${i}.txt`, contentType: 'text/plain', size: text.length, status: 'ok',
      text, truncated: false, pages: 1, ocrPages: 0, indexedAt: '2026-12-01T00:00:00.000Z', lastModified: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`,
    } satisfies IndexDocument;
  });
}

async function ids(path: string, q: string): Promise<string[]> {
  const s = new SqliteSearch(path);
  try {
    const page = await s.search(buildQuery({ q, limit: 100 }, { maxPageSize: 100 }));
    assert.ok(page.total <= 100);
    return page.hits.map((h) => h.id).sort();
  } finally {
    await s.close();
  }
}

test('short words: the gram table answers exactly what a scan answers; removals and updates keep it right', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fsw-grams-'));
  const path = join(dir, 'index.db');
  try {
    const index = new SqliteIndex(path);
    await index.init();
    const all = docs(80);
    await index.write(all.map((doc) => ({ kind: 'upsert' as const, doc })));
    await index.write([{ kind: 'remove', id: 'd3' }, { kind: 'upsert', doc: { ...all[4]!, text: '会議 only now' } }]);
    await index.close();
    const queries = ['会', '会議', '請求', 'a', 'ab', 'B1', '２', 'ー', '予算 会議', '検索 東京', '書', '、', 'a、'];
    const withGrams = new Map<string, string[]>();
    for (const q of queries) withGrams.set(q, await ids(path, q));
    assert.ok(withGrams.get('会議')!.includes('d4'), 'an updated document is found by its new words');
    assert.ok(!withGrams.get('会')!.includes('d3'), 'a removed document is gone');
    assert.ok(withGrams.get('会')!.length > 10, 'the corpus has matches to compare');

    // The same index without the gram table: a reader scans, and must agree.
    const db = new DatabaseSync(path);
    const lookupRows = db.prepare('SELECT rid, id, source, status, content_type, language, last_modified FROM documents_lookup ORDER BY rid').all();
    const documentRows = db.prepare('SELECT rowid AS rid, id, source, status, content_type, language, last_modified FROM documents ORDER BY rowid').all();
    assert.deepEqual(lookupRows, documentRows, 'the lookup table follows inserts, updates and removals');
    db.exec(`DROP TABLE documents_grams; DROP TABLE documents_lookup; DROP TRIGGER documents_lookup_ai; DROP TRIGGER documents_lookup_au;
      DROP TRIGGER documents_lookup_ad; DROP INDEX IF EXISTS documents_language; ALTER TABLE documents DROP COLUMN language;`);
    db.close();
    for (const q of queries) assert.deepEqual(await ids(path, q), withGrams.get(q), `scan and grams agree on ${JSON.stringify(q)}`);
    const old = new SqliteSearch(path);
    const byLanguage = await old.search(buildQuery({ lang: ['ja'] }));
    assert.equal(byLanguage.total, 0, 'an index from before languages: a language filter matches nothing, and nothing fails');
    assert.deepEqual(byLanguage.facets.language, {});
    await old.close();

    // Opening it for writing again fills the gram table from the stored documents.
    const reopened = new SqliteIndex(path);
    await reopened.init();
    await reopened.close();
    const check = new DatabaseSync(path, { readOnly: true });
    assert.ok(check.prepare("SELECT 1 FROM sqlite_master WHERE name = 'documents_grams'").get());
    assert.equal((check.prepare("SELECT count(*) AS n FROM documents_grams WHERE documents_grams MATCH '\"会\"'").get() as { n: number }).n, withGrams.get('会')!.length);
    check.close();
    for (const q of queries) assert.deepEqual(await ids(path, q), withGrams.get(q), `backfilled grams agree on ${JSON.stringify(q)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
