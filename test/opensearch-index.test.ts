// OpenSearchIndex against the protocol double: index creation, bulk round trips, every retry rule and
// the sequencer ordering guarantees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@opensearch-project/opensearch';
import { OpenSearchIndex, sequencerVersion, TEXT_ANALYZER, type OpenSearchIndexOptions } from '../src/adapters/opensearch-index.ts';
import { IndexRejectedError, RetryableError } from '../src/errors.ts';
import { compareSequencers, documentId, sourceOf } from '../src/ids.ts';
import { noTelemetry, type Telemetry } from '../src/telemetry/telemetry.ts';
import type { IndexDocument, IndexItemResult, IndexOp } from '../src/types.ts';
import { startOpenSearchDouble, type OpenSearchDouble } from './helpers/opensearch-double.ts';

const INDEX = 'files-test';
const BUCKET = 'company-files';

function doc(key: string, extra: Partial<IndexDocument> = {}): IndexDocument {
  return {
    id: documentId(BUCKET, key),
    source: sourceOf(BUCKET, key),
    bucket: BUCKET,
    key,
    name: key.split('/').pop()!,
    contentType: 'application/pdf',
    size: 1234,
    status: 'ok',
    text: `text of ${key}`,
    truncated: false,
    pages: 1,
    ocrPages: 0,
    indexedAt: '2025-01-01T00:00:00.000Z',
    ...extra,
  };
}

const upsert = (d: IndexDocument): IndexOp => ({ kind: 'upsert', doc: d });
const remove = (key: string, sequencer?: string): IndexOp => ({ kind: 'remove', id: documentId(BUCKET, key), sequencer });

type Recorded = { bulk: string[]; retries: number[] };
function recordingTelemetry(): Telemetry & { seen: Recorded } {
  const seen: Recorded = { bulk: [], retries: [] };
  return { ...noTelemetry, seen, bulkRequest: (o) => void seen.bulk.push(o), indexItemRetries: (n) => void seen.retries.push(n) };
}

type Ctx = { double: OpenSearchDouble; index: OpenSearchIndex; telemetry: ReturnType<typeof recordingTelemetry> };

async function setup(t: { after(fn: () => Promise<void>): void }, opts: Partial<OpenSearchIndexOptions> = {}): Promise<Ctx> {
  const double = await startOpenSearchDouble();
  const telemetry = recordingTelemetry();
  // aliases: false — these tests are about the bulk protocol on one concrete index (the alias
  // lifecycle has its own tests in index-lifecycle.test.ts).
  const index = new OpenSearchIndex({ node: double.url, index: INDEX, telemetry, maxRetries: 3, backoffBaseMs: 2, backoffMaxMs: 10, requestTimeoutMs: 2_000, aliases: false, ...opts });
  t.after(async () => {
    await index.close();
    await double.stop();
  });
  await index.init();
  return { double, index, telemetry };
}

const bulkRequests = (d: OpenSearchDouble) => d.requests.filter((r) => r.path.endsWith('/_bulk'));
const stored = (d: OpenSearchDouble, key: string) => d.docs.get(INDEX)?.get(documentId(BUCKET, key));

function assertRejected(r: IndexItemResult | undefined, status: number, type?: string): void {
  assert.ok(r && !r.ok, `expected a rejection, got ${JSON.stringify(r)}`);
  assert.ok(r.error instanceof IndexRejectedError, `expected IndexRejectedError, got ${r.error.name}`);
  assert.equal(r.error.kind, 'permanent');
  assert.equal(r.error.status, status);
  if (type) assert.equal(r.error.type, type);
}

function assertRetryable(r: IndexItemResult | undefined): void {
  assert.ok(r && !r.ok, `expected a failure, got ${JSON.stringify(r)}`);
  assert.ok(r.error instanceof RetryableError, `expected RetryableError, got ${r.error.name}`);
  assert.equal(r.error.retryable, true);
}

