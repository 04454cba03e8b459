// "Nothing lost" (issue 16): a message is deleted only after something was written for every object it
// names — the document, or its metadata with a status and the reason. Otherwise it stays on the queue
// and the redrive policy moves it to the DLQ. Auth errors from S3 (a missing KMS grant, a bucket
// policy) are retryable; a document the index refuses is stored by name with status `failed`.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { OpenSearchIndex } from '../src/adapters/opensearch-index.ts';
import { documentId } from '../src/ids.ts';
import { startSqsS3Fixture, type SqsS3Fixture } from './helpers/fauxqs.ts';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.ts';
import { startOpenSearchDouble, type OpenSearchDouble } from './helpers/opensearch-double.ts';
import { startInProcessWorker } from './helpers/in-process-worker.ts';
import { queueEmpty, until } from './helpers/wait.ts';

let fx: SqsS3Fixture;
let proxy: FaultProxy;
let tmp: string;
let os: OpenSearchDouble | undefined;

beforeEach(async () => {
  // Three receives, then the DLQ: a message that keeps failing gets there within seconds.
  fx = await startSqsS3Fixture({ maxReceiveCount: 3, visibilityTimeout: 30 });
  proxy = await startFaultProxy(fx.endpoint);
  tmp = await mkdtemp(join(tmpdir(), 'fsw-lost-'));
});
afterEach(async () => {
  await os?.stop();
  os = undefined;
  await proxy?.stop();
  await fx?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** Retries come back at once, so the redrive policy is reached in a few polls. */
const FAST_RETRY = { retryBaseSeconds: 0, retryMaxSeconds: 0 };

async function backlog(keys: string[]): Promise<void> {
  for (const key of keys) {
    await fx.putObject(key, `document ${key} marker`);
    await fx.sendS3Event('upsert', key);
  }
}

async function dlqKeys(): Promise<string[]> {
  return (await fx.receiveAllFromDlq()).map((m) => /"key":"([^"]+)"/.exec(m.body)?.[1] ?? m.body);
}

for (const [name, status, code, message] of [
  ['403 AccessDenied', 403, 'AccessDenied', 'Access Denied'],
  ['a KMS key the role may not use', 403, 'AccessDenied', 'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.'],
  ['KMS.DisabledException', 400, 'KMS.DisabledException', 'arn:aws:kms:us-east-1:000000000000:key/x is disabled.'],
] as const) {
  test(`S3 GetObject ${name}: the message is retried and ends in the DLQ, never deleted with nothing written`, async () => {
    const index = new SqliteIndex(':memory:');
    await index.init();
    await backlog(['denied.txt', 'fine-1.txt', 'fine-2.txt']);
    const rule = proxy.inject({ operation: 'GetObject', key: (k) => k === 'denied.txt' }, { kind: 'error', status, code, message });
    const w = await startInProcessWorker({ fx, proxy, tmp, index, opts: FAST_RETRY });
    try {
      await until('the denied message reaches the DLQ and the rest is done', async () => (await fx.dlqCount()) === 1 && (await queueEmpty(fx)), 30_000);
    } finally {
      await w.stop(name);
    }
    assert.ok(rule.served >= 3, `GetObject was tried on each of the 3 receives: ${rule.served}`);
    assert.deepEqual(await dlqKeys(), ['denied.txt']);
    assert.ok(await index.get(documentId(fx.bucket, 'fine-1.txt')));
    assert.ok(await index.get(documentId(fx.bucket, 'fine-2.txt')));
    assert.equal(await index.get(documentId(fx.bucket, 'denied.txt')), undefined, 'nothing half-written for the denied object');
    const released = w.logged('message released for retry');
    assert.ok(released.length >= 2 && released.every((l) => l.level === 40), 'each release is a warning');
    assert.ok(released.some((l) => String(l.error).includes(code)), `the warning says why: ${JSON.stringify(released[0])}`);
    await index.close();
  });
}

test('a permanent S3 refusal that is not about auth (InvalidObjectState: archived) leaves a metadata document with status failed and the reason', async () => {
  const index = new SqliteIndex(':memory:');
  await index.init();
  await backlog(['archived.txt', 'fine.txt']);
  proxy.inject({ operation: 'GetObject', key: (k) => k === 'archived.txt' }, { kind: 'error', status: 403, code: 'InvalidObjectState', message: 'The operation is not valid for the object\'s storage class' });
  proxy.inject({ operation: 'GetObject', key: (k) => k === 'fine.txt' }, { kind: 'error', status: 400, code: 'InvalidRequest', message: 'bad request for this object' });
  const w = await startInProcessWorker({ fx, proxy, tmp, index, opts: FAST_RETRY });
  try {
    await until('both written and the queue empty', async () => (await index.count()) === 2 && (await queueEmpty(fx)), 30_000);
  } finally {
    await w.stop('permanent S3 refusal');
  }
  for (const [key, reason] of [['archived.txt', /InvalidObjectState|storage class/], ['fine.txt', /InvalidRequest|bad request/]] as const) {
    const doc = await index.get(documentId(fx.bucket, key));
    assert.equal(doc?.status, 'failed', key);
    assert.equal(doc?.name, key);
    assert.match(doc?.error ?? '', reason);
  }
  assert.equal(await fx.dlqCount(), 0);
  const m = await w.metrics();
  assert.equal(m.get('filesearch_documents_total', { status: 'failed' }), 2, 'the failed documents are counted');
  await index.close();
});

async function openSearchWorker() {
  os = await startOpenSearchDouble();
  const settings = { node: os.url, index: 'files', maxRetries: 1, backoffBaseMs: 20, backoffMaxMs: 50, requestTimeoutMs: 5_000 };
  let real!: OpenSearchIndex;
  const w = await startInProcessWorker({ fx, proxy, tmp, index: (telemetry, logger) => (real = new OpenSearchIndex({ ...settings, telemetry, logger })), opts: FAST_RETRY });
  const double = os;
  return { w, real, docs: () => double.readDocs('files') };
}

test('OpenSearch 400 mapper_parsing_exception for one document: its metadata is stored with status failed and the reason', async () => {
  const keys = ['a.txt', 'refused.txt', 'c.txt'];
  await backlog(keys);
  const { w, real, docs } = await openSearchWorker();
  // Refused every time in its full form; the metadata-only form has no field that can fail to parse.
  os!.faults.item(documentId(fx.bucket, 'refused.txt'), 'mapper_parsing', 1);
  try {
    await until('all three stored and the queue empty', async () => docs().size === 3 && (await queueEmpty(fx)), 30_000);
  } finally {
    await w.stop('mapper_parsing once');
    await real.close();
  }
  const refused = docs().get(documentId(fx.bucket, 'refused.txt'))!.source;
  assert.equal(refused.status, 'failed');
  assert.equal(refused.name, 'refused.txt');
  assert.equal(refused.text, '', 'stored by name and metadata only');
  assert.match(String(refused.error), /mapper_parsing_exception/);
  assert.equal(docs().get(documentId(fx.bucket, 'a.txt'))!.source.status, 'ok');
  assert.equal(await fx.dlqCount(), 0);
  const m = await w.metrics();
  assert.equal(m.get('filesearch_documents_total', { status: 'ok' }), 2);
  assert.equal(m.get('filesearch_documents_total', { status: 'failed' }), 1, 'documents counted by what was stored');
  const done = w.logs.filter((l) => l.msg === 'message done' && l.source === `s3://${fx.bucket}/refused.txt`);
  assert.ok(done.every((l) => l.docStatus === 'failed'), `the outcome line says failed: ${JSON.stringify(done)}`);
});

test('OpenSearch refusing even the metadata-only document: the message is released and ends in the DLQ', async () => {
  await backlog(['a.txt', 'refused.txt']);
  const { w, real, docs } = await openSearchWorker();
  os!.faults.item(documentId(fx.bucket, 'refused.txt'), 'mapper_parsing', 1_000);
  try {
    await until('the refused message in the DLQ and the rest done', async () => (await fx.dlqCount()) === 1 && (await queueEmpty(fx)), 30_000);
  } finally {
    await w.stop('mapper_parsing always');
    await real.close();
  }
  assert.deepEqual(await dlqKeys(), ['refused.txt']);
  assert.ok(docs().has(documentId(fx.bucket, 'a.txt')));
  assert.ok(!docs().has(documentId(fx.bucket, 'refused.txt')));
  assert.ok(w.logged('message released for retry').some((l) => /mapper_parsing_exception/.test(String(l.error))));
});
