// Hostile and broken input through the whole worker process (issue 6): awkward keys, bodies that are
// huge, deeply nested or not JSON, empty and mislabelled files, a 2 GB object, a pixel bomb, a zip-bomb
// docx, a PDF with a million pages and one with a huge content stream. Every object ends with a status
// in the index (or, for bad messages, in the DLQ), nothing is written outside the private temp dir, and
// the process stays up. The worker is the real `src/cli.ts run`; S3 and SQS are fauxqs behind the fault
// proxy, used here only to see which objects the worker downloaded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { crc32, deflateSync } from 'node:zlib';
import { strToU8, zipSync } from 'fflate';
import { fileURLToPath } from 'node:url';
import { documentId } from '../src/ids.ts';
import { loadConfig } from '../src/config.ts';
import { pipelineOptions } from '../src/wiring.ts';
import { Pipeline } from '../src/pipeline.ts';
import { PoolExtractor } from '../src/pool/extract-pool.ts';
import { SqsJobSource } from '../src/adapters/sqs-source.ts';
import { S3BlobStore } from '../src/adapters/s3-blob-store.ts';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { noTelemetry } from '../src/telemetry/telemetry.ts';
import type { DocStatus } from '../src/types.ts';
import { s3EventNotification, startSqsS3Fixture, type SqsS3Fixture } from './helpers/fauxqs.ts';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy.ts';
import {
  entriesUnder, indexRows, killWorker, processFigures, queueEmpty, spawnWorker, tempLeftovers, OWNER_LOCK, until, type WorkerProcess,
} from './helpers/worker-process.ts';
import { hugeStreamPdf, makePdf, millionPagePdf, pdfStream } from './helpers/make-pdf.ts';

const STATUSES: readonly DocStatus[] = ['ok', 'partial', 'failed', 'unsupported', 'too_large', 'encrypted'];

// ---- crafted files --------------------------------------------------------------------------

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A PNG that declares 100 000 × 100 000 pixels (10 gigapixels) in a few hundred bytes. */
function pixelBomb(): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(100_000, 0);
  ihdr.writeUInt32BE(100_000, 4);
  ihdr.set([1, 0, 0, 0, 0], 8); // 1-bit greyscale
  const rows = Buffer.alloc(64 * (1 + 12_500)); // the first 64 rows; a decoder that starts is already lost
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(rows)), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A .docx whose document.xml inflates from ~100 KB to 96 MiB. */
function zipBombDocx(): Uint8Array {
  const body = Buffer.alloc(96 * 1024 * 1024, 'a');
  return zipSync({
    '[Content_Types].xml': strToU8('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'),
    '_rels/.rels': strToU8('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'),
    'word/document.xml': body,
  }, { level: 9 });
}





/** A small valid text PDF (for the mislabelled-extension case). */
function textPdf(text: string): Buffer {
  return makePdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents 4 0 R >>',
    pdfStream(Buffer.from(`BT /F1 24 Tf 72 700 Td (${text}) Tj ET`)),
  ]);
}

// ---- one worker run over everything ---------------------------------------------------------

const PLANES = '\u00e9\u65e5\u{1F600}\u{1D11E}\u{2000B}\u{30000}\u{E0041}\u{F0000}\u{10FFFD}';
const KEYS = {
  dotdot: '../../../../etc/escape.txt',
  dotdotMiddle: 'a/../../b/../../../c.txt',
  nul: 'nul\u0000byte.txt',
  long: `long/${'n'.repeat(1010)}.txt`,
  planes: `planes/${PLANES}.txt`,
  empty: 'empty/zero.txt',
  emptyPdf: 'empty/zero.pdf',
  pdfAsTxt: 'wrong/really-a-pdf.txt',
  textAsPdf: 'wrong/really-text.pdf',
  textAsDocx: 'wrong/really-text.docx',
  noExt: 'wrong/no-extension',
  huge: 'big/two-gigabytes.bin',
  pixelBomb: 'bombs/pixels.png',
  zipBomb: 'bombs/zip.docx',
  millionPages: 'bombs/million-pages.pdf',
  hugeStream: 'bombs/huge-stream.pdf',
} as const;

