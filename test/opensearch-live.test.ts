// OpenSearchIndex against a real cluster: runs only when OPENSEARCH_URL is set (http://localhost:9200),
// behind a throwaway alias (its versioned indices are deleted afterwards): alias creation on first
// start, the bulk protocol, and one reindex that moves the alias.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client } from '@opensearch-project/opensearch';
import { MAPPING_VERSION, OpenSearchIndex, TEXT_ANALYZER, indexDefinition } from '../src/adapters/opensearch-index.ts';
import { reindexAlias } from '../src/adapters/opensearch-lifecycle.ts';
import { createLogger } from '../src/telemetry/log.ts';
import { documentId, sourceOf } from '../src/ids.ts';
import type { IndexDocument } from '../src/types.ts';

const url = process.env.OPENSEARCH_URL;
const skip = url ? false : 'OPENSEARCH_URL is not set';
const INDEX = `filesearch-live-${Date.now()}-${randomBytes(3).toString('hex')}`;
const BUCKET = 'live-bucket';

let client: Client;
let index: OpenSearchIndex;

function doc(key: string, extra: Partial<IndexDocument> = {}): IndexDocument {
  return {
    id: documentId(BUCKET, key), source: sourceOf(BUCKET, key), bucket: BUCKET, key, name: key.split('/').pop()!,
    contentType: 'application/pdf', size: 100, status: 'ok', text: '', truncated: false, pages: 1, ocrPages: 0,
    indexedAt: new Date().toISOString(), ...extra,
  };
}

async function source(key: string): Promise<IndexDocument | undefined> {
  const r = await client.get({ index: INDEX, id: documentId(BUCKET, key) }, { ignore: [404] });
  return r.body.found ? (r.body._source as IndexDocument) : undefined;
}

async function searchIds(text: string): Promise<string[]> {
  await client.indices.refresh({ index: INDEX });
  const r = await client.search({ index: INDEX, body: { query: { match: { text } } } });
  return r.body.hits.hits.map((h) => h._id as string);
}

before(async () => {
  if (!url) return;
  client = new Client({ node: url });
  index = new OpenSearchIndex({ node: url, index: INDEX, backoffBaseMs: 50, backoffMaxMs: 500 });
});

after(async () => {
  if (!url) return;
  await index.close();
  for (const v of [MAPPING_VERSION, MAPPING_VERSION + 1]) await client.indices.delete({ index: `${INDEX}-v${v}` }, { ignore: [404] });
  await client.close();
});

test('live: init creates <alias>-v<N> behind the alias, with the ja_en analyzer, and tolerates it existing', { skip }, async () => {
  await index.init();
  await index.init();
  const aliases = await client.indices.getAlias({ name: INDEX });
  assert.deepEqual(Object.keys(aliases.body), [`${INDEX}-v${MAPPING_VERSION}`]);
  const mapping = await client.indices.getMapping({ index: INDEX });
  const body = mapping.body[`${INDEX}-v${MAPPING_VERSION}`]?.mappings as { properties?: unknown; _meta?: { mappingVersion?: number } } | undefined;
  assert.equal(body?._meta?.mappingVersion, MAPPING_VERSION);
  const props = (body?.properties ?? {}) as Record<string, { type?: string; analyzer?: string }>;
  assert.equal(props.text?.analyzer, TEXT_ANALYZER);
  assert.equal(props.bucket?.type, 'keyword');
  const analyzed = await client.indices.analyze({ index: INDEX, body: { analyzer: TEXT_ANALYZER, text: '新製品の価格 Budget' } });
  const tokens = (analyzed.body.tokens ?? []).map((t) => t.token);
  assert.ok(tokens.includes('製品'), `bigrams expected, got ${tokens.join(' ')}`);
  assert.ok(tokens.includes('budget'));
});

test('live: upsert, search and delete round trip', { skip }, async () => {
  const jp = doc('jp/議事録.docx', { text: '本日の会議では新製品の価格を決定しました。' });
  const en = doc('en/minutes.docx', { text: 'The board approved the annual budget.' });
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: jp }, { kind: 'upsert', doc: en }]), [{ ok: true }, { ok: true }]);
  assert.deepEqual(await searchIds('新製品'), [jp.id]);
  assert.deepEqual(await searchIds('budget'), [en.id]);
  const results = await index.write([{ kind: 'remove', id: jp.id }, { kind: 'remove', id: documentId(BUCKET, 'never/there.pdf') }]);
  assert.deepEqual(results, [{ ok: true }, { ok: true }]);
  assert.equal(await source(jp.key), undefined);
});

test('live: sequencer versions keep the newest event for a key', { skip }, async () => {
  const key = 'seq/contract.pdf';
  const OLD = '0055AED6DCD90281E5';
  const NEW = '0055AED6DCD9028200';
  const NEWER = '0055AED6DD00000000';
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: doc(key, { sequencer: NEW, text: 'new' }) }]), [{ ok: true }]);
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: doc(key, { sequencer: OLD, text: 'old' }) }]), [{ ok: true, stale: true }]);
  assert.deepEqual(await index.write([{ kind: 'remove', id: documentId(BUCKET, key), sequencer: OLD }]), [{ ok: true, stale: true }]);
  assert.equal((await source(key))?.text, 'new');
  assert.deepEqual(await index.write([{ kind: 'remove', id: documentId(BUCKET, key), sequencer: NEWER }]), [{ ok: true }]);
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: doc(key, { sequencer: NEW, text: 'late' }) }]), [{ ok: true, stale: true }]);
  assert.equal(await source(key), undefined);
});

test('live: a document the mapping cannot parse is rejected permanently, the rest land', { skip }, async () => {
  const good = doc('ok/good.pdf', { text: 'fine' });
  const bad = { ...doc('ok/bad.pdf'), size: 'not a number' as unknown as number };
  const [g, b] = await index.write([{ kind: 'upsert', doc: good }, { kind: 'upsert', doc: bad }]);
  assert.deepEqual(g, { ok: true });
  assert.ok(b && !b.ok && b.error.kind === 'permanent', JSON.stringify(b));
  assert.equal((await source(good.key))?.text, 'fine');
});

test('live: reindex builds the next version and moves the alias; documents come along', { skip }, async () => {
  const kept = doc('reindex/kept.pdf', { text: 'carried over', sequencer: '0055AED6DCD90281E5' });
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: kept }]), [{ ok: true }]);
  const report = await reindexAlias(
    { client: index.client, requestOptions: { maxRetries: 0, requestTimeout: 30_000 } },
    { alias: INDEX, version: MAPPING_VERSION, definition: indexDefinition('1h'), logger: createLogger('silent'), settleMs: 500, pollMs: 200 },
  );
  assert.equal(report.to, `${INDEX}-v${MAPPING_VERSION + 1}`);
  const aliases = await client.indices.getAlias({ name: INDEX });
  assert.deepEqual(Object.keys(aliases.body), [report.to]);
  assert.equal((await source(kept.key))?.text, 'carried over');
  // Writes keep going to the alias, now the new index.
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: doc('reindex/after.pdf', { text: 'after' }) }]), [{ ok: true }]);
  assert.equal((await source('reindex/after.pdf'))?.text, 'after');
});
