// Preprocessing never loses text: each everyday image that once came back empty (or `ok` with no text)
// is made here and read through the image/PDF extractors on both OCR engines (the native one skips,
// naming the Debian packages, where tesseract is absent; never under CI=true).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import extract from '../src/workers/extract-worker.ts';
import { extractImage } from '../src/workers/extract/image.ts';
import { extractPdf } from '../src/workers/extract/pdf.ts';
import { Deadline } from '../src/workers/extract/result.ts';
import type { OcrRunner } from '../src/workers/ocr/engine.ts';
import { readPage } from '../src/workers/ocr/page.ts';
import { prepareForOcr } from '../src/workers/ocr/prepare.ts';
import type { ExtractLimits, ExtractResult } from '../src/types.ts';
import { enginesUnderTest } from './helpers/ocr-engines.ts';
import { exifTurnedJpeg, jpegWithDotsPerCm, netpbm, sharpOf, skewedPng, textImage, transparentPng, TRAP_WORDS } from './helpers/ocr-traps.ts';
import { scannedPdf } from './helpers/scan-pdf.ts';

const limits: ExtractLimits = { maxOcrPages: 10, maxChars: 1_000_000, docTimeoutMs: 120_000, pageTimeoutMs: 60_000, maxPixels: 100_000_000 };

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ocr-traps-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, bytes: Buffer): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

function assertReads(res: ExtractResult, what: string): void {
  const text = JSON.stringify(res.text.slice(0, 200));
  assert.equal(res.status, 'ok', `${what}: status ${res.status} (${res.error ?? ''}), text ${text}`);
  const missing = TRAP_WORDS.filter((w) => !res.text.includes(w));
  assert.deepEqual(missing, [], `${what}: missing ${missing.join(', ')} in ${text}`);
}

test('a page that already spans black to white skips the contrast stretch; a grey scan is stretched as sharp\'s normalise does', async () => {
  const { stretchContrast } = await import('../src/workers/ocr/preprocess.ts');
  const width = 200;
  const height = 100;
  const crisp = Buffer.alloc(width * height, 255);
  for (let i = 0; i < crisp.length; i += 7) crisp[i] = 0;
  const page = { data: crisp, width, height };
  assert.equal(await stretchContrast(page), page, 'passed on as it is');
  // A scan: grey paper (200-230), grey ink (60-90), no pure black or white.
  const grey = Buffer.alloc(width * height);
  for (let i = 0; i < grey.length; i++) grey[i] = i % 7 === 0 ? 60 + (i % 31) : 200 + (i % 31);
  const out = await stretchContrast({ data: grey, width, height });
  const want = await sharp(grey, { raw: { width, height, channels: 1 } }).normalise({ lower: 0, upper: 99 }).extractChannel(0).raw().toBuffer();
  assert.ok(out.data.equals(want), 'the same pixels as sharp\'s normalise');
  assert.ok(Math.min(...out.data) < 30 && !out.data.equals(grey), `stretched: darkest ${Math.min(...out.data)}`);
});

test('netpbm files are detected as images by their bytes', async () => {
  const bytes = netpbm(textImage({ size: 32 }), 'P5');
  const res = await extract({ path: write('scan.pgm', bytes), name: 'scan.pgm', size: bytes.length, limits, ocrLangs: 'eng+jpn', wantThumbnail: false });
  assert.equal(res.contentType, 'image/x-portable-anymap');
  assertReads(res, 'P5 through the extract worker');
});

for (const { kind, skip, make } of enginesUnderTest()) describe(`OCR preprocessing traps (${kind} engine)`, { skip }, () => {
  const engine = make('fast');
  after(() => engine.close());
  const ocr: OcrRunner = {
    prepare: (src) => prepareForOcr(src, limits.maxPixels),
    read: (img, timeoutMs) => readPage(engine, img, { langs: 'eng+jpn', timeoutMs }),
  };
  async function read(name: string, bytes: Buffer): Promise<ExtractResult> {
    const file = write(`${kind}-${name}`, bytes);
    const opts = { limits, deadline: new Deadline(limits.docTimeoutMs), ocr, wantThumbnail: false };
    return { contentType: '', ...(name.endsWith('.pdf') ? await extractPdf(file, opts) : await extractImage(file, opts)) };
  }

  // A phone photo of two lines: ~11 px x-height, 72 dpi in its header.
  const small = textImage({ size: 20 });

  test('EXIF orientation is honoured (3, 6, 8)', async () => {
    for (const o of [3, 6, 8] as const) assertReads(await read(`exif-${o}.jpg`, await exifTurnedJpeg(small, o)), `orientation ${o}`);
  });

  test('dark text on a transparent background is flattened onto white', async () => {
    assertReads(await read('dark-alpha.png', await transparentPng(small, 'dark')), 'dark on transparent');
  });

  test('light text on a transparent background is flattened onto the contrasting colour', async () => {
    assertReads(await read('light-alpha.png', await transparentPng(small, 'light')), 'light on transparent');
  });

  test('a JFIF density in dots per centimetre is read in its unit and the small photo is enlarged', async () => {
    assertReads(await read('dpcm.jpg', await jpegWithDotsPerCm(small, 37)), '37 dots/cm');
  });

  test('a tiny image (x-height ~6 px) is enlarged until tesseract reads it', async () => {
    assertReads(await read('tiny.png', await sharpOf(textImage({ size: 12 })).png().toBuffer()), '12 px text');
  });

  test('netpbm images are read: PBM, PGM and PPM, plain and raw', async () => {
    const big = textImage({ size: 32 });
    for (const magic of ['P1', 'P2', 'P3', 'P4', 'P5', 'P6'] as const) {
      const ext = { P1: 'pbm', P4: 'pbm', P2: 'pgm', P5: 'pgm', P3: 'ppm', P6: 'ppm' }[magic];
      assertReads(await read(`${magic}.${ext}`, netpbm(big, magic)), magic);
    }
  });

  test('an image-only PDF whose one picture is a small low-resolution scan (93 ppi) reads', async () => {
    // 934 x 261 at 93 ppi, like the scan in the issue: x-height ~9 px.
    const scan = textImage({ size: 17, lines: ['Invoice 4711 was paid in full', 'Delivery to Hamburg on Monday'], pad: 40 });
    const png = path.join(dir, 'low-res.png');
    await sharpOf(scan).resize({ width: 934, height: 261, fit: 'contain', background: '#fff' }).withDensity(93).png().toFile(png);
    const meta = await sharp(png).metadata();
    assert.equal(meta.density, 93);
    assertReads(await read('low-res.pdf', await scannedPdf(png)), 'low-res scan in a PDF');
  });

  for (const degrees of [-10, -4, 4, 10]) {
    test(`a page skewed by ${degrees}° is straightened and read`, async () => {
      const page = textImage({ size: 30, lines: ['Invoice 4711 was paid in full by the customer', 'Delivery to Hamburg on Monday morning at nine', 'Please keep this copy for your own records'] });
      assertReads(await read(`skew${degrees}.png`, await skewedPng(page, degrees)), `skewed ${degrees}°`);
    });
  }

  test('an image with no text is partial with "no text found", never ok', async () => {
    const blank = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#d8e0e8' } }).png().toBuffer();
    const res = await read('blank.png', blank);
    assert.equal(res.status, 'partial');
    assert.match(res.error ?? '', /no text found/);
    assert.equal(res.text, '');
  });
});
