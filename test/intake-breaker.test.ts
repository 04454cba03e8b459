// The intake breaker (issue 12): a long outage of the index or of S3 must not turn a healthy backlog
// into a DLQ full of good messages. With maxReceiveCount 3 and a dependency down for longer than three
// visibility timeouts, the worker stops receiving, holds what it leased (the heartbeat keeps it
// invisible), probes with cheap requests, and resumes: zero messages in the DLQ, every document
// indexed. Runs the real pipeline against fauxqs (through the fault proxy) and the OpenSearch double.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWorker } from '../src/wiring.ts';
import { loadConfig } from '../src/config.ts';
import { createAwsClients } from '../src/adapters/aws-clients.ts';
import { SqsJobSource } from '../src/adapters/sqs-source.ts';
import { S3BlobStore } from '../src/adapters/s3-blob-store.ts';
import { OpenSearchIndex } from '../src/adapters/opensearch-index.ts';
import { IntakeBreaker } from '../src/flow/intake-breaker.ts';
import { AuthError, RetryableError } from '../src/errors.ts';
import { documentId } from '../src/ids.ts';
import { createLogger } from '../src/telemetry/log.ts';
import { PrometheusTelemetry } from '../src/telemetry/metrics.ts';
import { startSqsS3Fixture, type SqsS3Fixture } from './helpers/fauxqs.ts';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.ts';
import { startOpenSearchDouble, type OpenSearchDouble } from './helpers/opensearch-double.ts';
import { parsePromText } from './helpers/prom-text.ts';
import { TextExtractor } from './helpers/fakes.ts';
import { queueEmpty, until } from './helpers/wait.ts';

const VISIBILITY_S = 2;
const MAX_RECEIVES = 3;

let fx: SqsS3Fixture;
let proxy: FaultProxy;
let double: OpenSearchDouble;
let tmp: string;

beforeEach(async () => {
  fx = await startSqsS3Fixture({ maxReceiveCount: MAX_RECEIVES, visibilityTimeout: VISIBILITY_S });
  proxy = await startFaultProxy(fx.endpoint);
  double = await startOpenSearchDouble();
  tmp = await mkdtemp(join(tmpdir(), 'fsw-breaker-'));
});
afterEach(async () => {
  await proxy?.stop();
  await double?.stop();
  await fx?.stop();
  await rm(tmp, { recursive: true, force: true });
});

type LogLine = { level: number; msg: string; [k: string]: unknown };

async function startWorker(o: { holdMax?: number; noBreaker?: boolean } = {}) {
  // The breaker comes from the production wiring (buildWorker, BREAKER_* settings); only the outside
  // world is replaced: SQS/S3 through the fault proxy with a 2 s visibility, the double, a text extractor.
  const config = loadConfig({
    ...fx.env, QUEUE_WAIT_SECONDS: '1', TMPDIR: tmp, LOG_LEVEL: 'info',
    BREAKER_THRESHOLD: '2', BREAKER_PROBE_SECONDS: '1', BREAKER_PROBE_MAX_SECONDS: '1', BREAKER_HOLD_MAX: String(o.holdMax ?? 100),
  });
  const aws = createAwsClients(config, { endpoint: proxy.url, region: fx.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }, {});
  const telemetry = new PrometheusTelemetry({ defaultMetrics: false });
  const logs: LogLine[] = [];
  const logger = createLogger('info', { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) });
  const source = new SqsJobSource({ client: aws.sqs, queueUrl: fx.queueUrl, waitTimeSeconds: 1, visibilityTimeoutSeconds: VISIBILITY_S, heartbeatSeconds: 0.5, telemetry, logger });
  const index = new OpenSearchIndex({ node: double.url, index: 'files', maxRetries: 1, backoffBaseMs: 5, backoffMaxMs: 20, requestTimeoutMs: 1_000, telemetry, logger });
  await index.init();
  const worker = await buildWorker(config, {
    source, blobs: new S3BlobStore({ client: aws.s3, telemetry }), index, extractor: new TextExtractor(), thumbnails: null, telemetry, logger,
    ...(o.noBreaker ? { breaker: null } : {}),
    pipeline: {
      pollers: 2, receiveBatch: 5, queueCapacity: 4, downloadConcurrency: 2, extractConcurrency: 1, indexBatchSize: 5, indexConcurrency: 1,
      indexFlushMs: 20, deleteFlushMs: 20, retryBaseSeconds: 1, retryMaxSeconds: 2, shutdownTimeoutMs: 5_000,
    },
  });
  const { pipeline } = worker;
  const breaker = worker.breaker!;
  assert.ok(o.noBreaker || breaker, 'buildWorker gives an SQS worker an intake breaker');
  await pipeline.start();
  // What /readyz said at each sample while the outage lasted.
  const readiness: string[] = [];
  const sampler = setInterval(() => {
    const r = pipeline.readiness();
    if (!r.ready && r.reason) readiness.push(r.reason);
  }, 50);
  return {
    breaker, pipeline, logs, telemetry, readiness,
    logged: (msg: RegExp) => logs.filter((l) => msg.test(l.msg)),
    async stop() {
      clearInterval(sampler);
      await pipeline.stop(5_000);
      await worker.close();
      aws.destroy();
    },
  };
}

