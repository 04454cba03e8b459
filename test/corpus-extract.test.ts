// Every file of ../shared/corpus/pdfjs (483 PDFs from pdf.js's regression suite: broken xref tables,
// odd encodings, encrypted and malformed files) and ../shared/corpus/tika (office and web documents)
// through the real extract pool: each gets an honest status, none crashes the process, none hangs
// past its deadline. OCR is limited to keep CI short; the OCR path has its own tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PoolExtractor } from '../src/pool/extract-pool.ts';
import type { DocStatus, ExtractLimits, ExtractResult } from '../src/types.ts';

const corpus = new URL('../../shared/corpus/', import.meta.url).pathname;
const DOC_TIMEOUT_MS = 20_000;
const GRACE_MS = 5_000;
const limits: ExtractLimits = { maxOcrPages: 0, maxChars: 200_000, docTimeoutMs: DOC_TIMEOUT_MS, pageTimeoutMs: 10_000, maxPixels: 50_000_000 };
const STATUSES = new Set<DocStatus>(['ok', 'partial', 'failed', 'unsupported', 'too_large', 'encrypted']);

function files(dir: string): string[] {
  return readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile()).sort().map((f) => join(dir, f));
}

async function sweep(paths: string[], wantThumbnail: boolean) {
  const pool = new PoolExtractor({ threads: 2, ocrLangs: 'eng', recycleAfterPages: 200, maxWorkerMemoryMb: 300, deadlineGraceMs: GRACE_MS, warmUp: false });
  const results = new Map<string, ExtractResult & { ms: number }>();
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const path = paths[next++]!;
      const t0 = Date.now();
      const r = await pool.extract({ path, name: path.slice(path.lastIndexOf('/') + 1), size: statSync(path).size, limits, ocrLangs: 'eng', wantThumbnail });
      results.set(path, { ...r, ms: Date.now() - t0 });
    }
  };
  try {
    await Promise.all([worker(), worker(), worker()]);
  } finally {
    await pool.close();
  }
  return results;
}

function check(results: Map<string, ExtractResult & { ms: number }>, paths: string[]) {
  const byStatus: Record<string, number> = {};
  for (const path of paths) {
    const r = results.get(path);
    assert.ok(r, `${path} has a result`);
    assert.ok(STATUSES.has(r.status), `${path}: status ${r.status}`);
    if (r.status !== 'ok') assert.ok(r.error && r.error.length > 3, `${path}: a ${r.status} result says why`);
    assert.ok(r.ms <= DOC_TIMEOUT_MS + GRACE_MS + 5_000, `${path} did not hang past its deadline (${r.ms} ms)`);
    assert.equal(typeof r.text, 'string');
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  }
  return byStatus;
}

test('every PDF of the pdf.js regression corpus gets a status; none crashes the process or hangs', { skip: existsSync(join(corpus, 'pdfjs')) ? false : '../shared/corpus/pdfjs is absent' }, async (t) => {
  const paths = files(join(corpus, 'pdfjs'));
  const t0 = Date.now();
  const results = await sweep(paths, false);
  const byStatus = check(results, paths);
  const slowest = [...results.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 3).map(([p, r]) => `${p.slice(p.lastIndexOf('/') + 1)} ${r.ms} ms`);
  t.diagnostic(`${paths.length} PDFs in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(byStatus)}; slowest: ${slowest.join(', ')}`);
  assert.ok((byStatus.ok ?? 0) + (byStatus.partial ?? 0) > paths.length * 0.7, 'most of the corpus is readable');
  // Known texts come out of well-formed files.
  assert.match(results.get(join(corpus, 'pdfjs', 'tracemonkey.pdf'))!.text, /Trace-based Just-in-Time/);
  assert.equal(results.get(join(corpus, 'pdfjs', 'tracemonkey.pdf'))!.pages, 14);
});

test('every office and web document of the Tika corpus gets a status, with thumbnails for images and PDFs', { skip: existsSync(join(corpus, 'tika')) ? false : '../shared/corpus/tika is absent' }, async (t) => {
  const paths = files(join(corpus, 'tika'));
  const t0 = Date.now();
  const results = await sweep(paths, true);
  const byStatus = check(results, paths);
  t.diagnostic(`${paths.length} files in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(byStatus)}`);
  const docx = results.get(join(corpus, 'tika', 'testWORD_various.docx'))!;
  assert.equal(docx.status, 'ok');
  assert.ok(docx.text.length > 100);
  const png = results.get(join(corpus, 'tika', 'testOCR.png'))!;
  assert.ok(png.thumbnail && png.thumbnail.length > 100, 'an image gets a thumbnail');
  assert.equal(png.status, 'partial', 'with maxOcrPages 0 an image is partial, and says so');
});
