// Work that should not be done twice, through the production wiring against fauxqs: a re-delivered
// event is not extracted again, the same bytes under several keys are extracted once, and an event for
// a version the index already holds is not even downloaded.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { buildWorker, openAws } from '../src/wiring.ts';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { S3ThumbnailSink } from '../src/adapters/s3-thumbnail-sink.ts';
import { documentId } from '../src/ids.ts';
import { noTelemetry, teeTelemetry, type SkipReason } from '../src/telemetry/telemetry.ts';
import type { BlobStore } from '../src/types.ts';
import { EXTRACTOR_VERSION } from '../src/workers/protocol.ts';
import { startSqsS3Fixture, type SqsS3Fixture } from './helpers/fauxqs.ts';
import { TextExtractor } from './helpers/fakes.ts';
import { queueEmpty, until } from './helpers/wait.ts';

let fx: SqsS3Fixture;
let tmp: string;

beforeEach(async () => {
  fx = await startSqsS3Fixture({ maxReceiveCount: 3, visibilityTimeout: 30 });
  tmp = await mkdtemp(join(tmpdir(), 'fsw-dup-'));
});

afterEach(async () => {
  await fx?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** A worker built like `run`, with the pool calls, downloads and skips counted. */
async function startWorker(index: SqliteIndex, o: { thumbnails?: 'thumbs/' } = {}) {
  const config = loadConfig({ ...fx.env, QUEUE_WAIT_SECONDS: '1', INDEX_URL: `sqlite:${index.path}`, TMPDIR: tmp });
  const aws = await openAws(config, noTelemetry, undefined, {
    endpoint: fx.endpoint, region: fx.region, credentials: { accessKeyId: fx.env.AWS_ACCESS_KEY_ID!, secretAccessKey: fx.env.AWS_SECRET_ACCESS_KEY! },
  });
  let downloads = 0;
  const blobs: BlobStore = {
    download: (ref, o) => (downloads++, aws.blobs.download(ref, o)),
    exists: (ref) => aws.blobs.exists(ref),
  };
  const extractor = new TextExtractor();
  extractor.thumbnails = o.thumbnails !== undefined;
  // Slow enough that re-deliveries and copies are in flight together.
  extractor.delayMs = 200;
  const skipped: Record<SkipReason, number> = { unchanged: 0, same_content: 0 };
  const telemetry = teeTelemetry(noTelemetry, { documentSkipped: (r) => void skipped[r]++ });
  const thumbnails = o.thumbnails ? new S3ThumbnailSink({ client: aws.s3, bucket: fx.bucket, prefix: o.thumbnails }) : null;
  const worker = await buildWorker(config, { source: aws.source(), blobs, index, extractor, telemetry, thumbnails });
  await worker.pipeline.start();
  return {
    extractor,
    skipped,
    downloads: () => downloads,
    async stop() {
      await worker.pipeline.stop(5_000);
      await worker.close();
      aws.destroy();
    },
  };
}

test('an event delivered 5 times and the same bytes under 3 keys: one extraction, one sha256, no download beyond one per event', async () => {
  const index = new SqliteIndex(join(tmp, 'index.db'));
  await index.init();
  const body = 'quarterly report: the same bytes under three keys';
  const keys = ['reports/q3.txt', 'copies/q3.txt', 'reports/q3 (1).txt'];
  const puts = [];
  for (const key of keys) puts.push(await fx.putObject(key, body));
  for (let i = 0; i < 5; i++) await fx.sendS3Event('upsert', keys[0]!, { etag: puts[0]!.etag });
  await fx.sendS3Event('upsert', keys[1]!, { etag: puts[1]!.etag });
  await fx.sendS3Event('upsert', keys[2]!, { etag: puts[2]!.etag });
  const events = 7;

  const w = await startWorker(index);
  try {
    await until('three documents and the queue empty', async () => (await index.count()) === 3 && (await queueEmpty(fx)));
  } finally {
    await w.stop(); // closes the index it was given
  }
  await index.init();
  assert.equal(w.extractor.calls, 1, 'the bytes were extracted once');
  assert.ok(w.downloads() <= events, `${w.downloads()} downloads for ${events} events`);
  const docs = await Promise.all(keys.map((k) => index.get(documentId(fx.bucket, k))));
  const hashes = new Set(docs.map((d) => d?.sha256));
  assert.equal(hashes.size, 1, 'one sha256 for the three documents');
  assert.match([...hashes][0]!, /^[0-9a-f]{64}$/);
  for (const d of docs) {
    assert.ok(d?.text.includes('quarterly report'), `${d?.key} has the text`);
    assert.equal(d?.extractorVersion, EXTRACTOR_VERSION);
  }
  // Every event beyond the extracted one was saved by one of the two checks.
  assert.equal(w.skipped.same_content + w.skipped.unchanged, events - 1);
  assert.equal(await fx.dlqCount(), 0);
  await index.close();
});

test('copies of the same bytes get their own thumbnails; removing one object deletes its thumbnail and only its', async () => {
  const index = new SqliteIndex(join(tmp, 'index.db'));
  await index.init();
  const body = 'site survey: the same bytes under two keys';
  const keys = ['surveys/a.txt', 'copies/a.txt'];
  for (const key of keys) await fx.sendS3Event('upsert', key, { etag: (await fx.putObject(key, body)).etag });
  const ids = keys.map((k) => documentId(fx.bucket, k));
  const thumb = (id: string) => fx.s3.send(new GetObjectCommand({ Bucket: fx.bucket, Key: `thumbs/${id}.webp` })).then((r) => r.Body!.transformToString());

  const w = await startWorker(index, { thumbnails: 'thumbs/' });
  try {
    await until('two documents and the queue empty', async () => (await index.count()) === 2 && (await queueEmpty(fx)));
    assert.equal(w.extractor.calls, 1, 'the bytes were extracted once');
    const docs = await Promise.all(ids.map((id) => index.get(id)));
    assert.deepEqual(docs.map((d) => d?.thumbnail), ids.map((id) => `s3://${fx.bucket}/thumbs/${id}.webp`), 'each document points at its own thumbnail');
    for (const id of ids) assert.equal(await thumb(id), body);

    await fx.deleteObject(keys[0]!);
    await fx.sendS3Event('remove', keys[0]!);
    await until('the removed document gone and the queue empty', async () => (await index.count()) === 1 && (await queueEmpty(fx)));
    await assert.rejects(thumb(ids[0]!), /NoSuchKey|NotFound|404/);
    assert.equal(await thumb(ids[1]!), body, 'the copy keeps its thumbnail');
  } finally {
    await w.stop();
  }
  assert.equal(await fx.dlqCount(), 0);
});

test('an event for the version the index holds ends without a download; a new version is processed', async () => {
  const index = new SqliteIndex(join(tmp, 'index.db'));
  await index.init();
  const v1 = await fx.putObject('doc.txt', 'first version alpha');
  await fx.sendS3Event('upsert', 'doc.txt', { etag: v1.etag });
  const w = await startWorker(index);
  try {
    await until('v1 indexed', async () => (await index.count()) === 1 && (await queueEmpty(fx)));
    const before = w.downloads();
    await fx.sendS3Event('upsert', 'doc.txt', { etag: v1.etag });
    await fx.sendS3Event('upsert', 'doc.txt', { etag: v1.etag });
    await until('re-deliveries acked', async () => w.skipped.unchanged === 2 && (await queueEmpty(fx)));
    assert.equal(w.downloads(), before, 'no download for a version already indexed');
    const v2 = await fx.putObject('doc.txt', 'second version beta');
    await fx.sendS3Event('upsert', 'doc.txt', { etag: v2.etag });
    await until('v2 indexed', async () => (await index.get(documentId(fx.bucket, 'doc.txt')))?.text.includes('beta') ?? false);
    assert.equal(w.downloads(), before + 1);
    assert.equal(w.extractor.calls, 2);
  } finally {
    await w.stop();
  }
  await index.close();
});

test('local mode: copies of a file are read and hashed but extracted once', async () => {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const dir = join(tmp, 'files');
  await mkdir(join(dir, 'copies'), { recursive: true });
  await writeFile(join(dir, 'minutes.txt'), 'meeting minutes, the same everywhere');
  await writeFile(join(dir, 'copies', 'minutes.txt'), 'meeting minutes, the same everywhere');
  await writeFile(join(dir, 'copies', 'minutes (1).txt'), 'meeting minutes, the same everywhere');
  await writeFile(join(dir, 'other.txt'), 'something else');
  const index = new SqliteIndex(join(tmp, 'local.db'));
  await index.init();
  const extractor = new TextExtractor();
  const config = loadConfig({ INDEX_URL: `sqlite:${index.path}`, TMPDIR: tmp });
  const worker = await buildWorker(config, { input: { kind: 'files', paths: [dir] }, index, extractor, thumbnails: null, pipeline: { pollers: 1 } });
  await worker.pipeline.start();
  await worker.pipeline.drainFinite();
  await worker.close();
  await index.init();
  assert.equal(await index.count(), 4);
  assert.equal(extractor.calls, 2, 'one extraction for the three copies, one for the other file');
  const docs = [];
  for await (const d of index.searcher().dump()) docs.push(d);
  const copies = docs.filter((d) => d.name.startsWith('minutes'));
  assert.equal(new Set(copies.map((d) => d.sha256)).size, 1);
  assert.ok(copies.every((d) => d.text === 'meeting minutes, the same everywhere'));
  await index.close();
});
