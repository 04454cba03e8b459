// The production path end to end against a real SQS/S3 protocol (fauxqs on 127.0.0.1): events in,
// documents in the index, messages deleted only then.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { Pipeline, type PipelineOptions } from '../src/pipeline.ts';
import { loadConfig } from '../src/config.ts';
import { pipelineOptions } from '../src/wiring.ts';
import { SqsJobSource } from '../src/adapters/sqs-source.ts';
import { S3BlobStore } from '../src/adapters/s3-blob-store.ts';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { documentId } from '../src/ids.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { noTelemetry } from '../src/telemetry/telemetry.ts';
import { startSqsS3Fixture, type SqsS3Fixture } from './helpers/fauxqs.ts';
import { TextExtractor } from './helpers/fakes.ts';
import { queueEmpty as fixtureQueueEmpty, until } from './helpers/wait.ts';

let fx: SqsS3Fixture;
let tmp: string;

// A fresh emulator per test: a long poll aborted by a stopping worker keeps waiting on the server and
// could swallow the next test's first message for a whole visibility timeout (real SQS does the same).
beforeEach(async () => {
  fx = await startSqsS3Fixture({ maxReceiveCount: 2, visibilityTimeout: 30 });
  tmp = await mkdtemp(join(tmpdir(), 'fsw-sqs-'));
});
afterEach(async () => {
  await fx?.stop();
  await rm(tmp, { recursive: true, force: true });
});

// Small, fast settings over the configured defaults.
function options(o: Partial<PipelineOptions> = {}): PipelineOptions {
  return pipelineOptions(loadConfig({}), {
    receiveBatch: 10, pollers: 2, queueCapacity: 8, downloadConcurrency: 4, downloadBytesBudget: 64 * 1024 * 1024,
    unknownSizeReserve: 1024 * 1024, extractConcurrency: 2, extractBytesBudget: 64 * 1024 * 1024, indexBatchSize: 20, indexBatchBytes: 1024 * 1024, indexFlushMs: 20,
    indexConcurrency: 1, deleteFlushMs: 20, deleteRetries: 2,
    limits: { maxBytes: 1024 * 1024, maxOcrPages: 5, maxChars: 100_000, docTimeoutMs: 10_000, pageTimeoutMs: 5_000, maxPixels: 1e8 },
    ocrLangs: 'eng', tmpDir: tmp, retryBaseSeconds: 0, retryMaxSeconds: 0, shutdownTimeoutMs: 5_000, wantThumbnails: false, ...o,
  });
}

async function startWorker(index: SqliteIndex, o: Partial<PipelineOptions> = {}) {
  const source = new SqsJobSource({ client: fx.sqs, queueUrl: fx.queueUrl, waitTimeSeconds: 1, visibilityTimeoutSeconds: 30, heartbeatSeconds: 10, logger: silentLogger });
  const extractor = new TextExtractor();
  const pipeline = new Pipeline({ source, blobs: new S3BlobStore({ client: fx.s3 }), extractor, index, telemetry: noTelemetry, logger: silentLogger }, options(o));
  await pipeline.start();
  return {
    extractor,
    async stop() {
      await pipeline.stop(5_000);
      await source.close();
      await pipeline.cleanup();
    },
  };
}

function queueEmpty(): Promise<boolean> {
  return fixtureQueueEmpty(fx);
}

test('every message form and awkward key is indexed, and each message is deleted only then', async () => {
  const index = new SqliteIndex(':memory:');
  await index.init();
  const keys = ['plain.txt', 'with space/report 2026.txt', 'a+b=c.txt', '日本語/議事録.txt', '../escape/../x.txt', 'deep/'.repeat(40) + 'long.txt'];
  for (const [i, key] of keys.entries()) await fx.putObject(key, `contents of document ${i} marker${i}x`);
  await fx.putObject('sns.txt', 'delivered through sns');
  await fx.putObject('eb.txt', 'delivered through eventbridge');
  await fx.putObject('bare.txt', 'a bare bucket and key body');

  for (const key of keys) await fx.sendS3Event('upsert', key);
  await fx.sendS3Event('upsert', 'sns.txt', { sns: true });
  await fx.sendRaw(JSON.stringify({
    version: '0', 'detail-type': 'Object Created', source: 'aws.s3',
    detail: { bucket: { name: fx.bucket }, object: { key: 'eb.txt', size: 29 } },
  }));
  await fx.sendRaw(JSON.stringify({ bucket: fx.bucket, key: 'bare.txt' }));
  await fx.sendRaw(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: fx.bucket }));

  const w = await startWorker(index);
  try {
    await until('all documents indexed and the queue empty', async () => (await index.count()) === keys.length + 3 && (await queueEmpty()));
  } finally {
    await w.stop();
  }
  for (const [i, key] of keys.entries()) {
    const doc = await index.get(documentId(fx.bucket, key));
    assert.ok(doc, `indexed: ${key}`);
    assert.equal(doc.key, key, 'the key is decoded exactly as uploaded');
    assert.equal(doc.source, `s3://${fx.bucket}/${key}`);
    assert.match(doc.text, new RegExp(`marker${i}x`));
    assert.equal(doc.status, 'ok');
  }
  assert.equal((await index.search('議事録', 5))[0]?.name, '議事録.txt');
  assert.ok(await index.get(documentId(fx.bucket, 'sns.txt')));
  assert.ok(await index.get(documentId(fx.bucket, 'eb.txt')));
  assert.ok(await index.get(documentId(fx.bucket, 'bare.txt')));
  assert.equal(await fx.dlqCount(), 0);
  assert.deepEqual(await readdir(tmp), [], 'no temp files left behind');
  await index.close();
});

