// The stages and their queues, with in-memory stand-ins for the outside world.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readdir, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pipeline, type PipelineOptions } from '../src/pipeline.ts';
import { loadConfig } from '../src/config.ts';
import { pipelineOptions } from '../src/wiring.ts';
import { DirectorySource } from '../src/adapters/directory-source.ts';
import { FileBlobStore } from '../src/adapters/file-blob-store.ts';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { documentId } from '../src/ids.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { noTelemetry, type Telemetry } from '../src/telemetry/telemetry.ts';
import { MalformedMessageError } from '../src/errors.ts';
import type { BlobStore, Delivery, LocalFile } from '../src/types.ts';
import { MemorySource, TextExtractor } from './helpers/fakes.ts';

// Small, fast settings over the configured defaults.
function options(tmp: string, o: Partial<PipelineOptions> = {}): PipelineOptions {
  return pipelineOptions(loadConfig({}), {
    receiveBatch: 10, pollers: 2, queueCapacity: 4, downloadConcurrency: 3, downloadBytesBudget: 64 * 1024 * 1024,
    unknownSizeReserve: 1024, extractConcurrency: 2, extractBytesBudget: 64 * 1024 * 1024, indexBatchSize: 5, indexBatchBytes: 1024 * 1024, indexFlushMs: 20,
    indexConcurrency: 2, deleteFlushMs: 10, deleteRetries: 2,
    limits: { maxBytes: 10 * 1024 * 1024, maxOcrPages: 5, maxChars: 100_000, docTimeoutMs: 10_000, pageTimeoutMs: 5_000, maxPixels: 1e8 },
    ocrLangs: 'eng', tmpDir: tmp, retryBaseSeconds: 10, retryMaxSeconds: 900, shutdownTimeoutMs: 5_000, wantThumbnails: false, ...o,
  });
}

async function withTmp(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'fsw-test-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('local files flow through every stage into the SQLite index, and a re-run skips unchanged files', () =>
  withTmp(async (dir) => {
    const docs = join(dir, 'docs');
    await import('node:fs/promises').then((fs) => fs.mkdir(join(docs, 'sub'), { recursive: true }));
    await writeFile(join(docs, 'a.txt'), 'the quarterly report mentions zebras');
    await writeFile(join(docs, 'sub', 'b.txt'), '東京都の会議資料');
    await writeFile(join(docs, 'c.txt'), 'nothing special');
    const db = join(dir, 'index.db');

    const runOnce = async () => {
      const index = new SqliteIndex(db);
      await index.init();
      const source = new DirectorySource({ paths: [docs], isUnchanged: async (ref) => (await index.get(documentId('', ref.key)))?.etag === ref.etag });
      const extractor = new TextExtractor();
      const p = new Pipeline({ source, blobs: new FileBlobStore(), extractor, index, telemetry: noTelemetry, logger: silentLogger }, options(dir));
      await p.start();
      await p.drainFinite();
      await p.cleanup();
      const hits = await index.search('zebras', 10);
      const ja = await index.search('会議', 10);
      const count = await index.count();
      await index.close();
      return { calls: extractor.calls, skipped: source.skipped, hits, ja, count };
    };

    const first = await runOnce();
    assert.equal(first.calls, 3);
    assert.equal(first.count, 3);
    assert.deepEqual(first.hits.map((h) => h.name), ['a.txt']);
    assert.match(first.hits[0]!.snippet, /<mark>zebras<\/mark>/);
    assert.deepEqual(first.ja.map((h) => h.name), ['b.txt'], 'a two-character Japanese word is found');

    const second = await runOnce();
    assert.equal(second.calls, 0, 'nothing changed, nothing extracted');
    assert.equal(second.skipped, 3);

    await writeFile(join(docs, 'c.txt'), 'now it mentions giraffes');
    await utimes(join(docs, 'c.txt'), new Date(), new Date(Date.now() + 5000));
    const third = await runOnce();
    assert.equal(third.calls, 1, 'only the changed file is extracted again');
    assert.equal(third.count, 3);
  }));

