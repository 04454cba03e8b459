// A bucket that already holds files, against fauxqs: backfill sends exactly what the index lacks and
// nothing on a second run, --direct indexes without a queue, reconcile removes documents of deleted
// objects and reports objects not indexed, reprocess re-sends by status with "force".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiveMessageCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { loadConfig, type Config } from '../src/config.ts';
import { runBackfillCommand } from '../src/commands/backfill.ts';
import { runReconcileCommand } from '../src/commands/reconcile.ts';
import { runReprocessCommand } from '../src/commands/reprocess.ts';
import type { SyncOverrides } from '../src/commands/bucket-sync.ts';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { DirThumbnailSink } from '../src/adapters/dir-thumbnail-sink.ts';
import { documentId, sourceOf } from '../src/ids.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import type { IndexDocument } from '../src/types.ts';
import { EXTRACTOR_VERSION } from '../src/workers/protocol.ts';
import { startSqsS3Fixture, type PutResult, type SqsS3Fixture } from './helpers/fauxqs.ts';
import { TextExtractor } from './helpers/fakes.ts';

const OBJECTS = 2_000;
let fx: SqsS3Fixture;
let tmp: string;
const puts = new Map<string, PutResult>();
const keys: string[] = [];

before(async () => {
  fx = await startSqsS3Fixture();
  tmp = await mkdtemp(join(tmpdir(), 'fsw-backfill-'));
  for (let i = 0; i < OBJECTS; i++) {
    const key = `dept-${i % 4}/${i % 3 === 0 ? 'archive/' : ''}doc-${String(i).padStart(4, '0')}.txt`;
    keys.push(key);
    puts.set(key, await fx.putObject(key, `document number ${i}`));
  }
  await fx.putObject('dept-0/folder/', ''); // a folder marker is not a document
});

after(async () => {
  await fx?.stop();
  await rm(tmp, { recursive: true, force: true });
});

function config(db: string, env: Record<string, string> = {}): Config {
  return loadConfig({ ...fx.env, INDEX_URL: `sqlite:${db}`, TMPDIR: tmp, QUEUE_WAIT_SECONDS: '1', ...env });
}

const overrides = (extractor = new TextExtractor()): SyncOverrides & { extractor: TextExtractor } => ({
  clients: { endpoint: fx.endpoint, region: fx.region, credentials: { accessKeyId: fx.env.AWS_ACCESS_KEY_ID!, secretAccessKey: fx.env.AWS_SECRET_ACCESS_KEY! } },
  extractor,
});

function indexedDoc(key: string, o: Partial<IndexDocument> = {}): IndexDocument {
  return {
    id: documentId(fx.bucket, key), source: sourceOf(fx.bucket, key), bucket: fx.bucket, key, name: key.split('/').pop()!,
    contentType: 'text/plain', size: 20, etag: puts.get(key)!.etag, status: 'ok', text: 'indexed before', truncated: false,
    pages: 1, ocrPages: 0, indexedAt: new Date().toISOString(), extractorVersion: EXTRACTOR_VERSION, ...o,
  };
}

/** A SQLite index holding every other object, as a worker that ran for a while would. */
async function halfIndexed(name: string): Promise<string> {
  const db = join(tmp, `${name}.db`);
  const index = new SqliteIndex(db);
  await index.init();
  await index.write(keys.filter((_, i) => i % 2 === 0).map((k) => ({ kind: 'upsert' as const, doc: indexedDoc(k) })));
  await index.close();
  return db;
}

/** Takes every message off the queue and returns the bodies. */
async function drainQueue(): Promise<Array<Record<string, unknown>>> {
  const bodies: Array<Record<string, unknown>> = [];
  for (let empty = 0; empty < 2; ) {
    const r = await fx.sqs.send(new ReceiveMessageCommand({ QueueUrl: fx.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 300 }));
    if (!r.Messages?.length) empty++;
    for (const m of r.Messages ?? []) bodies.push(JSON.parse(m.Body!) as Record<string, unknown>);
  }
  await fx.sqs.send(new PurgeQueueCommand({ QueueUrl: fx.queueUrl }));
  return bodies;
}