test('init creates the index once, with the explicit mapping, and tolerates it existing', async (t) => {
  const { double } = await setup(t);
  const meta = double.indices.get(INDEX);
  assert.ok(meta, 'index created');
  const props = meta.mappings?.properties as Record<string, Record<string, unknown>>;
  assert.equal(props.text?.type, 'text');
  assert.equal(props.text?.analyzer, TEXT_ANALYZER);
  assert.equal(props.bucket?.type, 'keyword');
  assert.equal(props.sequencer?.type, 'keyword');
  assert.equal(props.size?.type, 'long');
  assert.equal(props.indexedAt?.type, 'date');
  assert.equal(props.thumbnail?.index, false);
  const analyzer = (meta.settings.analysis as { analyzer: Record<string, { filter: string[] }> }).analyzer[TEXT_ANALYZER];
  assert.ok(analyzer?.filter.includes('cjk_bigram'));
  assert.equal((meta.settings.index as { gc_deletes: string }).gc_deletes, '1h');

  // A second worker starting against the existing index: HEAD says it exists, no PUT.
  const second = new OpenSearchIndex({ node: double.url, index: INDEX, aliases: false });
  await second.init();
  await second.close();
  // A third that loses the race: HEAD says absent, PUT answers resource_already_exists_exception.
  double.faults.next(1, { status: 404 }, (r) => r.method === 'HEAD' && r.path === `/${INDEX}`);
  const third = new OpenSearchIndex({ node: double.url, index: INDEX, aliases: false });
  await third.init();
  await third.close();
  const puts = double.requests.filter((r) => r.method === 'PUT' && r.path === `/${INDEX}`);
  assert.deepEqual(puts.map((r) => r.status), [200, 400]);
  assert.equal(double.indices.get(INDEX)?.uuid, meta.uuid, 'the index was not recreated');
});

test('init retries while the cluster answers 503', async (t) => {
  const double = await startOpenSearchDouble();
  t.after(() => double.stop());
  double.faults.next(2, { status: 503 }, (r) => r.method === 'HEAD');
  const index = new OpenSearchIndex({ node: double.url, index: INDEX, backoffBaseMs: 1, backoffMaxMs: 5, aliases: false });
  await index.init();
  await index.close();
  assert.ok(double.indices.has(INDEX));
  assert.equal(double.requests.filter((r) => r.method === 'HEAD').length, 3);
});

test('upsert then delete round trip, results in input order', async (t) => {
  const { double, index, telemetry } = await setup(t);
  const a = doc('reports/2024/売上.pdf', { text: '売上報告 quarterly report' });
  const b = doc('notes/readme.txt', { contentType: 'text/plain' });
  assert.deepEqual(await index.write([upsert(a), upsert(b)]), [{ ok: true }, { ok: true }]);
  assert.deepEqual(stored(double, a.key)?.source, JSON.parse(JSON.stringify(a)));
  assert.ok(stored(double, b.key));

  // Delete a, re-upsert b, delete one that never existed: all succeed, in order.
  const results = await index.write([remove(a.key), upsert({ ...b, text: 'changed' }), remove('never/existed.pdf')]);
  assert.deepEqual(results, [{ ok: true }, { ok: true }, { ok: true }]);
  assert.equal(stored(double, a.key), undefined);
  assert.equal(stored(double, b.key)?.source.text, 'changed');
  assert.deepEqual(telemetry.seen.bulk, ['ok', 'ok']);
  // The adapter sends NDJSON to /{index}/_bulk with the ndjson content type.
  const [first] = bulkRequests(double);
  assert.equal(first?.path, `/${INDEX}/_bulk`);
  assert.match(first?.contentType ?? '', /application\/x-ndjson/);
});

test('_id is the bucket+key hash, not the raw key, even for a 1000-byte key', async (t) => {
  const { double, index } = await setup(t);
  const longKey = `deep/${'フォルダ/'.repeat(60)}file.pdf`;
  assert.ok(Buffer.byteLength(longKey) > 512);
  const d = doc(longKey);
  assert.deepEqual(await index.write([upsert(d)]), [{ ok: true }]);
  const sent = bulkRequests(double)[0]?.bulk?.[0];
  assert.equal(sent?.id, documentId(BUCKET, longKey));
  assert.match(sent?.id ?? '', /^[0-9a-f]{64}$/);
  assert.equal(stored(double, longKey)?.source.key, longKey);
  assert.equal(double.docs.get(INDEX)?.has(longKey), false);
});

test('a whole-request 429 is retried and then succeeds', async (t) => {
  const { double, index, telemetry } = await setup(t);
  double.faults.next(1, { status: 429 });
  const results = await index.write([upsert(doc('a.pdf')), upsert(doc('b.pdf'))]);
  assert.deepEqual(results, [{ ok: true }, { ok: true }]);
  assert.deepEqual(bulkRequests(double).map((r) => r.status), [429, 200]);
  assert.deepEqual(telemetry.seen.bulk, ['retry', 'ok']);
  assert.deepEqual(telemetry.seen.retries, [2]);
  assert.ok(stored(double, 'a.pdf') && stored(double, 'b.pdf'));
});

