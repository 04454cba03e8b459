// An `ok` document with no text is a warning and a counter, unless it is an image or a scan (OCR ran
// and found no words), which may honestly be empty. The documents are still indexed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Pipeline, type PipelineOptions } from '../src/pipeline.ts';
import { loadConfig } from '../src/config.ts';
import { pipelineOptions } from '../src/wiring.ts';
import { DirectorySource } from '../src/adapters/directory-source.ts';
import { FileBlobStore } from '../src/adapters/file-blob-store.ts';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { createLogger } from '../src/telemetry/log.ts';
import { noTelemetry, type Telemetry } from '../src/telemetry/telemetry.ts';
import type { ExtractRequest, ExtractResult } from '../src/types.ts';
import { unexpectedlyEmpty } from '../src/stages/document.ts';
import { TextExtractor } from './helpers/fakes.ts';

/** Text files as text; `.png` as an image with no words, `scan.pdf` as a scan OCR found empty, `blank.pdf` as a PDF with no text layer. */
class FormatExtractor extends TextExtractor {
  override async extract(req: ExtractRequest): Promise<ExtractResult> {
    const r = await super.extract(req);
    if (req.name.endsWith('.png')) return { ...r, contentType: 'image/png', text: '' };
    if (req.name === 'scan.pdf') return { ...r, contentType: 'application/pdf', text: '', ocrPages: 1 };
    if (req.name === 'blank.pdf') return { ...r, contentType: 'application/pdf', text: '' };
    return r;
  }
}

test('unexpectedlyEmpty: only images and scans may be ok and empty', () => {
  const base: ExtractResult = { contentType: 'application/pdf', text: '', truncated: false, pages: 1, ocrPages: 0, status: 'ok' };
  assert.equal(unexpectedlyEmpty(base), true);
  assert.equal(unexpectedlyEmpty({ ...base, text: ' \n ' }), true, 'whitespace is no text');
  assert.equal(unexpectedlyEmpty({ ...base, ocrPages: 2 }), false);
  assert.equal(unexpectedlyEmpty({ ...base, contentType: 'image/jpeg' }), false);
  assert.equal(unexpectedlyEmpty({ ...base, status: 'failed' }), false, 'a failure already says why');
  assert.equal(unexpectedlyEmpty({ ...base, text: 'x' }), false);
});

test('through the pipeline: a warning naming the file and one count per empty document; all are indexed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'empty-docs-'));
  try {
    const docs = join(dir, 'docs');
    await import('node:fs/promises').then((fs) => fs.mkdir(docs));
    await writeFile(join(docs, 'words.txt'), 'some words');
    await writeFile(join(docs, 'empty.txt'), '');
    await writeFile(join(docs, 'photo.png'), 'x');
    await writeFile(join(docs, 'scan.pdf'), 'x');
    await writeFile(join(docs, 'blank.pdf'), 'x');
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({ write(chunk, _enc, cb) { for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l)); cb(); } });
    let counted = 0;
    const telemetry: Telemetry = { ...noTelemetry, documentWithoutText: () => void counted++ };
    const index = new SqliteIndex(':memory:');
    await index.init();
    const options: PipelineOptions = pipelineOptions(loadConfig({}), {
      receiveBatch: 10, pollers: 1, queueCapacity: 4, downloadConcurrency: 2, downloadBytesBudget: 1 << 26, unknownSizeReserve: 1024,
      extractConcurrency: 2, extractBytesBudget: 1 << 26, indexBatchSize: 5, indexBatchBytes: 1 << 20, indexFlushMs: 10, indexConcurrency: 1,
      deleteFlushMs: 10, deleteRetries: 1, limits: { maxBytes: 1 << 20, maxOcrPages: 1, maxChars: 1000, docTimeoutMs: 5000, pageTimeoutMs: 5000, maxPixels: 1e6 },
      ocrLangs: 'eng', tmpDir: dir, retryBaseSeconds: 1, retryMaxSeconds: 10, shutdownTimeoutMs: 5000, wantThumbnails: false,
    });
    const p = new Pipeline({ source: new DirectorySource({ paths: [docs] }), blobs: new FileBlobStore(), extractor: new FormatExtractor(), index, telemetry, logger: createLogger('warn', sink) }, options);
    await p.start();
    await p.drainFinite();
    await p.cleanup();
    const warned = lines.filter((l) => l.msg === 'document extracted ok but has no text').map((l) => String(l.key).split('/').pop()).sort();
    assert.deepEqual(warned, ['blank.pdf', 'empty.txt']);
    assert.equal(counted, 2);
    assert.equal(await index.count(), 5, 'empty documents are still indexed');
    await index.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