let fx: SqsS3Fixture;
let proxy: FaultProxy;
let work: string;
let tmp: string;
let dbPath: string;
let worker: WorkerProcess | undefined;
let rows: Map<string, { key: string; status: string }>;
let dlqBodies: string[] = [];
const BAD_BODIES = {
  notJson: 'hello, I am not JSON',
  deepNesting: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
  hugeGarbage: `{"Records": [${'"x",'.repeat(60_000)}"x"]}`,
};
let hugeValidBody = '';
let maxRss = 0;
let everRunning = true;

before(async () => {
  fx = await startSqsS3Fixture({ maxReceiveCount: 2, visibilityTimeout: 10 });
  proxy = await startFaultProxy(fx.endpoint);
  work = await mkdtemp(join(tmpdir(), 'fsw-hostile-'));
  tmp = join(work, 'tmp');
  await mkdir(tmp, { mode: 0o700 });
  dbPath = join(work, 'index.db');

  const text = (s: string) => s;
  await fx.putObject(KEYS.dotdot, text('escape attempt one'));
  await fx.putObject(KEYS.dotdotMiddle, text('escape attempt two'));
  await fx.putObject(KEYS.nul, text('a key with a NUL byte'));
  await fx.putObject(KEYS.long, text('a key of 1015 bytes'));
  await fx.putObject(KEYS.planes, text(`every plane ${PLANES}`));
  await fx.putObject(KEYS.empty, new Uint8Array(0));
  await fx.putObject(KEYS.emptyPdf, new Uint8Array(0));
  await fx.putObject(KEYS.pdfAsTxt, textPdf('mislabelled pdf content'));
  await fx.putObject(KEYS.textAsPdf, text('plain text in a pdf name'));
  await fx.putObject(KEYS.textAsDocx, text('plain text in a docx name'));
  await fx.putObject(KEYS.noExt, text('no extension at all'));
  await fx.putObject(KEYS.huge, text('the event says 2 GB'));
  await fx.putObject(KEYS.pixelBomb, pixelBomb());
  await fx.putObject(KEYS.zipBomb, zipBombDocx());
  await fx.putObject(KEYS.millionPages, millionPagePdf());
  await fx.putObject(KEYS.hugeStream, hugeStreamPdf());
  for (const [name, key] of Object.entries(KEYS)) {
    await fx.sendS3Event('upsert', key, name === 'huge' ? { size: 2 * 1024 ** 3 } : {});
  }
  for (const body of Object.values(BAD_BODIES)) await fx.sendRaw(body);
  // Huge but valid: as many records as fit under SQS's 256 KiB limit, for objects that do not exist.
  const records: unknown[] = [];
  for (let i = 0; JSON.stringify({ Records: records }).length < 240_000; i++) {
    records.push(JSON.parse(s3EventNotification({ eventName: 'ObjectCreated:Put', bucket: fx.bucket, key: `missing/${i}-${'m'.repeat(200)}`, etag: 'abc', size: 3, sequencer: '0A' })).Records[0]);
  }
  hugeValidBody = JSON.stringify({ Records: records });
  await fx.sendRaw(hugeValidBody);

  worker = await spawnWorker({
    fx, dbPath, tmpDir: tmp,
    env: { AWS_ENDPOINT_URL: proxy.url, POOL_SIZE: '2', MAX_OCR_PAGES: '2', DOC_TIMEOUT_MS: '10000', PAGE_TIMEOUT_MS: '5000' },
  });
  const sampler = setInterval(() => {
    const f = worker?.running ? processFigures(worker.pid) : undefined;
    if (f) maxRss = Math.max(maxRss, f.rssBytes);
    if (!worker?.running) everRunning = false;
  }, 200);
  try {
    await until('every object has a document, every bad message is in the DLQ, and the queue is empty', async () => {
      if (!worker!.running) return true;
      const ids = new Set(indexRows(dbPath).map((r) => r.id));
      const indexed = Object.values(KEYS).every((k) => ids.has(documentId(fx.bucket, k)));
      return indexed && (await fx.dlqCount()) === Object.keys(BAD_BODIES).length && (await queueEmpty(fx));
    }, 150_000, 250);
  } finally {
    clearInterval(sampler);
  }
  rows = new Map(indexRows(dbPath).map((r) => [r.key, r]));
});

after(async () => {
  await killWorker(worker);
  await proxy?.stop();
  await fx?.stop();
  await rm(work, { recursive: true, force: true });
});