test('a 503 storm exhausts the retries and every item gets a RetryableError', async (t) => {
  const { double, index, telemetry } = await setup(t, { maxRetries: 2 });
  double.faults.next(100, { status: 503 });
  const results = await index.write([upsert(doc('a.pdf')), remove('b.pdf'), upsert(doc('c.pdf'))]);
  assert.equal(results.length, 3);
  for (const r of results) assertRetryable(r);
  assert.equal(bulkRequests(double).length, 3, 'first try + 2 retries');
  assert.deepEqual(telemetry.seen.bulk, ['retry', 'retry', 'retry']);
  assert.equal(double.docs.get(INDEX)?.size, 0);
});

test('per-item 429 retries only the rejected items', async (t) => {
  const { double, index, telemetry } = await setup(t);
  const docs = ['a', 'b', 'c', 'd'].map((k) => doc(`${k}.pdf`));
  double.faults.item(docs[1]!.id, 'rejected', 1);
  double.faults.item(docs[3]!.id, 'rejected', 2);
  const results = await index.write(docs.map(upsert));
  assert.deepEqual(results, [{ ok: true }, { ok: true }, { ok: true }, { ok: true }]);
  const sent = bulkRequests(double).map((r) => r.bulk?.map((b) => b.id));
  assert.deepEqual(sent, [docs.map((d) => d.id), [docs[1]!.id, docs[3]!.id], [docs[3]!.id]]);
  assert.deepEqual(telemetry.seen.bulk, ['partial', 'partial', 'ok']);
  assert.deepEqual(telemetry.seen.retries, [2, 1]);
  for (const d of docs) assert.ok(stored(double, d.key));
});

test('per-item 5xx is retried', async (t) => {
  const { double, index } = await setup(t);
  const d = doc('flaky.pdf');
  double.faults.item(d.id, 'internal', 1);
  assert.deepEqual(await index.write([upsert(d)]), [{ ok: true }]);
  assert.equal(bulkRequests(double).length, 2);
});

test('per-item 400 mapper_parsing_exception is permanent while the others succeed', async (t) => {
  const { double, index, telemetry } = await setup(t);
  const good1 = doc('good1.pdf');
  const bad = doc('bad.pdf');
  const good2 = doc('good2.pdf');
  double.faults.item(bad.id, 'mapper_parsing', 5);
  const results = await index.write([upsert(good1), upsert(bad), upsert(good2)]);
  assert.deepEqual(results[0], { ok: true });
  assertRejected(results[1], 400, 'mapper_parsing_exception');
  assert.deepEqual(results[2], { ok: true });
  assert.equal(bulkRequests(double).length, 1, 'a permanent rejection is not retried');
  assert.deepEqual(telemetry.seen.bulk, ['partial']);
  assert.equal(stored(double, bad.key), undefined);
});

test('a field the mapping cannot parse is rejected by the double as OpenSearch would, permanently', async (t) => {
  const { index } = await setup(t);
  const bad = { ...doc('odd.pdf'), size: 'not a number' as unknown as number };
  const [r] = await index.write([upsert(bad)]);
  assertRejected(r, 400, 'mapper_parsing_exception');
});

test('a 404 delete in a batch with failing items still counts as success and is not re-sent', async (t) => {
  const { double, index } = await setup(t);
  const rejected = doc('rejected.pdf');
  const throttled = doc('throttled.pdf');
  double.faults.item(rejected.id, 'mapper_parsing', 1);
  double.faults.item(throttled.id, 'rejected', 1);
  const results = await index.write([remove('missing.pdf'), upsert(rejected), upsert(throttled)]);
  assert.deepEqual(results[0], { ok: true });
  assertRejected(results[1], 400);
  assert.deepEqual(results[2], { ok: true });
  const [first, second] = bulkRequests(double);
  assert.equal(first?.status, 200);
  assert.deepEqual(second?.bulk?.map((b) => b.id), [throttled.id], 'only the throttled item is retried');
});