test('removes, stale events and missing objects: older state never wins and nothing retries forever', async () => {
  const index = new SqliteIndex(':memory:');
  await index.init();
  const v1 = await fx.putObject('doc.txt', 'first version alpha');
  await fx.sendS3Event('upsert', 'doc.txt', { etag: v1.etag });
  await fx.putObject('gone.txt', 'will be removed');
  await fx.sendS3Event('upsert', 'gone.txt');
  const w = await startWorker(index);
  try {
    await until('first round indexed', async () => (await index.count()) === 2 && (await queueEmpty()));
    // A newer upload, then the OLD event arrives again late: it must not overwrite the new text.
    const v2 = await fx.putObject('doc.txt', 'second version beta');
    await fx.sendS3Event('upsert', 'doc.txt', { etag: v2.etag });
    await until('v2 indexed', async () => (await index.get(documentId(fx.bucket, 'doc.txt')))?.text.includes('beta') ?? false);
    await fx.sendS3Event('upsert', 'doc.txt', { etag: v1.etag });
    // A remove event for a key that was re-uploaded since: ignored.
    await fx.sendS3Event('remove', 'doc.txt');
    // A real removal.
    await fx.deleteObject('gone.txt');
    await fx.sendS3Event('remove', 'gone.txt');
    // An event for an object that never existed: finished, nothing indexed, not retried.
    await fx.sendS3Event('upsert', 'never-there.txt', { etag: 'abc', size: 3 });
    await until('queue drained', queueEmpty);
  } finally {
    await w.stop();
  }
  const doc = await index.get(documentId(fx.bucket, 'doc.txt'));
  assert.ok(doc, 'a stale remove did not delete the re-uploaded document');
  assert.match(doc.text, /beta/, 'the stale upsert did not overwrite the newer version');
  assert.equal(await index.get(documentId(fx.bucket, 'gone.txt')), undefined, 'removed');
  assert.equal(await index.get(documentId(fx.bucket, 'never-there.txt')), undefined);
  assert.equal(await fx.dlqCount(), 0, 'none of these is poison');
  await index.close();
});

test('a malformed body is never deleted: the redrive policy moves it to the DLQ after maxReceiveCount', async () => {
  const index = new SqliteIndex(':memory:');
  await index.init();
  await fx.sendRaw('this is not json {');
  await fx.sqs.send(new SendMessageCommand({ QueueUrl: fx.queueUrl, MessageBody: JSON.stringify({ Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put' }] }) }));
  const w = await startWorker(index);
  let dlq: Awaited<ReturnType<SqsS3Fixture['receiveAllFromDlq']>> = [];
  try {
    await until('both poison messages in the DLQ', async () => (await fx.dlqCount()) === 2, 30_000);
    await until('main queue empty', queueEmpty);
  } finally {
    await w.stop();
    dlq = await fx.receiveAllFromDlq();
  }
  assert.equal(dlq.length, 2);
  assert.ok(dlq.some((m) => m.body === 'this is not json {'), 'the original body is preserved for inspection');
  assert.equal(await index.count(), 0);
  await index.close();
});

test('a too-large object is indexed by name with status too_large, without downloading it', async () => {
  const index = new SqliteIndex(':memory:');
  await index.init();
  await fx.putObject('huge.bin', 'small really');
  await fx.sendS3Event('upsert', 'huge.bin', { size: 2 * 1024 ** 3 });
  const w = await startWorker(index);
  try {
    await until('indexed', async () => (await index.count()) === 1 && (await queueEmpty()));
  } finally {
    await w.stop();
  }
  const doc = await index.get(documentId(fx.bucket, 'huge.bin'));
  assert.equal(doc?.status, 'too_large');
  assert.match(doc?.error ?? '', /over the limit/);
  assert.equal(w.extractor.calls, 0);
  await index.close();
});
