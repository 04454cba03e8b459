// Character error rate of the OCR path (preprocessing + each engine, default languages eng+jpn) on
// scans with ground truth, rotated copies included, and on a rendered Japanese page.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DEFAULTS } from '../src/config.ts';
import { prepareForOcr } from '../src/workers/ocr/prepare.ts';
import { readPage } from '../src/workers/ocr/page.ts';
import { enginesUnderTest } from './helpers/ocr-engines.ts';
import { cer } from './helpers/cer.ts';

const corpus = new URL('../../shared/corpus/', import.meta.url).pathname;
const ocrDir = path.join(corpus, 'ocr');
const skip = existsSync(ocrDir) ? false : 'shared corpus absent (../shared/corpus/ocr)';

// Measured on this machine: phototest (and its rotated copies) 0 %, eurotext 2.3 %, the two UNLV
// newspaper pages 7-10 % — most of that is reading order around captions and pull quotes, not
// misread words. 15 % per page still catches a wrong turn (~90 %), a wrong language order
// (jpn+eng: 15-17 %) or a resolution mistake; 8 % over all characters holds the overall quality.
const MAX_PAGE_CER = 0.15;
const MAX_TOTAL_CER = 0.08;

function truthFor(image: string): string {
  return path.join(ocrDir, image.replace(/(-rotated-[^.]+|rot)?\.(tif|png)$/, '.txt'));
}

for (const under of enginesUnderTest()) describe(`OCR accuracy on corpus/ocr: ${under.kind} engine`, { skip: skip || under.skip }, () => {
  const engine = under.make();
  after(() => engine.close());

  test('character error rate stays under the threshold, per page and in total', async () => {
    const images = readdirSync(ocrDir).filter((f) => /\.(tif|png)$/.test(f)).sort();
    assert.ok(images.length >= 8, `expected the 8 corpus scans, found ${images.length}`);
    let errors = 0;
    let chars = 0;
    const rows: string[] = [];
    for (const image of images) {
      const truth = readFileSync(truthFor(image), 'utf8');
      const img = await prepareForOcr({ kind: 'file', path: path.join(ocrDir, image) }, 100_000_000);
      const page = await readPage(engine, img, { langs: DEFAULTS.OCR_LANGS, timeoutMs: 120_000 });
      const rate = cer(page.text, truth);
      const n = truth.replace(/\s+/g, '').length;
      errors += rate * n;
      chars += n;
      rows.push(`${image.padEnd(28)} CER ${(rate * 100).toFixed(1).padStart(5)} %  turned ${page.rotation}°  confidence ${page.confidence}`);
      assert.ok(rate <= MAX_PAGE_CER, `${image}: CER ${(rate * 100).toFixed(1)} % over ${MAX_PAGE_CER * 100} %`);
    }
    rows.push(`${'total'.padEnd(28)} CER ${((errors / chars) * 100).toFixed(1).padStart(5)} %`);
    console.log(rows.join('\n'));
    assert.ok(errors / chars <= MAX_TOTAL_CER, `total CER ${((errors / chars) * 100).toFixed(1)} %`);
  });

  test('a rendered Japanese page reads back without spaces between characters', { skip: existsSync(path.join(corpus, 'pdfjs', 'issue8570.pdf')) ? false : 'corpus/pdfjs absent' }, async () => {
    const { extractPdf } = await import('../src/workers/extract/pdf.ts');
    const { Deadline } = await import('../src/workers/extract/result.ts');
    const limits = { maxOcrPages: 1, maxChars: 100_000, docTimeoutMs: 60_000, pageTimeoutMs: 60_000, maxPixels: 100_000_000 };
    const file = path.join(corpus, 'pdfjs', 'issue8570.pdf');
    const layer = await extractPdf(file, { limits, deadline: new Deadline(60_000), ocr: { prepare: () => assert.fail(), read: () => assert.fail() }, wantThumbnail: false });
    // Render the page as an image and read it: the text layer is the ground truth.
    const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
    const doc = await pdfjs.getDocument({ data: new Uint8Array(readFileSync(file)), cMapUrl: path.join(path.dirname(new URL(import.meta.resolve('pdfjs-dist/package.json')).pathname), 'cmaps') + '/', cMapPacked: true, standardFontDataUrl: path.join(path.dirname(new URL(import.meta.resolve('pdfjs-dist/package.json')).pathname), 'standard_fonts') + '/', verbosity: 0 }).promise;
    const page = await doc.getPage(1);
    const viewport = page.getViewport({ scale: 300 / 72 });
    const factory = doc.canvasFactory as { create(w: number, h: number): { canvas: unknown; context: { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } } };
    const cc = factory.create(Math.floor(viewport.width), Math.floor(viewport.height));
    await page.render({ canvas: cc.canvas as never, canvasContext: cc.context as never, viewport }).promise;
    const px = cc.context.getImageData(0, 0, Math.floor(viewport.width), Math.floor(viewport.height));
    const data = new Uint8Array(px.data.buffer, px.data.byteOffset, px.data.byteLength).slice();
    await doc.destroy();
    const img = await prepareForOcr({ kind: 'raw', data, width: Math.floor(viewport.width), height: Math.floor(viewport.height), channels: 4, dpi: 300 }, 100_000_000);
    const res = await readPage(engine, img, { langs: DEFAULTS.OCR_LANGS, timeoutMs: 120_000 });
    const rate = cer(res.text, layer.text);
    console.log(`issue8570.pdf rendered, Japanese CER ${(rate * 100).toFixed(1)} %`);
    assert.match(res.text, /レーザー/);
    assert.doesNotMatch(res.text, /[\u3040-\u30ff\u4e00-\u9fff] +[\u3040-\u30ff\u4e00-\u9fff]/, 'no spaces between Japanese characters');
    assert.ok(rate <= 0.25, `Japanese CER ${(rate * 100).toFixed(1)} %`);
  });
});