test('backfill sends exactly the objects the index lacks, as plain messages, and a second run sends none once they are indexed', async () => {
  const db = await halfIndexed('queue');
  const first = await runBackfillCommand(config(db), silentLogger, { target: `s3://${fx.bucket}`, direct: false, dryRun: false, maxRate: Infinity }, overrides());
  assert.equal(first.code, 0);
  assert.deepEqual({ listed: first.counts.listed, current: first.counts.current, sent: first.counts.sent }, { listed: OBJECTS, current: OBJECTS / 2, sent: OBJECTS / 2 });
  const bodies = await drainQueue();
  assert.equal(bodies.length, OBJECTS / 2);
  const sentKeys = new Set(bodies.map((b) => b.key));
  assert.deepEqual([...sentKeys].sort(), keys.filter((_, i) => i % 2 === 1).sort(), 'exactly the unindexed half, each once');
  assert.deepEqual(Object.keys(bodies[0]!).sort(), ['bucket', 'etag', 'key', 'size']);

  // The worker indexes them (here: written as it would), then a second run has nothing to send.
  const index = new SqliteIndex(db);
  await index.init();
  await index.write([...sentKeys].map((k) => ({ kind: 'upsert' as const, doc: indexedDoc(String(k)) })));
  await index.close();
  const second = await runBackfillCommand(config(db), silentLogger, { target: `s3://${fx.bucket}`, direct: false, dryRun: false, maxRate: Infinity }, overrides());
  assert.equal(second.counts.sent, 0);
  assert.equal(second.counts.current, OBJECTS);
  assert.equal((await drainQueue()).length, 0);
});

test('backfill of a prefix with --dry-run counts and sends nothing; --max-rate paces the sends', async () => {
  const db = await halfIndexed('dry');
  const dry = await runBackfillCommand(config(db), silentLogger, { target: `s3://${fx.bucket}/dept-1/`, direct: false, dryRun: true, maxRate: Infinity }, overrides());
  const inPrefix = keys.filter((k) => k.startsWith('dept-1/'));
  assert.equal(dry.counts.listed, inPrefix.length);
  assert.equal(dry.counts.todo, inPrefix.filter((k) => keys.indexOf(k) % 2 === 1).length);
  assert.equal(dry.counts.sent, 0);
  assert.equal((await drainQueue()).length, 0);

  const t0 = performance.now();
  const paced = await runBackfillCommand(config(db), silentLogger, { target: `s3://${fx.bucket}/dept-1/archive/`, direct: false, dryRun: false, maxRate: 100 }, overrides());
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(paced.counts.sent > 50, `sent ${paced.counts.sent}`);
  // At 100 a second, n messages take at least (n - 10) / 100 s (the first batch goes at once).
  assert.ok(seconds >= (paced.counts.sent - 10) / 100, `${paced.counts.sent} messages in ${seconds.toFixed(2)} s at --max-rate 100`);
  await drainQueue();
});

test('backfill --direct indexes the missing half in this process, without the queue', async () => {
  const db = await halfIndexed('direct');
  const o = overrides();
  const r = await runBackfillCommand(config(db, { QUEUE_URL: '' }), silentLogger, { target: `s3://${fx.bucket}`, direct: true, dryRun: false, maxRate: Infinity }, o);
  assert.equal(r.code, 0);
  assert.equal(r.counts.indexed, OBJECTS / 2);
  assert.equal(o.extractor.calls, OBJECTS / 2);
  const index = new SqliteIndex(db);
  await index.init();
  assert.equal(await index.count(), OBJECTS);
  const one = await index.get(documentId(fx.bucket, keys[1]!));
  assert.equal(one?.text, 'document number 1');
  assert.match(one?.sha256 ?? '', /^[0-9a-f]{64}$/);
  await index.close();
  assert.equal((await fx.queueCounts()).visible, 0);
});

