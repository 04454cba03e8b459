// pdf.js is told what it may allocate before it allocates it: an image is measured with its soft mask
// or mask (a 2 x 2 image with a 151-megapixel 1-bit mask), a page's decoded images share one byte
// budget, and render canvases (nested transparency groups with soft masks) share another. What is
// left out is said in the document's error; the thread survives and its memory stays small.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { extractPdf } from '../src/workers/extract/pdf.ts';
import type { OcrRunner } from '../src/workers/ocr/engine.ts';
import { budgetedCanvasFactory, CanvasBudgetError, onPathsOverBudget, patchWorkerSource } from '../src/workers/extract/pdfjs-limits.ts';
import { Deadline } from '../src/workers/extract/result.ts';
import { MemoryGauge, useMemoryGauge } from '../src/workers/memory-gauge.ts';
import type { ExtractLimits } from '../src/types.ts';
import { DEFAULTS } from '../src/config.ts';
import { makePdf, nestedSoftMaskPdf, pdfStream, softMaskBombPdf } from './helpers/make-pdf.ts';

const MiB = 1024 * 1024;
const limits: ExtractLimits = { maxOcrPages: 5, maxChars: 100_000, docTimeoutMs: 60_000, pageTimeoutMs: 30_000, maxPixels: DEFAULTS.MAX_PIXELS, maxPageImageBytes: DEFAULTS.MAX_PAGE_IMAGE_BYTES };
/** OCR is not what these tests look at: pages reach it (so they are decoded and rendered) and read as empty. */
const ocr: OcrRunner = {
  prepare: async (src) => ({ data: Buffer.alloc(1), width: 1, height: 1, dpi: 'dpi' in src ? src.dpi : 300 }),
  read: async () => ({ text: '', confidence: 0, rotation: 0 }),
};
const dir = mkdtempSync(path.join(tmpdir(), 'pdf-caps-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, pdf: Buffer): string {
  const file = path.join(dir, name);
  writeFileSync(file, pdf);
  return file;
}

/** Runs one extraction and reports the growth of this process's peak RSS (VmHWM is not resettable: sampled). */
async function measured<T>(run: () => Promise<T>): Promise<{ result: T; grewMb: number }> {
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  try {
    const result = await run();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, grewMb: (peak - start) / MiB };
  } finally {
    clearInterval(timer);
  }
}

test('a 2 x 2 image with a 151-megapixel 1-bit soft mask is left out before it is decoded', async () => {
  const file = write('smask.pdf', softMaskBombPdf());
  const { result, grewMb } = await measured(() => extractPdf(file, { limits, deadline: new Deadline(60_000), ocr, wantThumbnail: true }));
  assert.equal(result.status, 'partial');
  assert.match(result.error ?? '', /page 1: an image of 34862x4332 pixels \(with its mask\) was left out, over the limit of 100000000 pixels/);
  // Decoded at the mask's size it would be 600 MB of RGBA (2.1 GB peak measured before this cap).
  assert.ok(grewMb < 150, `RSS grew by ${grewMb.toFixed(0)} MB`);
});

test('a smaller soft mask under the limit is still decoded and painted', async () => {
  const file = write('smask-small.pdf', softMaskBombPdf({ width: 400, height: 300 }));
  const result = await extractPdf(file, { limits, deadline: new Deadline(60_000), ocr, wantThumbnail: true });
  assert.doesNotMatch(result.error ?? '', /left out/);
  assert.ok(result.thumbnail && result.thumbnail.length > 0, 'the page was rendered');
});

test("a page's decoded images share MAX_PAGE_IMAGE_BYTES: the image past it is left out and named", async () => {
  // Three 1000 x 1000 grey images: 4 MB each as RGBA; the page may hold 10 MB.
  const img = pdfStream(deflateSync(Buffer.alloc(1000 * 1000, 200)), '/Type /XObject /Subtype /Image /Width 1000 /Height 1000 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode');
  const file = write('three-images.pdf', makePdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /A 5 0 R /B 6 0 R /C 7 0 R >> >> /Contents 4 0 R >>',
    pdfStream(Buffer.from('q 200 0 0 200 0 0 cm /A Do Q q 200 0 0 200 200 0 cm /B Do Q q 200 0 0 200 400 0 cm /C Do Q')),
    img, img, img,
  ]));
  const result = await extractPdf(file, { limits: { ...limits, maxPageImageBytes: 10 * MiB }, deadline: new Deadline(60_000), ocr, wantThumbnail: false });
  assert.match(result.error ?? '', /page 1: an image of 1000x1000 pixels was left out, the page's decoded images would pass 10 MB \(MAX_PAGE_IMAGE_BYTES\)/);
  const once = await extractPdf(file, { limits: { ...limits, maxPageImageBytes: 20 * MiB }, deadline: new Deadline(60_000), ocr, wantThumbnail: false });
  assert.doesNotMatch(once.error ?? '', /left out/, 'under a larger budget all three are decoded');
});

