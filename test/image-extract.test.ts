import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createDeflate, crc32 } from 'node:zlib';
import sharp from 'sharp';
import extract, { closeOcrEngine } from '../src/workers/extract-worker.ts';
import type { ExtractLimits, ExtractRequest } from '../src/types.ts';

const corpus = new URL('../../shared/corpus/', import.meta.url).pathname;
const limits: ExtractLimits = { maxOcrPages: 10, maxChars: 1_000_000, docTimeoutMs: 120_000, pageTimeoutMs: 60_000, maxPixels: 100_000_000 };
const req = (p: string, l: Partial<ExtractLimits> = {}): ExtractRequest => ({ path: p, name: path.basename(p), size: 0, limits: { ...limits, ...l }, ocrLangs: 'eng', wantThumbnail: true });

/** A real decompression bomb: a 16000x16000 grey PNG of zeros, a few hundred KB on disk. */
async function pngBomb(file: string, side: number): Promise<void> {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const rows = Buffer.alloc((side + 1) * 1000);
  const parts: Buffer[] = [];
  const deflate = createDeflate({ level: 9 });
  deflate.on('data', (d: Buffer) => parts.push(d));
  await pipeline(Readable.from((function* () {
    for (let y = 0; y < side; y += 1000) yield rows.subarray(0, (side + 1) * Math.min(1000, side - y));
  })()), deflate);
  const out = createWriteStream(file);
  out.write(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  out.write(chunk('IHDR', ihdr));
  out.write(chunk('IDAT', Buffer.concat(parts)));
  out.end(chunk('IEND', Buffer.alloc(0)));
  await new Promise<void>((r) => out.on('finish', () => r()));
}

/** A 24-bit BMP written by hand (sharp cannot write BMP either). */
async function bmpOf(image: string, file: string): Promise<void> {
  const { data, info } = await sharp(image).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const stride = Math.ceil((info.width * 3) / 4) * 4;
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(54 + stride * info.height, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(info.width, 18);
  header.writeInt32LE(info.height, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  header.writeInt32LE(7874, 38); // 200 dpi
  header.writeInt32LE(7874, 42);
  const pixels = Buffer.alloc(stride * info.height);
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const s = (y * info.width + x) * info.channels;
      const d = (info.height - 1 - y) * stride + x * 3;
      pixels[d] = data[s + 2]!;
      pixels[d + 1] = data[s + 1]!;
      pixels[d + 2] = data[s]!;
    }
  }
  writeFileSync(file, Buffer.concat([header, pixels]));
}

describe('image extraction', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'image-test-'));
  after(async () => {
    await closeOcrEngine();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a pixel bomb is rejected from its header with status too_large, before decoding', async () => {
    const bomb = path.join(dir, 'bomb.png');
    await pngBomb(bomb, 16_000);
    const started = performance.now();
    const r = await extract(req(bomb));
    const ms = performance.now() - started;
    assert.equal(r.status, 'too_large');
    assert.match(r.error ?? '', /16000x16000 = 256000000 pixels, over the limit of 100000000/);
    assert.equal(r.ocrPages, 0);
    console.log(`pixel bomb rejected in ${ms.toFixed(0)} ms`);
  });

  test('every page of a multi-page tiff is read, up to maxOcrPages', { skip: existsSync(path.join(corpus, 'tika')) ? false : 'corpus/tika absent' }, async () => {
    const file = path.join(corpus, 'tika', 'testTIFF_multipage.tif');
    const r = await extract(req(file));
    assert.equal(r.status, 'ok', r.error);
    assert.equal(r.contentType, 'image/tiff');
    assert.equal(r.pages, 2);
    assert.equal(r.ocrPages, 2);
    assert.match(r.text, /Page 1/);
    assert.match(r.text, /Page 2/);
    const limited = await extract(req(file, { maxOcrPages: 1 }));
    assert.equal(limited.status, 'partial');
    assert.equal(limited.ocrPages, 1);
    assert.match(limited.error ?? '', /OCR limit of 1 pages reached/);
  });

  test('an image gets a WebP thumbnail about 400 px wide and its text', { skip: existsSync(path.join(corpus, 'ocr')) ? false : 'corpus/ocr absent' }, async () => {
    const r = await extract(req(path.join(corpus, 'ocr', 'phototest.tif')));
    assert.equal(r.status, 'ok', r.error);
    assert.match(r.text, /quick brown dog/);
    assert.ok(r.thumbnail instanceof Uint8Array);
    const meta = await sharp(r.thumbnail).metadata();
    assert.equal(meta.format, 'webp');
    assert.equal(meta.width, 400);
  });

  test('a BMP is decoded here and read (libvips cannot open it)', { skip: existsSync(path.join(corpus, 'ocr')) ? false : 'corpus/ocr absent' }, async () => {
    const bmp = path.join(dir, 'scan.bmp');
    await bmpOf(path.join(corpus, 'ocr', 'phototest.tif'), bmp);
    const r = await extract(req(bmp));
    assert.equal(r.contentType, 'image/bmp');
    assert.equal(r.status, 'ok', r.error);
    assert.match(r.text, /quick brown dog/);
    // An RLE-compressed BMP is refused with a reason, not a crash.
    const rle = Buffer.alloc(54 + 16);
    rle.write('BM', 0, 'latin1');
    rle.writeUInt32LE(54, 10);
    rle.writeUInt32LE(40, 14);
    rle.writeInt32LE(4, 18);
    rle.writeInt32LE(4, 22);
    rle.writeUInt16LE(8, 28);
    rle.writeUInt32LE(1, 30);
    writeFileSync(path.join(dir, 'rle.bmp'), rle);
    const r2 = await extract(req(path.join(dir, 'rle.bmp')));
    assert.equal(r2.status, 'failed');
    assert.match(r2.error ?? '', /unsupported BMP compression/);
  });

  test('a truncated image fails with an error, and an unknown type is unsupported', async () => {
    const bad = path.join(dir, 'bad.jpg');
    writeFileSync(bad, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]));
    const r = await extract(req(bad));
    assert.ok(r.status === 'failed', `${r.status}: ${r.error}`);
    assert.ok(r.error);
    const odd = path.join(dir, 'doc.xyz');
    writeFileSync(odd, Buffer.from([0x00, 0x01, 0x02, 0x03, 0x00, 0xff]));
    const u = await extract(req(odd));
    assert.equal(u.status, 'unsupported');
    assert.match(u.error ?? '', /unsupported file type/);
  });
});