test('413 splits the batch in halves until every doc lands; a lone doc over the limit is rejected', async (t) => {
  const { double, index, telemetry } = await setup(t);
  const docs = Array.from({ length: 8 }, (_, i) => doc(`big-${i}.pdf`, { text: 'x'.repeat(1000) }));
  double.faults.maxBodyBytes = 3_000; // two docs fit, eight do not
  const results = await index.write(docs.map(upsert));
  assert.deepEqual(results, docs.map(() => ({ ok: true })));
  for (const d of docs) assert.ok(stored(double, d.key), `${d.key} landed`);
  const statuses = bulkRequests(double).map((r) => r.status);
  assert.equal(statuses[0], 413);
  assert.ok(statuses.includes(200));
  for (const r of bulkRequests(double)) if (r.status === 200) assert.ok(r.bodyBytes <= 3_000);
  assert.ok(telemetry.seen.bulk.includes('failed'));

  // The limit learnt from the 413s keeps the next batch under it from the start.
  const before = bulkRequests(double).length;
  const more = Array.from({ length: 4 }, (_, i) => doc(`more-${i}.pdf`, { text: 'y'.repeat(1000) }));
  assert.deepEqual(await index.write(more.map(upsert)), more.map(() => ({ ok: true })));
  assert.ok(bulkRequests(double).slice(before).every((r) => r.status === 200));

  const huge = doc('huge.pdf', { text: 'z'.repeat(5_000) });
  const [r] = await index.write([upsert(huge)]);
  assertRejected(r, 413);
  assert.equal(stored(double, huge.key), undefined);
});

test('maxBulkBytes cuts a batch into requests under the limit, in order', async (t) => {
  const { double, index } = await setup(t, { maxBulkBytes: 4_096 });
  const docs = Array.from({ length: 10 }, (_, i) => doc(`part-${i}.pdf`, { text: 'p'.repeat(1_000) }));
  assert.deepEqual(await index.write(docs.map(upsert)), docs.map(() => ({ ok: true })));
  const reqs = bulkRequests(double);
  assert.ok(reqs.length >= 3, `expected several requests, got ${reqs.length}`);
  for (const r of reqs) assert.ok(r.bodyBytes <= 4_096, `${r.bodyBytes} bytes`);
  assert.deepEqual(reqs.flatMap((r) => r.bulk?.map((b) => b.id)), docs.map((d) => d.id));
});

// Sequencers as S3 sends them: 18 hex digits, "00"-led; OLD < NEW < NEWER for one key.
const OLD = '0055AED6DCD90281E5';
const NEW = '0055AED6DCD9028200';
const NEWER = '0055AED6DD00000000';

test('an older sequencer does not overwrite a newer document (stale: true)', async (t) => {
  const { double, index } = await setup(t);
  const newer = doc('contract.pdf', { sequencer: NEW, text: 'new text' });
  const older = doc('contract.pdf', { sequencer: OLD, text: 'old text' });
  assert.deepEqual(await index.write([upsert(newer)]), [{ ok: true }]);
  assert.deepEqual(await index.write([upsert(older)]), [{ ok: true, stale: true }]);
  assert.equal(stored(double, 'contract.pdf')?.source.text, 'new text');
  assert.equal(stored(double, 'contract.pdf')?.version, sequencerVersion(NEW));
  const sent = bulkRequests(double)[1]?.bulk?.[0];
  assert.equal(sent?.versionType, 'external_gte');
  assert.equal(sent?.version, sequencerVersion(OLD)?.toString());
  // The same op again (a retry after a timeout that did land) is not a conflict under external_gte.
  assert.deepEqual(await index.write([upsert(newer)]), [{ ok: true }]);
});

test('a delete with an older sequencer does not remove a newer document; an upload older than a delete stays out', async (t) => {
  const { double, index } = await setup(t);
  await index.write([upsert(doc('plan.pdf', { sequencer: NEW, text: 'current plan' }))]);
  assert.deepEqual(await index.write([remove('plan.pdf', OLD)]), [{ ok: true, stale: true }]);
  assert.equal(stored(double, 'plan.pdf')?.source.text, 'current plan');

  assert.deepEqual(await index.write([remove('plan.pdf', NEWER)]), [{ ok: true }]);
  assert.equal(stored(double, 'plan.pdf'), undefined);
  // The upload event re-delivered after the delete: the tombstone's version refuses it.
  assert.deepEqual(await index.write([upsert(doc('plan.pdf', { sequencer: NEW }))]), [{ ok: true, stale: true }]);
  assert.equal(stored(double, 'plan.pdf'), undefined);
});