function docRow(key: string): { content_type: string; text: string; error: string | null; pages: number } {
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    return db.prepare('SELECT content_type, text, error, pages FROM documents WHERE id = ?').get(documentId(fx.bucket, key)) as { content_type: string; text: string; error: string | null; pages: number };
  } finally {
    db.close();
  }
}

function statusOf(key: string): string | undefined {
  return rows.get(key)?.status;
}

test('the worker process stays up through all of it, and every object ends with a document status', async () => {
  assert.ok(everRunning && worker!.running, `the worker never exited: ${worker!.stderr.join('')}`);
  const health = await fetch(`http://127.0.0.1:${worker!.metricsPort}/healthz`);
  assert.equal(health.status, 200, 'and it is still healthy');
  const outcome: Record<string, string> = {};
  for (const [name, key] of Object.entries(KEYS)) {
    const status = statusOf(key);
    outcome[name] = status ?? 'MISSING';
    assert.ok(status && STATUSES.includes(status as DocStatus), `${name}: a document with a status, got ${status}`);
  }
  console.log(`# hostile-input: statuses ${JSON.stringify(outcome)}; worker max RSS ${(maxRss / 1024 / 1024).toFixed(0)} MiB`);
  const m = await worker!.metrics();
  const docs = m.series('filesearch_documents_total').reduce((n, s) => n + s.value, 0);
  assert.ok(docs >= Object.keys(KEYS).length, `documents are counted by status in /metrics: ${docs}`);
});

test('keys with ../, NUL, 1015 bytes and characters from every Unicode plane are kept exactly, and no file escapes the temp dir', async () => {
  for (const name of ['dotdot', 'dotdotMiddle', 'nul', 'long', 'planes'] as const) {
    const key = KEYS[name];
    const row = rows.get(key);
    assert.ok(row, `${name} indexed under its exact key`);
    assert.equal(row.status, 'ok', `${name} extracted`);
    assert.equal(row.key, key);
  }
  // The worker's whole view of the disk: its database, and its temp dir now empty.
  const outside = entriesUnder(work).filter((e) => !e.startsWith('tmp/') && !/^index\.db(-wal|-shm)?$/.test(e) && e !== 'tmp/');
  assert.deepEqual(outside, [], 'nothing was written next to the temp dir');
  // The running worker's own dir and its lock file (src/flow/temp-dir.ts) are expected.
  const inside = tempLeftovers(tmp).filter((e) => !e.endsWith('/') && !OWNER_LOCK.test(e));
  assert.deepEqual(inside, [], 'no downloaded file is left in the temp dir');
});

test('a 2 GB object (by its event) is indexed as too_large without being downloaded', () => {
  assert.equal(statusOf(KEYS.huge), 'too_large');
  const gets = proxy.records.filter((r) => r.op.name === 'GetObject' && r.key === KEYS.huge);
  assert.deepEqual(gets, [], 'no GetObject for it');
});

test('empty and mislabelled files get a status; a PDF named .txt is read as a PDF', async () => {
  for (const name of ['empty', 'emptyPdf', 'textAsPdf', 'textAsDocx', 'noExt', 'pdfAsTxt'] as const) {
    assert.ok(statusOf(KEYS[name]), `${name} has a status`);
  }
  const row = docRow(KEYS.pdfAsTxt);
  assert.equal(row.content_type, 'application/pdf', 'the bytes decide the type, not the extension');
  assert.match(row.text, /mislabelled pdf content/);
});

test('a pixel bomb and a zip-bomb docx are refused with a reason, not decoded', () => {
  for (const name of ['pixelBomb', 'zipBomb'] as const) {
    const status = statusOf(KEYS[name]);
    assert.ok(status && status !== 'ok', `${name} is not reported as a normal document: ${status}`);
  }
  for (const name of ['pixelBomb', 'zipBomb'] as const) {
    const row = docRow(KEYS[name]);
    assert.ok(row.error && row.error.length > 0, `${name} says why: ${row.error}`);
    assert.ok(row.text.length < 1_000_000, `${name}: the bomb's content was not indexed`);
  }
});

test('a PDF with a million pages and one with a 64 MiB content stream each finish within their deadline with a status', () => {
  assert.ok(statusOf(KEYS.millionPages), 'million pages: has a status');
  assert.ok(statusOf(KEYS.hugeStream), 'huge stream: has a status');
  for (const name of ['millionPages', 'hugeStream'] as const) {
    const r = docRow(KEYS[name]);
    console.log(`# hostile-input: ${name}: status ${statusOf(KEYS[name])}, ${r.pages} pages, ${r.text.length} chars, error ${JSON.stringify(r.error)}`);
  }
});