async function sendDocs(n: number): Promise<string[]> {
  const keys = Array.from({ length: n }, (_, i) => `outage/doc-${i}.txt`);
  for (const key of keys) {
    await fx.putObject(key, `body of ${key}`, { contentType: 'text/plain' });
    await fx.sendS3Event('upsert', key);
  }
  return keys;
}

const indexedAll = (keys: string[]) => () => keys.every((k) => double.readDocs('files').get(documentId(fx.bucket, k))?.source.text === `body of ${k}`);

test('index down (503, then 403) for longer than three visibility timeouts: intake pauses, nothing reaches the DLQ, all is indexed after', async () => {
  let mode: 'ok' | '503' | '403' = 'ok';
  double.faults.next(1e9, { status: 503 }, () => mode === '503');
  double.faults.next(1e9, { status: 403 }, () => mode === '403');
  const w = await startWorker();
  mode = '503'; // the index goes down once the worker runs (run itself refuses to start against a dead index)
  const keys = await sendDocs(12);
  try {
    await until('the breaker opens', () => w.breaker.isOpen, 20_000, 20);
    const openedAt = Date.now();
    const outageMs = (MAX_RECEIVES + 1) * VISIBILITY_S * 1000;
    await new Promise((r) => setTimeout(r, outageMs / 2));
    mode = '403'; // the cluster comes back with a broken role mapping
    await new Promise((r) => setTimeout(r, outageMs / 2));
    assert.ok(w.breaker.isOpen, 'still open while every probe fails');
    const metricsWhileOpen = parsePromText(await w.telemetry.metricsText());
    mode = 'ok';
    await until('every document indexed', indexedAll(keys), 30_000);
    await until('the queue is empty', () => queueEmpty(fx), 20_000);
    assert.ok(Date.now() - openedAt > MAX_RECEIVES * VISIBILITY_S * 1000);

    assert.equal(await fx.dlqCount(), 0, 'no message reached the DLQ');
    assert.equal(w.breaker.isOpen, false);
    // One log line per state change; /readyz said why while open; the metric followed the state.
    assert.equal(w.logged(/intake breaker open/).length, 1);
    assert.equal(w.logged(/intake breaker closed/).length, 1);
    assert.ok(w.readiness.some((r) => /intake paused: the index is failing/.test(r)), `readiness reasons: ${w.readiness.slice(0, 3).join(' | ')}`);
    assert.ok(w.readiness.some((r) => /refused our identity \(403/.test(r)), 'the 403 shows in /readyz');
    assert.equal(metricsWhileOpen.get('filesearch_intake_breaker_open', { dependency: 'index' }), 1);
    const after = parsePromText(await w.telemetry.metricsText());
    assert.equal(after.get('filesearch_intake_breaker_open', { dependency: 'index' }), 0);
    assert.equal(after.get('filesearch_intake_breaker_transitions_total', { dependency: 'index', state: 'open' }), 1);
    assert.equal(after.get('filesearch_intake_breaker_transitions_total', { dependency: 'index', state: 'closed' }), 1);
    // The probe is the cheap write check (one delete line, no document): refused bulks that small.
    const probeBytes = Buffer.byteLength('{"delete":{"_id":"_filesearch-write-check"}}\n');
    const probes = double.requests.filter((r) => r.path === '/files/_bulk' && (r.status === 503 || r.status === 403) && r.bodyBytes === probeBytes);
    assert.ok(probes.length >= 3, `expected repeated probes, saw ${probes.length}`);
    assert.ok(probes.some((r) => r.status === 403) && probes.some((r) => r.status === 503));
  } finally {
    await w.stop();
  }
});

test('S3 answering 503 for longer than three visibility timeouts: intake pauses, nothing reaches the DLQ, all is indexed after', async () => {
  const keys = await sendDocs(10);
  const down = proxy.inject({ service: 's3' }, { kind: 'error', status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' });
  // A small hold bound: what does not fit is released with a backoff, and still not lost.
  const w = await startWorker({ holdMax: 4 });
  try {
    await until('the breaker opens', () => w.breaker.isOpen, 20_000, 20);
    await new Promise((r) => setTimeout(r, (MAX_RECEIVES + 1) * VISIBILITY_S * 1000));
    assert.ok(w.breaker.isOpen);
    assert.ok(w.breaker.heldCount <= 4);
    const headsWhileDown = proxy.count('HeadObject');
    down.remove();
    await until('every document indexed', indexedAll(keys), 30_000);
    await until('the queue is empty', () => queueEmpty(fx), 20_000);
    assert.equal(await fx.dlqCount(), 0, 'no message reached the DLQ');
    assert.ok(headsWhileDown >= 3, `the probe is a HEAD on an object (saw ${headsWhileDown})`);
    assert.ok(w.readiness.some((r) => /the blob store is failing/.test(r)));
    assert.equal(w.logged(/intake breaker open/).length, 1);
  } finally {
    await w.stop();
  }
});

test('control: the same index outage without the breaker moves good messages to the DLQ', async () => {
  let down = false;
  double.faults.next(1e9, { status: 503 }, () => down);
  const w = await startWorker({ noBreaker: true });
  down = true;
  const keys = await sendDocs(6);
  try {
    await until('a message reaches the DLQ', async () => (await fx.dlqCount()) > 0, 30_000, 100);
  } finally {
    down = false;
    await w.stop();
  }
  assert.ok(keys.length > 0);
});

test('the breaker: a streak opens it, one auth refusal opens it at once, holding is bounded, a probe success resumes', async () => {
  const logger = createLogger('silent');
  const changes: string[] = [];
  const b = new IntakeBreaker<{ id: string }>({ threshold: 3, probeMs: 10, probeMaxMs: 40, holdMax: 2, logger, onChange: (d, open) => changes.push(`${d}:${open}`) });
  const resumed: string[] = [];
  b.resume = (items) => resumed.push(...items.map((i) => i.id));
  const task = Object.fromEntries(['a', 'b', 'c', 'd', 'e'].map((id) => [id, { id }])) as Record<string, { id: string }>;
  const e = new RetryableError('503');
  let healthy = false;
  const probe = async () => {
    if (!healthy) throw new Error('still down');
  };
  assert.equal(b.hold(task.a!), false, 'nothing is suspect yet: a failure is settled as usual');
  b.failure('index', e, probe);
  assert.equal(b.hold(task.a!), true, 'suspect: held');
  b.success('index');
  assert.deepEqual(resumed, ['a'], 'a success sends held work back at once');
  // A task that keeps failing alone while the rest succeeds is not retried in place for ever.
  b.failure('index', e, probe);
  assert.equal(b.hold(task.a!), true);
  b.success('index');
  b.failure('index', e, probe);
  assert.equal(b.hold(task.a!), false, 'its in-place retries are spent: it goes back to the queue');
  b.success('index');
  resumed.length = 0;
  b.failure('index', e, probe);
  b.failure('index', e, probe);
  assert.equal(b.isOpen, false);
  b.failure('index', e, probe);
  assert.equal(b.isOpen, true);
  assert.equal(b.hold(task.b!), true);
  assert.equal(b.hold(task.c!), true);
  assert.equal(b.hold(task.d!), false, 'bounded');
  let resolved = false;
  const waiting = b.whenClosed().then(() => (resolved = true));
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(resolved, false);
  healthy = true;
  await waiting;
  assert.deepEqual(resumed, ['b', 'c']);
  b.failure('blobs', new AuthError(403, 'denied'), probe);
  assert.equal(b.isOpen, true, 'one auth refusal is enough');
  assert.match(b.readiness().reason ?? '', /blob store/);
  b.success('blobs');
  assert.equal(b.isOpen, false, 'a real success closes it too');
  assert.deepEqual(changes, ['index:true', 'index:false', 'blobs:true', 'blobs:false']);
  b.stop();
});