test('two events for one key in one batch keep their sequencer order whatever their position', async (t) => {
  const { double, index } = await setup(t);
  const results = await index.write([upsert(doc('memo.txt', { sequencer: NEW, text: 'second' })), upsert(doc('memo.txt', { sequencer: OLD, text: 'first' }))]);
  assert.deepEqual(results, [{ ok: true }, { ok: true, stale: true }]);
  assert.equal(stored(double, 'memo.txt')?.source.text, 'second');
});

test('an unversioned op retried after a later op for the same id succeeded is dropped as stale', async (t) => {
  const { double, index } = await setup(t);
  const first = doc('same.txt', { text: 'first' });
  const second = doc('same.txt', { text: 'second' });
  double.faults.item(first.id, 'rejected', 1); // only the first occurrence is rejected
  const results = await index.write([upsert(first), upsert(second)]);
  assert.deepEqual(results, [{ ok: true, stale: true }, { ok: true }]);
  assert.equal(stored(double, 'same.txt')?.source.text, 'second');
  assert.equal(bulkRequests(double).length, 1);
});

test('a request that times out is retried', async (t) => {
  const { double, index, telemetry } = await setup(t, { requestTimeoutMs: 300 });
  double.faults.next(1, 'hang');
  const results = await index.write([upsert(doc('slow.pdf'))]);
  assert.deepEqual(results, [{ ok: true }]);
  assert.equal(bulkRequests(double).length, 2);
  assert.equal(bulkRequests(double)[0]?.status, undefined, 'the first request never got an answer');
  assert.deepEqual(telemetry.seen.bulk, ['retry', 'ok']);
});

test('a reset connection is retried', async (t) => {
  const { double, index } = await setup(t);
  double.faults.next(2, 'reset');
  assert.deepEqual(await index.write([upsert(doc('r.pdf')), remove('gone.pdf')]), [{ ok: true }, { ok: true }]);
  assert.equal(bulkRequests(double).length, 3);
});

test('an unreachable cluster ends in RetryableError for every item', async () => {
  const double = await startOpenSearchDouble();
  const url = double.url;
  await double.stop();
  const index = new OpenSearchIndex({ node: url, index: INDEX, maxRetries: 1, backoffBaseMs: 1, backoffMaxMs: 2, aliases: false });
  const results = await index.write([upsert(doc('x.pdf')), remove('y.pdf')]);
  await index.close();
  for (const r of results) assertRetryable(r);
});

test('an abort stops the retries and the pending items come back retryable', async (t) => {
  const { double, index } = await setup(t, { backoffBaseMs: 60_000, backoffMaxMs: 60_000 });
  double.faults.next(10, { status: 503 });
  const ac = new AbortController();
  const pending = index.write([upsert(doc('a.pdf'))], ac.signal);
  // Abort once the first try has been answered, while the adapter waits a minute to retry.
  while (bulkRequests(double)[0]?.status !== 503) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  const [r] = await pending;
  assertRetryable(r);
  assert.equal(bulkRequests(double).length, 1);
});

test('another whole-request 4xx is permanent for every item', async (t) => {
  const { double, index } = await setup(t);
  double.faults.next(1, { status: 400, type: 'illegal_argument_exception', reason: 'bad request' });
  const results = await index.write([upsert(doc('a.pdf')), upsert(doc('b.pdf'))]);
  for (const r of results) assertRejected(r, 400, 'illegal_argument_exception');
  assert.equal(bulkRequests(double).length, 1);
});

test('sequencerVersion never reverses the sequencer order and fits in 63 bits', () => {
  const hex = '0123456789ABCDEF';
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const make = () => {
    const len = 1 + rand(22);
    let s = '';
    for (let i = 0; i < len; i++) s += rand(3) === 0 ? '0' : hex[rand(16)];
    return s;
  };
  const samples = Array.from({ length: 400 }, make).concat([OLD, NEW, NEWER, '0', '00', 'F'.repeat(18), 'FFFFFFFFFFFFFFFFFFFFFFFF']);
  for (const a of samples) {
    const va = sequencerVersion(a)!;
    assert.ok(va >= 0n && va < 2n ** 63n, `${a} -> ${va}`);
    for (const b of samples) {
      const c = compareSequencers(a, b);
      const vb = sequencerVersion(b)!;
      if (c < 0) assert.ok(va <= vb, `${a} < ${b} but ${va} > ${vb}`);
      if (c === 0) assert.equal(va, vb);
    }
  }
  // Distinct for realistic 18-digit sequencers that differ above the last 2 bits.
  assert.ok(sequencerVersion(OLD)! < sequencerVersion(NEW)!);
  assert.ok(sequencerVersion('0055AED6DCD90281E4')! < sequencerVersion('0055AED6DCD90281E8')!);
  assert.ok(sequencerVersion('00FFFFFFFFFFFFFFFF')! < sequencerVersion('01')!);
  assert.equal(sequencerVersion('not-hex'), undefined);
});

