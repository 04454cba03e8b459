// The query model against a real OpenSearch (the ja_en analyzer, wildcard over bigrams, highlight,
// post_filter facets, search_after): runs only when OPENSEARCH_URL is set, in a throwaway index.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client } from '@opensearch-project/opensearch';
import { OpenSearchIndex } from '../src/adapters/opensearch-index.ts';
import { OpenSearchSearch } from '../src/adapters/opensearch-search.ts';
import { buildQuery } from '../src/search/query.ts';
import type { IndexDocument } from '../src/types.ts';

const url = process.env.OPENSEARCH_URL;
const skip = url ? false : 'OPENSEARCH_URL is not set';
const INDEX = `filesearch-search-live-${Date.now()}-${randomBytes(3).toString('hex')}`;

function doc(id: string, text: string, extra: Partial<IndexDocument> = {}): IndexDocument {
  return {
    id, source: `s3://live/${id}.txt`, bucket: 'live', key: `${id}.txt`, name: `${id}.txt`, contentType: 'text/plain', size: 1, status: 'ok', text,
    truncated: false, pages: 1, ocrPages: 0, indexedAt: '2026-12-01T00:00:00.000Z', lastModified: '2026-06-01T00:00:00.000Z', ...extra,
  };
}

let search: OpenSearchSearch;

before(async () => {
  if (!url) return;
  const index = new OpenSearchIndex({ node: url, index: INDEX });
  await index.init();
  const docs = [
    doc('inv', '請求書 2026年11月分 合計 120,000円'),
    doc('min', 'Meeting minutes: the quarterly budget review. 定例会議の議事録', { status: 'partial' }),
    ...Array.from({ length: 12 }, (_, i) => doc(`r${String(i).padStart(2, '0')}`, `quarterly report ${i} <script>x</script>`)),
  ];
  assert.ok((await index.write(docs.map((d) => ({ kind: 'upsert' as const, doc: d })))).every((r) => r.ok));
  await index.close();
  const client = new Client({ node: url });
  await client.indices.refresh({ index: INDEX });
  await client.close();
  search = new OpenSearchSearch({ node: url, index: INDEX, requestTimeoutMs: 10_000 });
});

after(async () => {
  if (!url) return;
  await search.close();
  const client = new Client({ node: url });
  await client.indices.delete({ index: INDEX }, { ignore: [404] });
  await client.close();
});

const ids = async (input: Parameters<typeof buildQuery>[0]) => (await search.search(buildQuery(input))).hits.map((h) => h.id).sort();

test('live: Japanese one and two characters, English words and phrases, filters, facets, paging, escaped snippets', { skip }, async () => {
  assert.deepEqual(await ids({ q: '書' }), ['inv']);
  assert.deepEqual(await ids({ q: '会議' }), ['min']);
  assert.deepEqual(await ids({ q: 'budget' }), ['min']);
  assert.deepEqual(await ids({ q: '"budget review"' }), ['min']);
  assert.deepEqual(await ids({ q: '"review budget"' }), []);
  assert.deepEqual(await ids({ status: ['partial'] }), ['min']);
  const page = await search.search(buildQuery({ q: 'quarterly' }));
  assert.deepEqual(page.facets.status, { ok: 12, partial: 1 });
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const p = await search.search(buildQuery({ q: 'report', limit: 5, cursor }));
    seen.push(...p.hits.map((h) => h.id));
    for (const h of p.hits) assert.equal(h.snippet.replace(/<\/?mark>/g, '').includes('<'), false);
    cursor = p.nextCursor ?? undefined;
  } while (cursor);
  assert.equal(new Set(seen).size, 12);
});
