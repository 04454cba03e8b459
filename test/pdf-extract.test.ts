import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { extractPdf } from '../src/workers/extract/pdf.ts';
import type { OcrRunner } from '../src/workers/ocr/engine.ts';
import { prepareForOcr } from '../src/workers/ocr/prepare.ts';
import { chooseOcrEngine, createOcrEngine } from '../src/workers/ocr/choice.ts';
import type { OcrEngine } from '../src/workers/ocr/engine.ts';
import { readPage } from '../src/workers/ocr/page.ts';
import { Deadline } from '../src/workers/extract/result.ts';
import type { ExtractLimits } from '../src/types.ts';
import { scannedPdf } from './helpers/scan-pdf.ts';

const corpus = new URL('../../shared/corpus/', import.meta.url).pathname;
const pdfjs = path.join(corpus, 'pdfjs');
const skip = existsSync(pdfjs) ? false : 'shared corpus absent (../shared/corpus/pdfjs)';

const limits: ExtractLimits = { maxOcrPages: 10, maxChars: 1_000_000, docTimeoutMs: 60_000, pageTimeoutMs: 60_000, maxPixels: 100_000_000 };

/** An OCR runner that must never be called: proves born-digital pages are not OCR'd. */
const noOcr: OcrRunner = {
  prepare: async () => assert.fail('OCR must not run on a born-digital page'),
  read: async () => assert.fail('OCR must not run on a born-digital page'),
};

function run(file: string, l: Partial<ExtractLimits> = {}, ocr: OcrRunner = noOcr, wantThumbnail = false) {
  const lim = { ...limits, ...l };
  return extractPdf(file, { limits: lim, deadline: new Deadline(lim.docTimeoutMs), ocr, wantThumbnail });
}

describe('PDF extraction', { skip }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pdf-test-'));
  let engine: OcrEngine | undefined;
  after(async () => {
    await engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a born-digital PDF gives its text layer and no OCR pages', async () => {
    const r = await run(path.join(pdfjs, 'issue19971.pdf'), {}, noOcr, true);
    assert.equal(r.status, 'ok', r.error);
    assert.equal(r.pages, 6);
    assert.equal(r.ocrPages, 0);
    assert.match(r.text, /QA Test Master Document/);
    assert.ok(r.thumbnail, 'first page thumbnail rendered');
    const meta = await sharp(r.thumbnail).metadata();
    assert.equal(meta.format, 'webp');
    assert.ok(Math.abs(meta.width - 400) <= 2, `thumbnail width ${meta.width}`);
  });

  test('Japanese text through CMaps comes out, without spaces between characters', async () => {
    const r = await run(path.join(pdfjs, 'issue6387.pdf'));
    assert.equal(r.status, 'ok', r.error);
    assert.match(r.text, /イーハトーヴォのすきとおった風/);
    const r2 = await run(path.join(pdfjs, 'issue8570.pdf'));
    assert.match(r2.text, /3Dレーザーレーダー/);
    assert.doesNotMatch(r2.text, /[\u3040-\u30ff\u4e00-\u9fff] [\u3040-\u30ff\u4e00-\u9fff]/);
  });

  test('a password-protected PDF is encrypted, with a plain reason', async () => {
    const r = await run(path.join(pdfjs, 'issue3371.pdf'));
    assert.equal(r.status, 'encrypted');
    assert.equal(r.error, 'PDF is encrypted with a password');
  });

  test('a broken PDF fails with an error instead of throwing', async () => {
    const p = path.join(dir, 'broken.pdf');
    writeFileSync(p, '%PDF-1.4\nthis is not really a pdf\n%%EOF\n');
    const r = await run(p);
    assert.equal(r.status, 'failed');
    assert.match(r.error ?? '', /PDF/);
    const empty = path.join(dir, 'empty.pdf');
    writeFileSync(empty, '');
    const r2 = await run(empty);
    assert.equal(r2.status, 'failed');
    assert.ok(r2.error);
  });

  test('text beyond maxChars is cut and marked', async () => {
    const r = await run(path.join(pdfjs, 'issue19971.pdf'), { maxChars: 100 });
    assert.equal(r.text.length, 100);
    assert.equal(r.truncated, true);
    assert.equal(r.status, 'partial');
    assert.match(r.error ?? '', /100 characters/);
  });

  test('a passed document deadline stops reading pages with status partial', async () => {
    const r = await extractPdf(path.join(pdfjs, 'issue19971.pdf'), { limits, deadline: new Deadline(60_000, Date.now() - 61_000), ocr: noOcr, wantThumbnail: false });
    assert.ok(r.status === 'failed' || r.status === 'partial', r.status);
    assert.match(r.error ?? '', /deadline/);
  });

  test('a scanned PDF page is OCR\'d from its embedded image; the OCR limit makes it partial', { skip: existsSync(path.join(corpus, 'ocr')) ? false : 'corpus/ocr absent' }, async () => {
    const p = path.join(dir, 'scan.pdf');
    writeFileSync(p, await scannedPdf(path.join(corpus, 'ocr', 'phototest.tif')));
    engine = createOcrEngine({ ...chooseOcrEngine('auto', 'fast', 'eng'), recycleAfterPages: 100, maxHeapMb: 300 });
    const seen: number[] = [];
    const ocr: OcrRunner = {
      prepare: (src) => {
        if (src.kind === 'raw') seen.push(src.width);
        return prepareForOcr(src, limits.maxPixels);
      },
      read: (img, ms) => readPage(engine!, img, { langs: 'eng', timeoutMs: ms }),
    };
    const r = await run(p, {}, ocr, true);
    assert.equal(r.status, 'ok', r.error);
    assert.equal(r.ocrPages, 1);
    assert.match(r.text, /quick brown dog/);
    assert.deepEqual(seen, [640], 'the embedded 640 px scan is read at native size, not re-rendered');
    assert.ok(r.thumbnail);

    const limited = await run(p, { maxOcrPages: 0 }, ocr);
    assert.equal(limited.status, 'partial');
    assert.equal(limited.ocrPages, 0);
    assert.match(limited.error ?? '', /OCR limit of 0 pages/);
  });
});
