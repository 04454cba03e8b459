// Faults from the outside (issue 6): S3, SQS and OpenSearch misbehave; the worker backs off, keeps
// going, recovers when the fault ends, keeps the number of messages it holds bounded, and reports each
// condition in its metrics and its logs. The pipeline runs in this process with the production AWS
// client settings (createAwsClients), talking to fauxqs through a fault-injecting proxy.
import { after, afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { OpenSearchIndex } from '../src/adapters/opensearch-index.ts';
import { documentId } from '../src/ids.ts';
import { startSqsS3Fixture, type SqsS3Fixture } from './helpers/fauxqs.ts';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.ts';
import { startOpenSearchDouble, type OpenSearchDouble } from './helpers/opensearch-double.ts';
import { heldBound, startInProcessWorker, type InProcessWorkerOptions } from './helpers/in-process-worker.ts';
import type { Samples } from './helpers/prom-text.ts';
import { queueEmpty as fixtureQueueEmpty, until as untilTrue } from './helpers/wait.ts';

let fx: SqsS3Fixture;
let proxy: FaultProxy;
let tmp: string;
const figures: string[] = [];

beforeEach(async () => {
  // High maxReceiveCount: a fault may cost a message several receives; none of these is poison.
  fx = await startSqsS3Fixture({ maxReceiveCount: 20, visibilityTimeout: 30 });
  proxy = await startFaultProxy(fx.endpoint);
  tmp = await mkdtemp(join(tmpdir(), 'fsw-faults-'));
});
afterEach(async () => {
  await proxy?.stop();
  await fx?.stop();
  await rm(tmp, { recursive: true, force: true });
});
after(() => {
  if (figures.length) console.log(`# faults: per-test figures\n${figures.map((f) => `#   ${f}`).join('\n')}`);
});

async function startWorker(index: InProcessWorkerOptions['index'], o: Omit<InProcessWorkerOptions, 'fx' | 'proxy' | 'tmp' | 'index'> = {}) {
  const w = await startInProcessWorker({ fx, proxy, tmp, index, ...o });
  const stop = w.stop;
  return Object.assign(w, {
    async stop(name: string) {
      figures.push(await stop(name));
    },
  });
}

/** Errors are logged under `err` by pino's err serializer: { type, message, stack }. */
function errText(err: unknown): string {
  return typeof err === 'object' && err !== null ? `${(err as { type?: string }).type}: ${(err as { message?: string }).message}` : String(err);
}

/** Faults slow things down: a longer default wait. */
function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 40_000): Promise<void> {
  return untilTrue(what, check, timeoutMs, 50);
}

function queueEmpty(): Promise<boolean> {
  return fixtureQueueEmpty(fx);
}

async function sqliteIndex(): Promise<SqliteIndex> {
  const index = new SqliteIndex(':memory:');
  await index.init();
  return index;
}

/** Uploads n text objects and sends one event each; returns their keys. */
async function backlog(n: number, prefix = 'doc', body = (i: number) => `document ${i} of ${prefix} marker${i}x`): Promise<string[]> {
  const keys = Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}.txt`);
  for (const [i, key] of keys.entries()) {
    await fx.putObject(key, body(i));
    await fx.sendS3Event('upsert', key);
  }
  return keys;
}

async function assertAllIndexed(index: SqliteIndex, keys: string[]): Promise<void> {
  for (const key of keys) assert.ok(await index.get(documentId(fx.bucket, key)), `indexed: ${key}`);
  assert.equal(await index.count(), keys.length, 'nothing else indexed');
  assert.equal(await fx.dlqCount(), 0, 'no message went to the DLQ');
  assert.deepEqual(await readdir(tmp), [], 'no temp files left behind');
}

function stage(m: Samples, stageName: string, outcome: string): number {
  return m.get('filesearch_stage_items_total', { stage: stageName, outcome }) ?? 0;
}

test('S3 GetObject 500 and 503: messages are released with a backoff and every document is indexed once the fault ends', async () => {
  const index = await sqliteIndex();
  const keys = await backlog(60);
  const e500 = proxy.inject({ operation: 'GetObject' }, { kind: 'error', status: 500, code: 'InternalError' }, 9);
  const e503 = proxy.inject({ operation: 'GetObject' }, { kind: 'error', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' }, 9);
  const w = await startWorker(index);
  try {
    await until('all indexed and the queue empty', async () => (await index.count()) === keys.length && (await queueEmpty()));
  } finally {
    await w.stop('GetObject 500/503');
  }
  assert.equal(e500.served + e503.served, 18, 'every injected fault was met');
  await assertAllIndexed(index, keys);
  const m = await w.metrics();
  assert.ok(stage(m, 'download', 'retry') >= 1, 'download retries are counted');
  assert.ok((m.get('filesearch_messages_released_total', { reason: 'retry' }) ?? 0) >= 1, 'released messages are counted');
  const released = w.logged('message released for retry');
  assert.ok(released.length >= 1, 'each release is logged');
  assert.ok(released.some((l) => /500|503|InternalError|SlowDown|reduce your request rate/i.test(String(l.error))), `the log says why: ${JSON.stringify(released[0])}`);
  assert.ok(released.every((l) => Number(l.retryInSeconds) >= 1), 'released with a backoff, not at once');
  assert.ok(w.maxHeld <= heldBound(w.opts), `messages held stayed bounded: ${w.maxHeld} <= ${heldBound(w.opts)}`);
  await index.close();
});

test('a slow S3 body does not hold up the others, and a stalled body times out and is retried', async () => {
  const index = await sqliteIndex();
  const big = 'x'.repeat(4096);
  await fx.putObject('slow.txt', `slow document ${big}`);
  await fx.sendS3Event('upsert', 'slow.txt');
  await fx.putObject('stalled.txt', `stalled document ${big}`);
  await fx.sendS3Event('upsert', 'stalled.txt');
  const keys = await backlog(20, 'fast');
  let openGate!: () => void;
  const gate = new Promise<void>((r) => { openGate = r; });
  proxy.inject({ operation: 'GetObject', key: (k) => k === 'slow.txt' }, { kind: 'slowBody', chunkBytes: 256, intervalMs: 100, gate }, 1);
  const stall = proxy.inject({ operation: 'GetObject', key: (k) => k === 'stalled.txt' }, { kind: 'stallAfterBytes', bytes: 100 }, 1);
  // A download idle for 1 s is abandoned (production: 30 s).
  const w = await startWorker(index, { aws: { s3SocketIdleTimeoutMs: 1_000 } });
  try {
    // The slow body is still streaming (held by the gate) while everything else gets through.
    await until('the fast documents indexed while the slow one streams', async () => {
      for (const k of keys) if (!(await index.get(documentId(fx.bucket, k)))) return false;
      return true;
    });
    assert.equal(await index.get(documentId(fx.bucket, 'slow.txt')), undefined, 'the slow one is still downloading');
    openGate();
    await until('all indexed and the queue empty', async () => (await index.count()) === keys.length + 2 && (await queueEmpty()));
  } finally {
    openGate();
    await w.stop('slow and stalled bodies');
  }
  assert.equal(stall.served, 1);
  await assertAllIndexed(index, [...keys, 'slow.txt', 'stalled.txt']);
  assert.match((await index.get(documentId(fx.bucket, 'slow.txt')))!.text, /slow document x{4096}/, 'the slow body arrived whole');
  const m = await w.metrics();
  assert.ok(stage(m, 'download', 'retry') >= 1, 'the stalled download counts as a retry');
  assert.ok(w.logged('message released for retry').some((l) => String(l.error).includes('stalled.txt')), 'the log names the stalled object');
  await index.close();
});

test('connection resets on GetObject, before the answer and in the middle of the body, are retried', async () => {
  const index = await sqliteIndex();
  const keys = await backlog(50, 'reset', (i) => `reset document ${i} ${'y'.repeat(20_000)}`);
  const before = proxy.inject({ operation: 'GetObject' }, { kind: 'reset' }, 6);
  const mid = proxy.inject({ operation: 'GetObject' }, { kind: 'resetAfterBytes', bytes: 5_000 }, 6);
  const w = await startWorker(index);
  try {
    await until('all indexed and the queue empty', async () => (await index.count()) === keys.length && (await queueEmpty()));
  } finally {
    await w.stop('connection resets');
  }
  assert.equal(before.served + mid.served, 12);
  await assertAllIndexed(index, keys);
  for (const k of keys) assert.equal((await index.get(documentId(fx.bucket, k)))!.text.length, `reset document ${k.slice(6, 9).replace(/^0+(?=\d)/, '')} `.length + 20_000, `no truncated body was indexed for ${k}`);
  const m = await w.metrics();
  assert.ok(stage(m, 'download', 'retry') >= 1, 'download retries are counted');
  assert.ok(w.maxHeld <= heldBound(w.opts), `messages held stayed bounded: ${w.maxHeld}`);
  await index.close();
});

test('SQS ReceiveMessage throttling and 500s: the pollers back off and resume', async () => {
  const index = await sqliteIndex();
  const keys = await backlog(20);
  const throttle = proxy.inject({ operation: 'ReceiveMessage' }, { kind: 'error', status: 400, code: 'ThrottlingException', message: 'Rate exceeded' }, 9);
  const e500 = proxy.inject({ operation: 'ReceiveMessage' }, { kind: 'error', status: 500, code: 'InternalError' }, 9);
  const w = await startWorker(index);
  try {
    await until('all indexed and the queue empty', async () => (await index.count()) === keys.length && (await queueEmpty()));
  } finally {
    await w.stop('ReceiveMessage throttling/500');
  }
  assert.equal(throttle.served + e500.served, 18);
  await assertAllIndexed(index, keys);
  const m = await w.metrics();
  assert.ok(stage(m, 'receive', 'retry') >= 2, `failed receives are counted: ${stage(m, 'receive', 'retry')}`);
  const failed = w.logged('receive failed');
  assert.ok(failed.some((l) => /Throttl|Rate exceeded/.test(errText(l.err))), 'throttling is logged as such');
  const waits = failed.map((l) => Number(l.retryInMs));
  assert.ok(waits.every((n) => n >= 250), 'every failed receive waits before polling again');
  assert.ok(Math.max(...waits) > Math.min(...waits), `the wait grows with consecutive failures: ${waits.join(', ')}`);
  await index.close();
});

test('SQS DeleteMessageBatch errors: deletes are retried, counted, and no document is lost', async () => {
  const index = await sqliteIndex();
  const keys = await backlog(30);
  const rule = proxy.inject({ operation: 'DeleteMessageBatch' }, { kind: 'error', status: 500, code: 'InternalError' }, 12);
  const w = await startWorker(index);
  try {
    await until('all indexed and the queue empty', async () => (await index.count()) === keys.length && (await queueEmpty()));
  } finally {
    await w.stop('DeleteMessageBatch 500');
  }
  assert.equal(rule.served, 12);
  await assertAllIndexed(index, keys);
  const m = await w.metrics();
  assert.ok((m.get('filesearch_delete_failures_total') ?? 0) >= 1, 'failed deletes are counted');
  assert.ok((m.get('filesearch_messages_deleted_total') ?? 0) >= keys.length, 'and every message was deleted in the end');
  assert.ok(w.logged(/delete batch failed/).length >= 1, 'failed deletes are logged');
  await index.close();
});

test('SQS ChangeMessageVisibility errors: failed heartbeats are counted, a lapsed lease is redone, a failed release waits out its visibility', async () => {
  const index = await sqliteIndex();
  const keys = await backlog(6);
  // Heartbeats fail for a while: with a 2 s visibility and 3 s of work per document, leases lapse.
  const beats = proxy.inject({ operation: 'ChangeMessageVisibilityBatch' }, { kind: 'error', status: 500, code: 'InternalError' });
  // One download fails (3 SDK attempts) and its release fails too: the message must come back anyway.
  proxy.inject({ operation: 'GetObject', key: (k) => k === keys[5] }, { kind: 'error', status: 503, code: 'SlowDown' }, 3);
  const release = proxy.inject({ operation: 'ChangeMessageVisibility' }, { kind: 'error', status: 500, code: 'InternalError' }, 3);
  const w = await startWorker(index, { visibilitySeconds: 2, heartbeatSeconds: 0.5, extractDelayMs: 1_500, opts: { extractConcurrency: 2 } });
  try {
    await until('heartbeats failing', async () => ((await w.metrics()).get('filesearch_heartbeat_failures_total') ?? 0) >= 3);
    await new Promise((r) => setTimeout(r, 2_500));
    beats.remove();
    await until('all indexed and the queue empty', async () => (await index.count()) === keys.length && (await queueEmpty()), 60_000);
  } finally {
    await w.stop('ChangeMessageVisibility 500');
  }
  assert.ok(release.served >= 1, 'a release met the fault');
  await assertAllIndexed(index, keys);
  const m = await w.metrics();
  assert.ok((m.get('filesearch_heartbeat_failures_total') ?? 0) >= 3, 'failed heartbeats are counted');
  assert.ok((m.get('filesearch_heartbeat_extensions_total') ?? 0) >= 1, 'and heartbeats resume after the fault');
  assert.ok(w.logged('heartbeat failed; will try again').length >= 1, 'failed heartbeats are logged');
  assert.ok(w.logged(/release failed/).length >= 1, 'a failed release is logged');
  const received = m.get('filesearch_messages_received_total') ?? 0;
  assert.ok(received >= keys.length + 2, `lapsed and failed messages were received again: ${received} receipts for ${keys.length} messages`);
  await index.close();
});

// ---------------------------------------------------------------------------------------------
// OpenSearch faults: the SQS side is healthy; the index is the double.

let os: OpenSearchDouble | undefined;
afterEach(async () => {
  await os?.stop();
  os = undefined;
});

/** The double, its index created, and a worker whose OpenSearchIndex reports to the worker's telemetry and logs. */
async function startOpenSearchWorker(requestTimeoutMs = 5_000) {
  os = await startOpenSearchDouble();
  const settings = { node: os.url, index: 'files', maxRetries: 2, backoffBaseMs: 50, backoffMaxMs: 200, requestTimeoutMs };
  let real!: OpenSearchIndex;
  const w = await startWorker((telemetry, logger) => (real = new OpenSearchIndex({ ...settings, telemetry, logger })));
  const double = os;
  return { w, real, docs: () => double.readDocs('files') };
}

function assertInOpenSearch(docs: Map<string, unknown>, keys: string[]): void {
  for (const k of keys) assert.ok(docs.has(documentId(fx.bucket, k)), `in OpenSearch: ${k}`);
  assert.equal(docs.size, keys.length, 'nothing else indexed');
}

test('OpenSearch whole-request 429 and 503: bulk requests are retried with backoff and every document lands', async () => {
  const keys = await backlog(20);
  const { w, docs, real } = await startOpenSearchWorker();
  os!.faults.next(4, { status: 429, type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation' });
  os!.faults.next(4, { status: 503, type: 'unavailable_shards_exception', reason: 'primary shard is not active' });
  try {
    await until('all indexed and the queue empty', async () => docs().size === keys.length && (await queueEmpty()));
  } finally {
    await w.stop('OpenSearch 429/503');
    await real.close();
  }
  assert.equal(os!.faults.queued, 0, 'every injected fault was met');
  assertInOpenSearch(docs(), keys);
  assert.equal(await fx.dlqCount(), 0);
  const m = await w.metrics();
  assert.ok((m.get('filesearch_bulk_requests_total', { outcome: 'retry' }) ?? 0) >= 8, 'rejected bulk requests are counted');
  assert.ok(w.logged('retrying OpenSearch bulk items').length >= 1, 'retries are logged');
});

test('OpenSearch per-item 429 and 500 (partial failures): only the failed items are re-sent, the rest are not lost', async () => {
  const keys = await backlog(20);
  const { w, docs, real } = await startOpenSearchWorker();
  for (const k of keys.slice(0, 4)) os!.faults.item(documentId(fx.bucket, k), 'rejected', 2);
  for (const k of keys.slice(4, 6)) os!.faults.item(documentId(fx.bucket, k), 'internal', 1);
  // One document the index refuses (a mapping conflict): it is stored by name with status failed,
  // logged and counted, and its message finished; the documents batched with it are indexed.
  const refused = keys[10]!;
  os!.faults.item(documentId(fx.bucket, refused), 'mapper_parsing', 1);
  try {
    await until('all indexed (the refused one by name) and the queue empty', async () => docs().size === keys.length && (await queueEmpty()));
  } finally {
    await w.stop('OpenSearch per-item faults');
    await real.close();
  }
  assertInOpenSearch(docs(), keys);
  assert.equal(docs().get(documentId(fx.bucket, refused))?.source.status, 'failed');
  assert.equal(await fx.dlqCount(), 0, 'a refused document is not a poison message');
  const m = await w.metrics();
  assert.ok((m.get('filesearch_index_item_retries_total') ?? 0) >= 6, `per-item retries are counted: ${m.get('filesearch_index_item_retries_total')}`);
  assert.ok((m.get('filesearch_bulk_requests_total', { outcome: 'partial' }) ?? 0) >= 1, 'partial bulk responses are counted');
  assert.ok(stage(m, 'index', 'failed') >= 1, 'the refused document counts as failed');
  assert.ok(w.logged('index write failed').some((l) => l.id === documentId(fx.bucket, refused)), 'the refused document is logged by id');
});

test('OpenSearch timeouts: a hung bulk request is abandoned and retried', async () => {
  const keys = await backlog(10);
  const { w, docs, real } = await startOpenSearchWorker(500);
  os!.faults.next(2, 'hang');
  try {
    await until('all indexed and the queue empty', async () => docs().size === keys.length && (await queueEmpty()));
  } finally {
    await w.stop('OpenSearch timeouts');
    await real.close();
  }
  assert.equal(os!.faults.queued, 0);
  assertInOpenSearch(docs(), keys);
  const m = await w.metrics();
  assert.ok((m.get('filesearch_bulk_requests_total', { outcome: 'retry' }) ?? 0) >= 2, 'timed-out requests are counted');
  assert.ok(w.logged('retrying OpenSearch bulk items').some((l) => /timeout|timed out/i.test(errText(l.err))), 'the log says it timed out');
});

test('OpenSearch down for longer than the adapter retries: messages go back to the queue and are indexed when it returns', async () => {
  const keys = await backlog(50);
  const { w, docs, real } = await startOpenSearchWorker();
  os!.faults.next(Number.MAX_SAFE_INTEGER, { status: 503, type: 'cluster_block_exception', reason: 'blocked by: [SERVICE_UNAVAILABLE/2/no master]' });
  try {
    await until('messages released for retry', () => w.logged('message released for retry').length >= 2);
    os!.faults.clear();
    await until('all indexed and the queue empty', async () => docs().size === keys.length && (await queueEmpty()), 60_000);
  } finally {
    await w.stop('OpenSearch down');
    await real.close();
  }
  assertInOpenSearch(docs(), keys);
  assert.equal(await fx.dlqCount(), 0);
  const m = await w.metrics();
  assert.ok((m.get('filesearch_messages_released_total', { reason: 'retry' }) ?? 0) >= 2);
  assert.ok(stage(m, 'index', 'retry') >= 2, 'index retries are counted');
  assert.ok(w.maxHeld <= heldBound(w.opts), `messages held stayed bounded while the index was down: ${w.maxHeld}`);
});
