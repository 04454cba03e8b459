// /metrics and /readyz during a real run: the pipeline on fauxqs, scraped over HTTP as Prometheus would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pipeline, type PipelineOptions } from '../src/pipeline.ts';
import { loadConfig } from '../src/config.ts';
import { pipelineOptions } from '../src/wiring.ts';
import { SqsJobSource } from '../src/adapters/sqs-source.ts';
import { S3BlobStore } from '../src/adapters/s3-blob-store.ts';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { PrometheusTelemetry } from '../src/telemetry/metrics.ts';
import { startOpsServer } from '../src/telemetry/ops-server.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { startSqsS3Fixture } from './helpers/fauxqs.ts';
import { TextExtractor } from './helpers/fakes.ts';
import { parsePromText } from './helpers/prom-text.ts';

// Small, fast settings over the configured defaults.
function options(tmp: string): PipelineOptions {
  return pipelineOptions(loadConfig({}), {
    receiveBatch: 10, pollers: 1, queueCapacity: 4, downloadConcurrency: 2, downloadBytesBudget: 8 * 1024 * 1024,
    unknownSizeReserve: 1024, extractConcurrency: 1, extractBytesBudget: 64 * 1024 * 1024, indexBatchSize: 5, indexBatchBytes: 1024 * 1024, indexFlushMs: 10,
    indexConcurrency: 1, deleteFlushMs: 10, deleteRetries: 1,
    limits: { maxBytes: 1024 * 1024, maxOcrPages: 1, maxChars: 10_000, docTimeoutMs: 10_000, pageTimeoutMs: 5_000, maxPixels: 1e8 },
    ocrLangs: 'eng', tmpDir: tmp, retryBaseSeconds: 0, retryMaxSeconds: 0, shutdownTimeoutMs: 10_000, wantThumbnails: false,
  });
}

test('metric families move as work flows, and /readyz says not ready while draining', async () => {
  const fx = await startSqsS3Fixture();
  const tmp = await mkdtemp(join(tmpdir(), 'fsw-metrics-'));
  const telemetry = new PrometheusTelemetry();
  const index = new SqliteIndex(':memory:');
  await index.init();
  const source = new SqsJobSource({ client: fx.sqs, queueUrl: fx.queueUrl, waitTimeSeconds: 1, visibilityTimeoutSeconds: 30, heartbeatSeconds: 10, telemetry, logger: silentLogger });
  const extractor = new TextExtractor();
  extractor.delayMs = 30;
  const pipeline = new Pipeline({ source, blobs: new S3BlobStore({ client: fx.s3, telemetry }), extractor, index, telemetry, logger: silentLogger }, options(tmp));
  const ops = await startOpsServer({ port: 0, host: '127.0.0.1', registry: telemetry.registry, logger: silentLogger, ready: () => pipeline.readiness() });
  const base = `http://127.0.0.1:${ops.port}`;
  const scrape = async () => parsePromText(await (await fetch(`${base}/metrics`)).text());
  try {
    assert.equal((await fetch(`${base}/readyz`)).status, 503, 'not ready before the pipeline starts');
    const before = await scrape();
    assert.equal(before.get('filesearch_stage_items_total', { stage: 'index', outcome: 'ok' }), 0);

    for (let i = 0; i < 12; i++) {
      await fx.putObject(`doc${i}.txt`, `document ${i} `.repeat(50));
      await fx.sendS3Event('upsert', `doc${i}.txt`);
    }
    await fx.sendRaw('not json');
    await pipeline.start();
    assert.equal((await fetch(`${base}/readyz`)).status, 200, 'ready while running');

    let mid = await scrape();
    const end = Date.now() + 20_000;
    while ((mid.get('filesearch_messages_deleted_total') ?? 0) < 12 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      mid = await scrape();
    }
    for (const stage of ['receive', 'download', 'extract', 'index', 'delete']) {
      assert.ok((mid.get('filesearch_stage_items_total', { stage, outcome: 'ok' }) ?? 0) >= 12, `${stage} items counted`);
      assert.ok((mid.get('filesearch_stage_seconds_count', { stage }) ?? 0) >= 12, `${stage} timed`);
    }
    assert.equal(mid.get('filesearch_messages_deleted_total'), 12);
    assert.ok((mid.get('filesearch_download_bytes_total') ?? 0) >= 12 * 450, 'downloaded bytes counted');
    assert.equal(mid.get('filesearch_documents_total', { status: 'ok' }), 12);
    assert.ok((mid.get('filesearch_messages_released_total', { reason: 'malformed' }) ?? 0) >= 1, 'the malformed message was released');
    assert.equal(mid.get('filesearch_queue_capacity', { queue: 'download' }), 4);
    assert.ok(mid.get('filesearch_queue_depth', { queue: 'extract' }) !== undefined);
    assert.ok(mid.get('filesearch_messages_in_flight') !== undefined);
    assert.ok((mid.get('process_resident_memory_bytes') ?? 0) > 0, 'default metrics are there');

    // A slow document keeps the drain going long enough to look at /readyz.
    extractor.delayMs = 1_500;
    await fx.putObject('slow.txt', 'slow');
    await fx.sendS3Event('upsert', 'slow.txt');
    const t0 = Date.now();
    while (extractor.active === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    const stopping = pipeline.stop(10_000);
    const during = await fetch(`${base}/readyz`);
    assert.equal(during.status, 503, 'not ready while draining');
    assert.match(await during.text(), /draining/);
    await stopping;
    const after = await scrape();
    assert.equal(after.get('filesearch_messages_deleted_total'), 13, 'the in-flight document finished during the drain');
  } finally {
    await pipeline.stop(1_000);
    await source.close();
    await pipeline.cleanup();
    await ops.close();
    await index.close();
    await fx.stop();
    await rm(tmp, { recursive: true, force: true });
  }
});