/** `pages` text-less pages, each painting its own `side` x `side` grey image over the whole page (a scan). */
function scannedPages(pages: number, side: number): Buffer {
  const kids = Array.from({ length: pages }, (_, i) => `${3 + i * 3} 0 R`).join(' ');
  const bodies: Array<string | Buffer> = ['<< /Type /Catalog /Pages 2 0 R >>', `<< /Type /Pages /Kids [${kids}] /Count ${pages} >>`];
  const pixels = deflateSync(Buffer.alloc(side * side, 200));
  for (let i = 0; i < pages; i++) {
    const o = 3 + i * 3;
    bodies.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 612] /Resources << /XObject << /Im0 ${o + 2} 0 R >> >> /Contents ${o + 1} 0 R >>`);
    bodies.push(pdfStream(Buffer.from('q 612 0 0 612 0 0 cm /Im0 Do Q')));
    bodies.push(pdfStream(pixels, `/Type /XObject /Subtype /Image /Width ${side} /Height ${side} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode`));
  }
  return makePdf(bodies);
}

test('scanned pages past the OCR limit are counted without decoding their images', async () => {
  // 3000 x 3000 is 36 MB as RGBA, over a 20 MB page budget: any decode attempt is reported as "left out".
  const file = write('scans-past-limit.pdf', scannedPages(4, 3000));
  const result = await extractPdf(file, { limits: { ...limits, maxOcrPages: 1, maxPageImageBytes: 20 * MiB }, deadline: new Deadline(60_000), ocr, wantThumbnail: false });
  assert.match(result.error ?? '', /OCR limit of 1 pages reached: 3 scanned pages not read/);
  assert.match(result.error ?? '', /page 1: an image of 3000x3000 pixels was left out/, 'the page read for OCR is decoded (and its image over the budget)');
  assert.doesNotMatch(result.error ?? '', /page [234]: an image/, 'pages 2-4 were only looked at, not decoded');
});

test('a page looked at for images first is then OCR\'d from its embedded image at native size', async () => {
  const file = write('scan-probed.pdf', scannedPages(2, 1200));
  const seen: Array<{ width: number }> = [];
  const spy: OcrRunner = { ...ocr, prepare: async (src) => (seen.push(src as { width: number }), ocr.prepare(src)) };
  const result = await extractPdf(file, { limits: { ...limits, maxOcrPages: 1 }, deadline: new Deadline(60_000), ocr: spy, wantThumbnail: true });
  assert.deepEqual(seen.map((s) => s.width), [1200], 'the real operator list (with the decoded image) was built after the probe');
  assert.ok(result.thumbnail && result.thumbnail.length > 0);
  assert.match(result.error ?? '', /OCR limit of 1 pages reached: 1 scanned pages not read/);
});

test('near the memory ceiling a big image is left out before it is decoded, and says "memory"', async () => {
  const file = write('one-big-image.pdf', scannedPages(1, 3000));
  // The governor's ceiling under what the process holds now: a 36 MB image does not fit.
  const gauge = new MemoryGauge(MemoryGauge.buffer());
  gauge.publish(MiB, 0);
  useMemoryGauge(gauge);
  try {
    const tight = await extractPdf(file, { limits: { ...limits, maxOcrPages: 1 }, deadline: new Deadline(60_000), ocr, wantThumbnail: false });
    assert.match(tight.error ?? '', /page 1: memory: an image of 3000x3000 pixels was left out, decoding it would take the process past its memory budget \(MEMORY_LIMIT_MB\)/);
    gauge.publish(process.memoryUsage.rss() + 400 * MiB, 0);
    const roomy = await extractPdf(file, { limits: { ...limits, maxOcrPages: 1 }, deadline: new Deadline(60_000), ocr, wantThumbnail: false });
    assert.doesNotMatch(roomy.error ?? '', /memory/, 'with room the same image is decoded');
  } finally {
    useMemoryGauge(undefined);
  }
});

test("a page of many vector paths stops rendering when the process has no room for more, and renders with room", async () => {
  // 6 000 stroked paths: what a map or a CAD drawing is made of (each becomes a canvas Path2D).
  const paths = Array.from({ length: 6000 }, (_, i) => `${i % 600} ${(i * 7) % 790} m ${(i * 13) % 600} ${(i * 3) % 790} l S`).join('\n');
  const file = write('many-paths.pdf', makePdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>',
    pdfStream(Buffer.from(paths)),
  ]));
  const gauge = new MemoryGauge(MemoryGauge.buffer());
  useMemoryGauge(gauge);
  try {
    gauge.publish(process.memoryUsage.rss() + 400 * MiB, 0);
    const roomy = await extractPdf(file, { limits, deadline: new Deadline(60_000), ocr, wantThumbnail: true });
    assert.ok(roomy.thumbnail && roomy.thumbnail.length > 0, 'with room the page is rendered');
    gauge.publish(MiB, 0);
    const tight = await extractPdf(file, { limits, deadline: new Deadline(60_000), ocr, wantThumbnail: true });
    assert.equal(tight.thumbnail, undefined, 'without room the render stops (a thumbnail is an extra: not made)');
    assert.equal(tight.status, 'ok', 'the text layer is read as before');
  } finally {
    useMemoryGauge(undefined);
  }
  // The paths pdf.js makes are the budgeted ones: the 1000th without room stops the render watching them.
  const P = (globalThis as unknown as { Path2D: new () => object }).Path2D;
  useMemoryGauge(gauge);
  let stops = 0;
  const unwatch = onPathsOverBudget(() => stops++);
  try {
    for (let i = 0; i < 1000; i++) new P();
    assert.equal(stops, 1);
  } finally {
    unwatch();
    useMemoryGauge(undefined);
  }
});

test('nested transparency groups with soft masks: the render stops at the canvas budget, the thread lives on', async () => {
  const file = write('nested.pdf', nestedSoftMaskPdf(40));
  const { result, grewMb } = await measured(() => extractPdf(file, { limits, deadline: new Deadline(60_000), ocr, wantThumbnail: true }));
  assert.match(result.error ?? '', /page 1: rendering needs more than 96 MB of canvases \(MAX_PAGE_IMAGE_BYTES\)/);
  assert.equal(result.status, 'partial', 'the page still counts (its text layer, its notes): only its scan is not read');
  assert.ok(grewMb < 250, `RSS grew by ${grewMb.toFixed(0)} MB (2.1 GB before the canvas budget)`);
  // A shallow nesting renders.
  const shallow = await extractPdf(write('nested-2.pdf', nestedSoftMaskPdf(2)), { limits, deadline: new Deadline(60_000), ocr, wantThumbnail: true });
  assert.doesNotMatch(shallow.error ?? '', /rendering needs/);
});

test('the canvas factory refuses past its budget, then hands out 1 x 1 canvases while pdf.js unwinds', () => {
  const Factory = budgetedCanvasFactory(10 * MiB);
  const f = new Factory();
  const a = f.create(1000, 1000);
  assert.equal(f.live, 4_000_000);
  assert.throws(() => f.create(2000, 1000), CanvasBudgetError);
  const tiny = f.create(2000, 2000);
  assert.equal((tiny.canvas as { width: number }).width, 1, 'after a refusal, while canvases are live: 1 x 1');
  f.destroy(tiny);
  f.destroy(a);
  assert.equal(f.live, 0);
  const b = f.create(2000, 1000);
  assert.equal((b.canvas as { width: number }).width, 2000, 'once all are gone the next render starts afresh');
  f.reset(b, 500, 500);
  assert.equal(f.live, 1_000_000);
});

test('the canvas factory refuses a big canvas the process has no room for, small ones still come', () => {
  let room = 40 * MiB;
  const Factory = budgetedCanvasFactory(96 * MiB, () => room);
  const f = new Factory();
  // 3000 x 2000 is 24 MB: it would take about three times that while drawn.
  assert.throws(() => f.create(3000, 2000), (e: unknown) => e instanceof CanvasBudgetError && /^memory: a canvas of 23 MB would take the process past its memory budget/.test(e.message));
  assert.equal(f.live, 0);
  room = 0;
  const small = f.create(400, 500);
  assert.equal((small.canvas as { width: number }).width, 400, 'under 1 MB a canvas is not weighed');
  f.destroy(small);
  room = 100 * MiB;
  f.destroy(f.create(3000, 2000));
});

test('the pdf.js patch refuses a pdf.js it was not written for', () => {
  assert.throws(() => patchWorkerSource('export const nothing = 1;'), /does not have the image size check this patch extends/);
});