test('back-pressure: a slow extract stage stops receive from taking more messages than the queues hold', () =>
  withTmp(async (dir) => {
    const files: Delivery[] = [];
    for (let i = 0; i < 60; i++) {
      const p = join(dir, `f${i}.txt`);
      await writeFile(p, `document number ${i}`);
      files.push({ lease: { id: `m${i}`, receiveCount: 1, receivedAt: Date.now() }, jobs: [{ ref: { bucket: '', key: p }, action: 'upsert' }] });
    }
    const source = new MemorySource(files);
    const extractor = new TextExtractor();
    extractor.delayMs = 15;
    const index = new SqliteIndex(':memory:');
    await index.init();
    const depths: number[] = [];
    const telemetry: Telemetry = {
      ...noTelemetry,
      watchQueue: (_name, read) => {
        const t = setInterval(() => depths.push(read().depth), 2);
        t.unref();
      },
    };
    const opts = options(dir, { queueCapacity: 3, receiveBatch: 2, pollers: 2, extractConcurrency: 2, downloadConcurrency: 2 });
    const p = new Pipeline({ source, blobs: new FileBlobStore(), extractor, index, telemetry, logger: silentLogger }, opts);
    await p.start();
    await p.drainFinite();
    await p.cleanup();
    assert.equal(source.acked.length, 60, 'every message acked');
    assert.equal(await index.count(), 60);
    assert.ok(Math.max(...depths) <= Math.max(opts.queueCapacity, opts.indexBatchSize), `queue depth stayed bounded (max ${Math.max(...depths)})`);
    // download + extract queues, the workers of each stage, one poll batch per poller, the index batch in flight.
    const bound = opts.queueCapacity * 2 + opts.downloadConcurrency + opts.extractConcurrency + opts.pollers * opts.receiveBatch + opts.indexBatchSize * opts.indexConcurrency + opts.queueCapacity;
    assert.ok(source.maxHeld <= bound, `messages held at once stayed bounded: ${source.maxHeld} <= ${bound}`);
    assert.ok(source.maxHeld < 60, 'receive did not swallow the whole backlog');
    assert.ok(extractor.maxActive <= opts.extractConcurrency);
    await index.close();
  }));

test('settle: a message is acked only when all its jobs are done; retryable failures release it with a growing backoff; malformed is never deleted', () =>
  withTmp(async (dir) => {
    const good = join(dir, 'good.txt');
    const bad = join(dir, 'bad.txt');
    await writeFile(good, 'fine');
    await writeFile(bad, 'boom');
    const now = Date.now();
    const deliveries: Delivery[] = [
      { lease: { id: 'two-ok', receiveCount: 1, receivedAt: now }, jobs: [{ ref: { bucket: '', key: good }, action: 'upsert' }, { ref: { bucket: '', key: good + '.missing' }, action: 'upsert' }] },
      { lease: { id: 'one-bad', receiveCount: 3, receivedAt: now }, jobs: [{ ref: { bucket: '', key: good }, action: 'upsert' }, { ref: { bucket: '', key: bad }, action: 'upsert' }] },
      { lease: { id: 'test-event', receiveCount: 1, receivedAt: now }, jobs: [] },
      { lease: { id: 'garbage', receiveCount: 1, receivedAt: now }, malformed: new MalformedMessageError('not JSON') },
    ];
    const source = new MemorySource(deliveries);
    const extractor = new TextExtractor();
    extractor.failNames.add('bad.txt');
    const index = new SqliteIndex(':memory:');
    await index.init();
    const p = new Pipeline({ source, blobs: new FileBlobStore(), extractor, index, telemetry: noTelemetry, logger: silentLogger }, options(dir, { retryBaseSeconds: 10 }));
    await p.start();
    await p.drainFinite();
    await p.cleanup();
    assert.deepEqual(source.acked.map((l) => l.id).sort(), ['test-event', 'two-ok'], 'a missing object finishes its job; TestEvent is acked');
    const released = new Map(source.released.map((r) => [r.lease.id, r.delaySeconds]));
    assert.deepEqual([...released.keys()].sort(), ['garbage', 'one-bad']);
    const delay = released.get('one-bad')!;
    assert.ok(delay >= 32 && delay <= 40, `backoff grows with receive count 3: 10*2^2 with jitter, got ${delay}`);
    assert.equal(source.held.size, 0, 'every lease ended exactly once');
    await index.close();
  }));

test('download respects its byte budget: big objects do not download all at once', () =>
  withTmp(async (dir) => {
    let inFlightBytes = 0;
    let maxInFlight = 0;
    const blobs: BlobStore = {
      async download(ref): Promise<LocalFile> {
        inFlightBytes += ref.size!;
        maxInFlight = Math.max(maxInFlight, inFlightBytes);
        const path = join(dir, ref.key);
        await writeFile(path, 'x');
        await new Promise((r) => setTimeout(r, 5));
        return { path, size: ref.size!, dispose: async () => { inFlightBytes -= ref.size!; await rm(path, { force: true }); } };
      },
      async exists() { return true; },
    };
    const deliveries: Delivery[] = Array.from({ length: 12 }, (_, i) => ({
      lease: { id: `m${i}`, receiveCount: 1, receivedAt: Date.now() },
      jobs: [{ ref: { bucket: 'b', key: `k${i}`, size: 40 * 1024 * 1024 }, action: 'upsert' as const }],
    }));
    const source = new MemorySource(deliveries);
    const extractor = new TextExtractor();
    extractor.delayMs = 10;
    const index = new SqliteIndex(':memory:');
    await index.init();
    const p = new Pipeline({ source, blobs, extractor, index, telemetry: noTelemetry, logger: silentLogger },
      options(dir, { downloadBytesBudget: 100 * 1024 * 1024, downloadConcurrency: 8, limits: { ...options(dir).limits, maxBytes: 1e9 } }));
    await p.start();
    await p.drainFinite();
    await p.cleanup();
    assert.equal(source.acked.length, 12);
    assert.ok(maxInFlight <= 100 * 1024 * 1024, `at most the budget was downloaded-and-not-yet-extracted (${maxInFlight / 2 ** 20} MiB)`);
    assert.ok(maxInFlight >= 80 * 1024 * 1024, 'the budget allowed two 40 MiB objects side by side');
    await index.close();
  }));