test('reconcile removes documents of deleted objects and reports (or sends) objects not indexed', async () => {
  const db = join(tmp, 'reconcile.db');
  const index = new SqliteIndex(db);
  await index.init();
  const prefix = 'dept-2/';
  const inPrefix = keys.filter((k) => k.startsWith(prefix));
  const notIndexed = inPrefix.slice(0, 5);
  await index.write(inPrefix.slice(5).map((k) => ({ kind: 'upsert' as const, doc: indexedDoc(k) })));
  // Documents whose objects were deleted while their events were lost, and one in another prefix.
  const ghosts = ['dept-2/deleted-a.txt', 'dept-2/archive/deleted-b.txt'];
  await index.write([...ghosts, 'dept-9/elsewhere.txt'].map((k) => ({ kind: 'upsert' as const, doc: { ...indexedDoc(inPrefix[5]!), key: k, name: k.split('/').pop()!, id: documentId(fx.bucket, k), source: sourceOf(fx.bucket, k) } })));
  await index.close();

  const dry = await runReconcileCommand(config(db), silentLogger, { target: `s3://${fx.bucket}/${prefix}`, dryRun: true, maxRate: Infinity }, overrides());
  assert.deepEqual({ gone: dry.counts.gone, missing: dry.counts.missing, removed: dry.counts.removed }, { gone: 2, missing: 5, removed: 0 });

  // The thumbnails of the ghosts go with them; a kept document's thumbnail stays.
  const thumbs = new DirThumbnailSink(join(tmp, 'reconcile-thumbs'));
  const kept = documentId(fx.bucket, inPrefix[5]!);
  for (const id of [...ghosts.map((g) => documentId(fx.bucket, g)), kept]) await thumbs.put(id, new Uint8Array([1, 2, 3]));
  // A sink that cannot delete keeps the documents (a re-run retries both) and says so in the exit code.
  const refusing = { ...overrides(), thumbnails: { put: thumbs.put.bind(thumbs), copy: thumbs.copy.bind(thumbs), remove: async () => { throw new Error('AccessDenied'); }, close: async () => {} } };
  const blocked = await runReconcileCommand(config(db), silentLogger, { target: `s3://${fx.bucket}/${prefix}`, dryRun: false, maxRate: Infinity }, refusing);
  assert.deepEqual({ code: blocked.code, removed: blocked.counts.removed }, { code: 1, removed: 0 });
  await drainQueue();

  const real = await runReconcileCommand(config(db), silentLogger, { target: `s3://${fx.bucket}/${prefix}`, dryRun: false, maxRate: Infinity }, { ...overrides(), thumbnails: thumbs });
  assert.deepEqual({ removed: real.counts.removed, missing: real.counts.missing, sent: real.counts.sent }, { removed: 2, missing: 5, sent: 5 });
  assert.deepEqual((await readdir(thumbs.dir)).sort(), [`${kept}.webp`]);
  const bodies = await drainQueue();
  assert.deepEqual(bodies.map((b) => b.key).sort(), [...notIndexed].sort());
  await index.init();
  for (const g of ghosts) assert.equal(await index.get(documentId(fx.bucket, g)), undefined, `${g} removed`);
  assert.ok(await index.get(documentId(fx.bucket, 'dept-9/elsewhere.txt')), 'outside the prefix: untouched');
  assert.equal(await index.count(), inPrefix.length - 5 + 1);
  await index.close();
});

test('reprocess sends documents by status or extractor version, with force', async () => {
  const db = join(tmp, 'reprocess.db');
  const index = new SqliteIndex(db);
  await index.init();
  const some = keys.filter((k) => k.startsWith('dept-3/')).slice(0, 6);
  await index.write([
    { kind: 'upsert', doc: indexedDoc(some[0]!, { status: 'failed' }) },
    { kind: 'upsert', doc: indexedDoc(some[1]!, { status: 'partial' }) },
    { kind: 'upsert', doc: indexedDoc(some[2]!, { extractorVersion: 0 }) },
    ...some.slice(3).map((k) => ({ kind: 'upsert' as const, doc: indexedDoc(k) })),
  ]);
  await index.close();
  const r = await runReprocessCommand(config(db), silentLogger, { target: `s3://${fx.bucket}/dept-3/`, statuses: ['failed'], belowVersion: EXTRACTOR_VERSION, dryRun: false, maxRate: Infinity }, overrides());
  assert.deepEqual(r.counts, { scanned: 6, selected: 2, sent: 2 });
  const bodies = await drainQueue();
  assert.deepEqual(bodies.map((b) => b.key).sort(), [some[0], some[2]].sort());
  assert.ok(bodies.every((b) => b.force === true && b.etag === undefined));
});