test('a search through the real client finds Japanese and English text (live-like run on the double)', async (t) => {
  const { double, index } = await setup(t);
  await index.write([
    upsert(doc('jp/議事録.docx', { text: '本日の会議では新製品の価格を決定しました。' })),
    upsert(doc('en/minutes.docx', { text: 'The board approved the annual budget.' })),
  ]);
  const client = new Client({ node: double.url });
  t.after(() => client.close());
  await client.indices.refresh({ index: INDEX });
  const jp = await client.search({ index: INDEX, body: { query: { match: { text: '新製品' } } } });
  assert.deepEqual(jp.body.hits.hits.map((h) => h._id), [documentId(BUCKET, 'jp/議事録.docx')]);
  const en = await client.search({ index: INDEX, body: { query: { match: { text: 'budget' } } } });
  assert.deepEqual(en.body.hits.hits.map((h) => h._id), [documentId(BUCKET, 'en/minutes.docx')]);
  const got = await client.get({ index: INDEX, id: documentId(BUCKET, 'en/minutes.docx') });
  assert.equal((got.body._source as IndexDocument).name, 'minutes.docx');
});

test('metadata fields are mapped with types (dates as dates), and a document with them round-trips', async (t) => {
  const { double, index } = await setup(t);
  const props = double.indices.get(INDEX)!.mappings?.properties as Record<string, Record<string, unknown>>;
  assert.equal(props.created?.type, 'date');
  assert.equal(props.modified?.type, 'date');
  assert.equal(props.taken?.type, 'date');
  assert.equal(props.language?.type, 'keyword');
  assert.equal(props.title?.type, 'text');
  assert.equal(props.authors?.type, 'keyword');
  assert.equal(props.orientation?.type, 'integer');
  const d = doc('reports/2024.pdf', { title: 'Annual Report', authors: ['Alice Smith', 'Bob Jones'], created: '2024-01-31T03:00:00.000Z', language: 'en', orientation: 6 });
  assert.deepEqual(await index.write([upsert(d)]), [{ ok: true }]);
  const source = stored(double, 'reports/2024.pdf')?.source as Record<string, unknown>;
  assert.deepEqual(source.authors, ['Alice Smith', 'Bob Jones']);
  assert.equal(source.created, '2024-01-31T03:00:00.000Z');
  assert.equal(source.language, 'en');
  // A date the mapping cannot parse is refused, as OpenSearch would: the field really is typed.
  const [bad] = await index.write([upsert(doc('bad.pdf', { created: 'last Tuesday' }))]);
  assertRejected(bad, 400, 'mapper_parsing_exception');
});

test('an index created before the metadata fields gets them added on start; a conflicting mapping is a config error', async (t) => {
  const double = await startOpenSearchDouble();
  t.after(() => double.stop());
  // The mapping an older version created: no metadata fields.
  const client = new Client({ node: double.url });
  await client.indices.create({ index: INDEX, body: { mappings: { dynamic: false, properties: { text: { type: 'text' }, status: { type: 'keyword' } } } } });
  const index = new OpenSearchIndex({ node: double.url, index: INDEX, maxRetries: 0 });
  await index.init();
  await index.close();
  const props = double.indices.get(INDEX)!.mappings?.properties as Record<string, Record<string, unknown>>;
  assert.equal(props.created?.type, 'date', 'the new field was added');
  assert.equal(props.text?.type, 'text', 'existing fields are kept');

  await client.indices.create({ index: 'conflict', body: { mappings: { properties: { created: { type: 'keyword' } } } } });
  const other = new OpenSearchIndex({ node: double.url, index: 'conflict', maxRetries: 0 });
  await assert.rejects(other.init(), (err: Error) => err.name === 'ConfigError' && /INDEX_URL: index conflict maps a metadata field differently/.test(err.message));
  await other.close();
  await client.close();
});