test('shutdown deadline releases unfinished messages at once and leaves no temp files', () =>
  withTmp(async (dir) => {
    const deliveries: Delivery[] = [];
    for (let i = 0; i < 10; i++) {
      const p = join(dir, `s${i}.txt`);
      await writeFile(p, 'slow');
      deliveries.push({ lease: { id: `m${i}`, receiveCount: 1, receivedAt: Date.now() }, jobs: [{ ref: { bucket: '', key: p }, action: 'upsert' }] });
    }
    const source = new MemorySource(deliveries);
    const extractor = new TextExtractor();
    extractor.delayMs = 2_000;
    const index = new SqliteIndex(':memory:');
    await index.init();
    const tmp = join(dir, 'tmp');
    await import('node:fs/promises').then((fs) => fs.mkdir(tmp));
    const p = new Pipeline({ source, blobs: new FileBlobStore(), extractor, index, telemetry: noTelemetry, logger: silentLogger }, options(tmp));
    await p.start();
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await p.stop(300);
    assert.ok(Date.now() - t0 < 4_000, 'stop returned soon after its deadline');
    await p.cleanup();
    const ended = new Set([...source.acked.map((l) => l.id), ...source.released.map((r) => r.lease.id)]);
    assert.equal(source.held.size, 0, `every received message was acked or released (held: ${[...source.held]})`);
    assert.ok(source.released.every((r) => r.delaySeconds === 0), 'released with visibility 0');
    assert.equal(ended.size, source.received);
    assert.deepEqual(await readdir(tmp), [], 'private temp dir removed');
    await index.close();
  }));

test('extract byte budget: two large documents are never extracted side by side; small ones still run alongside', () =>
  withTmp(async (dir) => {
    const { truncate } = await import('node:fs/promises');
    const deliveries: Delivery[] = [];
    const sizes = [40, 40, 1, 1, 40, 1].map((mb) => mb * 1024 * 1024);
    for (const [i, size] of sizes.entries()) {
      const p = join(dir, `d${i}.bin`);
      // Different first bytes: identical files would share one extraction (the extraction cache).
      await writeFile(p, `document ${i}`);
      await truncate(p, size); // sparse: no disk space used
      deliveries.push({ lease: { id: `m${i}`, receiveCount: 1, receivedAt: Date.now() }, jobs: [{ ref: { bucket: '', key: p }, action: 'upsert' }] });
    }
    let active = 0;
    let maxActive = 0;
    let bigTogether = 0;
    let bigActive = 0;
    let smallBesideBig = false;
    const extractor = new TextExtractor();
    extractor.extract = async (req) => {
      const big = req.size > 32 * 1024 * 1024;
      active++;
      if (big) bigActive++;
      maxActive = Math.max(maxActive, active);
      bigTogether = Math.max(bigTogether, bigActive);
      // A small document waits (up to 2 s) for a large one to be extracting beside it: the budget must
      // let a large one start while it runs, whatever order the downloads (and their hashing) finish in.
      for (const until = Date.now() + 2_000; !big && bigActive === 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 5));
      if (!big && bigActive > 0) smallBesideBig = true;
      await new Promise((r) => setTimeout(r, 40));
      active--;
      if (big) bigActive--;
      return { contentType: 'application/octet-stream', text: '', truncated: false, pages: 1, ocrPages: 0, status: 'ok' };
    };
    const source = new MemorySource(deliveries);
    const index = new SqliteIndex(':memory:');
    await index.init();
    const p = new Pipeline({ source, blobs: new FileBlobStore(), extractor, index, telemetry: noTelemetry, logger: silentLogger },
      options(dir, { extractConcurrency: 3, extractBytesBudget: 64 * 1024 * 1024, downloadBytesBudget: 1024 * 1024 * 1024, limits: { ...options(dir).limits, maxBytes: 1e9 } }));
    await p.start();
    await p.drainFinite();
    await p.cleanup();
    assert.equal(source.acked.length, sizes.length);
    assert.equal(bigTogether, 1, 'never two 40 MB documents at once');
    assert.ok(smallBesideBig, 'a small document ran beside a large one');
    await index.close();
  }));
