// Images -> OCR: jpg, png, gif, webp, tiff (every page of a multi-page tiff up to maxOcrPages), bmp
// and netpbm (decoded here: libvips as sharp ships it reads neither). The pixel limit is checked from
// the header before decoding. An image that gives no text says so (partial, "no text found").
import { open, readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { Metadata } from 'sharp';
import type { DocStatus, ExtractLimits, ExtractResult } from '../../types.ts';
import { imageFormatOf } from './detect.ts';
import type { ImageFormat } from './detect.ts';
import type { OcrImage, OcrRunner, OcrSource } from '../ocr/engine.ts';
import { decodeNetpbm, NetpbmTooLarge } from './netpbm.ts';
import { Deadline, Problems, TextBudget } from './result.ts';
import { thumbnailFromFile, thumbnailFromRaw } from './thumbnail.ts';

/** What image.ts finds; the worker adds the content type. */
export type ImageResult = Omit<ExtractResult, 'contentType'> & { format?: ImageFormat };

export async function extractImage(
  file: string,
  opts: { limits: ExtractLimits; deadline: Deadline; ocr: OcrRunner; wantThumbnail: boolean },
): Promise<ImageResult> {
  const { limits } = opts;
  const format = imageFormatOf(await readHead(file, 256));
  if (!format) return { ...empty(0), status: 'unsupported', error: 'not an image format this worker reads (jpg, png, gif, tiff, bmp, webp, pbm/pgm/ppm)' };
  if (format === 'bmp') return { ...(await extractDecoded(file, 'BMP', decodeBmp, opts)), format };
  if (format === 'pnm') return { ...(await extractDecoded(file, 'netpbm image', decodeNetpbm, opts)), format };

  let meta: Metadata;
  try {
    meta = await sharp(file, { limitInputPixels: false }).metadata();
  } catch (err) {
    return { ...empty(0), status: 'failed', error: `image could not be read: ${(err as Error).message}`, format };
  }
  const frameHeight = meta.pageHeight ?? meta.height;
  const pixels = meta.width * frameHeight;
  if (pixels > limits.maxPixels) return { ...empty(meta.pages ?? 1), status: 'too_large', error: tooLarge(meta.width, frameHeight, limits.maxPixels), format };

  // Frames of an animated gif/webp are not pages: only a tiff's pages are all read.
  const pages = format === 'tiff' ? (meta.pages ?? 1) : 1;
  const res = await ocrPages(pages, (page) => opts.ocr.prepare({ kind: 'file', path: file, page }), opts);
  if (opts.wantThumbnail) res.thumbnail = await gated(opts, () => thumbnailFromFile(file, limits.maxPixels)).catch(() => undefined);
  return { ...res, format };
}

/** Runs a step that holds a full-size decode under the process-wide raster gate. */
async function gated<T>(opts: { deadline: Deadline; ocr: OcrRunner }, step: () => Promise<T>): Promise<T> {
  const release = await opts.ocr.holdRaster?.(opts.deadline.remaining);
  try {
    return await step();
  } finally {
    release?.();
  }
}

/** OCRs pages 0..pages-1; `load` decodes one to an OCR-ready image (under the raster gate), recognition runs outside it. */
async function ocrPages(
  pages: number,
  load: (page: number) => Promise<OcrImage>,
  opts: { limits: ExtractLimits; deadline: Deadline; ocr: OcrRunner },
): Promise<ImageResult> {
  const { limits, deadline } = opts;
  const budget = new TextBudget(limits.maxChars);
  const problems = new Problems();
  let read = 0;
  let failed = 0;
  for (let i = 0; i < pages; i++) {
    if (read + failed >= limits.maxOcrPages) {
      problems.add(`OCR limit of ${limits.maxOcrPages} pages reached: ${pages - i} pages not read`);
      break;
    }
    if (deadline.passed) {
      problems.add(`document deadline of ${limits.docTimeoutMs} ms reached after ${i} of ${pages} pages`);
      break;
    }
    try {
      const img = await gated(opts, () => load(i));
      const res = await opts.ocr.read(img, Math.min(limits.pageTimeoutMs, deadline.remaining));
      read++;
      if (!budget.add(res.text)) break;
    } catch (err) {
      failed++;
      problems.add(`${pages > 1 ? `page ${i + 1}: ` : ''}OCR failed: ${(err as Error).message}`);
    }
  }
  if (budget.truncated) problems.add(`text cut at the limit of ${limits.maxChars} characters`);
  // Read without error and still empty: nobody must take it for a searchable document.
  if (read > 0 && budget.text.trim() === '') problems.add(`no text found by OCR${pages > 1 ? ` on ${read} pages` : ''}`);
  const status: DocStatus = read === 0 && failed > 0 ? 'failed' : problems.any ? 'partial' : 'ok';
  return { text: budget.text, truncated: budget.truncated, pages, ocrPages: read, status, error: problems.message };
}

function empty(pages: number): Omit<ImageResult, 'status'> {
  return { text: '', truncated: false, pages, ocrPages: 0 };
}

function tooLarge(width: number, height: number, limit: number): string {
  return `image is ${width}x${height} = ${width * height} pixels, over the limit of ${limit} pixels`;
}

async function readHead(file: string, n: number): Promise<Uint8Array> {
  const fh = await open(file, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

// ---- formats decoded here (BMP, netpbm) ----

type RawDecoder = (buf: Uint8Array, maxPixels: number) => Extract<OcrSource, { kind: 'raw' }>;

async function extractDecoded(file: string, what: string, decode: RawDecoder, opts: { limits: ExtractLimits; deadline: Deadline; ocr: OcrRunner; wantThumbnail: boolean }): Promise<ImageResult> {
  // The decoded pixels live only under the raster gate: thumbnail and OCR image are made from them there.
  let thumbnail: Uint8Array | undefined;
  let img: OcrImage | undefined;
  let prepareError: unknown;
  try {
    await gated(opts, async () => {
      const raw = decode(await readFile(file), opts.limits.maxPixels);
      if (opts.wantThumbnail) thumbnail = await thumbnailFromRaw(raw).catch(() => undefined);
      img = await opts.ocr.prepare(raw).catch((err: unknown) => {
        prepareError = err;
        return undefined;
      });
    });
  } catch (err) {
    if (err instanceof BmpTooLarge || err instanceof NetpbmTooLarge) return { ...empty(1), status: 'too_large', error: err.message };
    return { ...empty(1), status: 'failed', error: `${what} could not be read: ${(err as Error).message}` };
  }
  const res = await ocrPages(1, async () => {
    if (!img) throw prepareError;
    return img;
  }, opts);
  res.thumbnail = thumbnail;
  return res;
}

class BmpTooLarge extends Error {}

// ---- BMP ----

/**
 * Uncompressed BMP (1/4/8-bit palette, 16/24/32-bit, BI_BITFIELDS with the usual masks) to raw
 * pixels. RLE-compressed and embedded JPEG/PNG BMPs are reported as unsupported variants.
 */
export function decodeBmp(buf: Uint8Array, maxPixels: number): Extract<OcrSource, { kind: 'raw' }> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 26 || buf[0] !== 0x42 || buf[1] !== 0x4d) throw new Error('not a BMP file');
  const dataOffset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  let width: number;
  let height: number;
  let bpp: number;
  let compression = 0;
  let colours = 0;
  let ppm = 0;
  if (headerSize === 12) {
    width = dv.getUint16(18, true);
    height = dv.getInt16(20, true);
    bpp = dv.getUint16(24, true);
  } else {
    width = dv.getInt32(18, true);
    height = dv.getInt32(22, true);
    bpp = dv.getUint16(28, true);
    compression = dv.getUint32(30, true);
    ppm = dv.getInt32(38, true);
    colours = dv.getUint32(46, true);
  }
  const topDown = height < 0;
  height = Math.abs(height);
  if (width <= 0 || height <= 0) throw new Error(`bad dimensions ${width}x${height}`);
  if (width * height > maxPixels) throw new BmpTooLarge(tooLarge(width, height, maxPixels));
  if (compression !== 0 && !(compression === 3 && (bpp === 16 || bpp === 32))) {
    throw new Error(`unsupported BMP compression ${compression} (only uncompressed BMPs are read)`);
  }
  const paletteOffset = 14 + headerSize;
  const entry = headerSize === 12 ? 3 : 4;
  const paletteSize = bpp <= 8 ? colours || 1 << bpp : 0;
  const palette = (i: number): [number, number, number] => {
    const p = paletteOffset + Math.min(i, paletteSize - 1) * entry;
    return [buf[p + 2] ?? 0, buf[p + 1] ?? 0, buf[p] ?? 0];
  };
  const masks = compression === 3 && headerSize >= 52
    ? [dv.getUint32(54, true), dv.getUint32(58, true), dv.getUint32(62, true)]
    : bpp === 16 ? [0x7c00, 0x03e0, 0x001f] : [0xff0000, 0x00ff00, 0x0000ff];
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  if (dataOffset + stride * height > buf.length) throw new Error('truncated pixel data');
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      let rgb: [number, number, number];
      if (bpp <= 8) {
        const perByte = 8 / bpp;
        const byte = buf[row + Math.floor(x / perByte)]!;
        const shift = (perByte - 1 - (x % perByte)) * bpp;
        rgb = palette((byte >> shift) & ((1 << bpp) - 1));
      } else if (bpp === 24) {
        const p = row + x * 3;
        rgb = [buf[p + 2]!, buf[p + 1]!, buf[p]!];
      } else if (bpp === 16 || bpp === 32) {
        const v = bpp === 16 ? dv.getUint16(row + x * 2, true) : dv.getUint32(row + x * 4, true);
        rgb = [channel(v, masks[0]!), channel(v, masks[1]!), channel(v, masks[2]!)];
      } else {
        throw new Error(`unsupported BMP bit depth ${bpp}`);
      }
      out.set(rgb, (y * width + x) * 3);
    }
  }
  const dpi = ppm > 0 ? Math.round(ppm * 0.0254) : 0;
  return { kind: 'raw', data: out, width, height, channels: 3, dpi };
}

function channel(v: number, mask: number): number {
  if (!mask) return 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  return Math.round((((v & mask) >>> shift) * 255) / max);
}