test('bodies that are not JSON, nested 100 000 deep or huge go to the DLQ unchanged; a huge valid body is processed', async () => {
  dlqBodies = (await fx.receiveAllFromDlq()).map((m) => m.body);
  assert.equal(dlqBodies.length, Object.keys(BAD_BODIES).length);
  for (const [name, body] of Object.entries(BAD_BODIES)) assert.ok(dlqBodies.includes(body), `${name} is in the DLQ, byte for byte`);
  assert.ok(!dlqBodies.includes(hugeValidBody), 'the huge valid message (hundreds of missing objects) was finished, not dead-lettered');
  const malformed = worker!.logged('malformed SQS message');
  assert.ok(malformed.length >= Object.keys(BAD_BODIES).length, 'each bad body is logged');
  assert.ok(malformed.every((l) => JSON.stringify(l).length < 4_000), 'without copying a huge body into the log');
  const m = await worker!.metrics();
  assert.ok((m.get('filesearch_messages_released_total', { reason: 'malformed' }) ?? 0) >= Object.keys(BAD_BODIES).length, 'and counted');
});

// One pathological file costs at most one pool thread, through the whole pipeline (the pool on its own
// is covered by the extraction tests): a hung page and a thread that runs out of memory each fail their
// own document; piscina replaces the thread; every other document is indexed; nothing goes to the DLQ.
test('a hung page and an out-of-memory thread fail only their own documents; the pool replaces the threads and the rest finish', async () => {
  const fx2 = await startSqsS3Fixture({ maxReceiveCount: 3, visibilityTimeout: 30 });
  const dir = await mkdtemp(join(tmpdir(), 'fsw-isolation-'));
  const config = loadConfig({ ...fx2.env, QUEUE_WAIT_SECONDS: '1', TMPDIR: dir, POOL_SIZE: '2', DOC_TIMEOUT_MS: '8000' });
  const extractor = new PoolExtractor({
    threads: 2, ocrLangs: 'eng', recycleAfterPages: 200, maxWorkerMemoryMb: 128, deadlineGraceMs: 500, warmUp: false,
    workerFile: fileURLToPath(new URL('./helpers/misbehaving-extract-worker.ts', import.meta.url)),
  });
  const index = new SqliteIndex(':memory:');
  await index.init();
  const source = new SqsJobSource({ client: fx2.sqs, queueUrl: fx2.queueUrl, waitTimeSeconds: 1, visibilityTimeoutSeconds: 30, heartbeatSeconds: 10 });
  const pipeline = new Pipeline(
    { source, blobs: new S3BlobStore({ client: fx2.s3 }), extractor, index, telemetry: noTelemetry, logger: silentLogger },
    pipelineOptions(config, { wantThumbnails: false, retryBaseSeconds: 0, retryMaxSeconds: 0 }),
  );
  const normal = Array.from({ length: 16 }, (_, i) => `normal-${i}.txt`);
  try {
    for (const key of ['hang-page.txt', 'oom-parser.txt', ...normal]) {
      await fx2.putObject(key, `contents of ${key}`);
      await fx2.sendS3Event('upsert', key);
    }
    await pipeline.start();
    await until('every document has a status and the queue is empty', async () => (await index.count()) === normal.length + 2 && (await queueEmpty(fx2)), 60_000);
    assert.equal(extractor.stats().threads, 2, 'the pool is back to full strength');
  } finally {
    await pipeline.stop(5_000);
    await source.close();
    await extractor.close();
    await pipeline.cleanup();
    await fx2.stop();
    await rm(dir, { recursive: true, force: true });
  }
  for (const key of normal) assert.equal((await index.get(documentId(fx2.bucket, key)))?.status, 'ok', `${key} indexed normally`);
  const hung = await index.get(documentId(fx2.bucket, 'hang-page.txt'));
  assert.equal(hung?.status, 'failed');
  assert.match(hung?.error ?? '', /deadline/, 'the hung document says it ran out of time');
  const oom = await index.get(documentId(fx2.bucket, 'oom-parser.txt'));
  assert.equal(oom?.status, 'failed');
  assert.match(oom?.error ?? '', /crashed|memory/i, 'the out-of-memory document says its thread died');
  await index.close();
});
