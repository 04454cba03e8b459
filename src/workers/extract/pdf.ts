// PDFs: the text layer first (pdf.js, page by page); a page whose text layer is (nearly) empty but
// paints an image is a scan and is OCR'd — from its embedded image at native size when the page is
// one big image, otherwise rendered with @napi-rs/canvas. Born-digital pages are never OCR'd.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { getHeapStatistics } from 'node:v8';
import type { ExtractLimits, ExtractResult } from '../../types.ts';
import type { OcrImage, OcrRunner, OcrSource } from '../ocr/engine.ts';
import type { Release } from '../raster-gate.ts';
import { contentLength, Deadline, DeadlineError, Problems, removeCjkSpaces, TextBudget, tidyText, withTimeout } from './result.ts';
import { MAX_OCR_PIXELS, OCR_DPI } from '../ocr/prepare.ts';
import { THUMBNAIL_WIDTH, thumbnailFromRaw } from './thumbnail.ts';
import { pdfMetadata } from './pdf-metadata.ts';
import { budgetedCanvasFactory, CanvasBudgetError, describeImageLeftOut, installPathBudget, installPdfjsLimits, onImageLeftOut, onPathsOverBudget, PATHS_OVER_BUDGET, probePaintsImage } from './pdfjs-limits.ts';

const require = createRequire(import.meta.url);

/** A page with fewer content characters than this in its text layer is a candidate for OCR. */
export const MIN_TEXT_LAYER_CHARS = 20;
/** An embedded image is used as-is when it is at least this many pixels on its short side. */
const MIN_SCAN_SIDE = 500;
/** Renders for OCR are capped like OCR input (a 200 dpi A0 page would be 100 MP): never render what OCR would shrink. */
const MAX_RENDER_PIXELS = MAX_OCR_PIXELS;
/** Rows read back from a canvas at a time when turning a render grey (bounds the RGBA copy). */
const READBACK_ROWS = 256;
/**
 * Stop reading pages once this share of the thread's JS heap is in use: pdf.js keeps every page it
 * has opened until the document is destroyed, so a PDF with a million pages would otherwise end the
 * thread (status failed, no text) instead of giving the pages read so far (status partial).
 */
const HEAP_STOP_SHARE = 0.6;
/** Looked at every this many pages (a single big page is bounded by the thread's heap limit alone). */
const HEAP_CHECK_PAGES = 50;

/** What pdf.ts finds; the worker adds the content type. */
export type PdfResult = Omit<ExtractResult, 'contentType'>;

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
type PDFDocumentProxy = import('pdfjs-dist/legacy/build/pdf.mjs').PDFDocumentProxy;
type PDFPageProxy = import('pdfjs-dist/legacy/build/pdf.mjs').PDFPageProxy;

let pdfjsLoaded: Promise<PdfJs> | undefined;
function pdfjs(): Promise<PdfJs> {
  installPdfjsLimits();
  // pdf.js sets globalThis.Path2D as it loads; its paths are then weighed like its canvases.
  pdfjsLoaded ??= import('pdfjs-dist/legacy/build/pdf.mjs').then((lib) => (installPathBudget(), lib));
  return pdfjsLoaded;
}

/** pdf.js wants directory URLs with a trailing slash; without them CJK text, fonts and JPX fail silently. */
function pdfjsAssets(): { cMapUrl: string; standardFontDataUrl: string; wasmUrl: string } {
  const root = path.dirname(require.resolve('pdfjs-dist/package.json'));
  const dir = (sub: string) => `${path.join(root, sub)}/`;
  return { cMapUrl: dir('cmaps'), standardFontDataUrl: dir('standard_fonts'), wasmUrl: dir('wasm') };
}

export async function extractPdf(
  file: string,
  opts: { limits: ExtractLimits; deadline: Deadline; ocr: OcrRunner; wantThumbnail: boolean },
): Promise<PdfResult> {
  const { limits, deadline } = opts;
  // Absent (a caller without a Config): no per-page cap beyond maxPixels per image.
  const maxPageImageBytes = limits.maxPageImageBytes ?? Infinity;
  const lib = await pdfjs();
  // No copy: pdf.js takes ownership of (transfers) the file's own buffer.
  const buf = await readFile(file);
  const data = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const task = lib.getDocument({
    data,
    ...pdfjsAssets(),
    // An image bigger than a page OCR would read is not decoded at all (a pixel bomb inside a PDF).
    maxImageSize: limits.maxPixels,
    // Decoded image bytes per page (see pdfjs-limits.ts: pdf.js's own use needs OffscreenCanvas).
    canvasMaxAreaInBytes: Number.isFinite(maxPageImageBytes) ? maxPageImageBytes : -1,
    CanvasFactory: budgetedCanvasFactory(maxPageImageBytes),
    cMapPacked: true,
    useSystemFonts: false,
    disableFontFace: true,
    isEvalSupported: false,
    stopAtErrors: false,
    verbosity: 0,
  });
  let doc: PDFDocumentProxy | undefined;
  const problems = new Problems();
  const stopListening = onImageLeftOut((img) => problems.add(describeImageLeftOut(img, { maxPixels: limits.maxPixels, maxPageImageBytes })));
  try {
    doc = await withTimeout(task.promise, deadline.remaining, 'document deadline reached while opening the PDF');
    const metadata = await withTimeout(pdfMetadata(doc), deadline.remaining, 'deadline').catch(() => undefined);
    const result = await readPages(doc, opts, problems);
    return metadata ? { ...result, metadata } : result;
  } catch (err) {
    // Without the user password pdf.js cannot decrypt anything, the Info dictionary included.
    const status = (err as { name?: string })?.name === 'PasswordException' ? 'encrypted' : 'failed';
    return { text: '', truncated: false, pages: doc?.numPages ?? 0, ocrPages: 0, status, error: describePdfError(err, limits) };
  } finally {
    stopListening();
    await (doc ? doc.destroy() : task.destroy()).catch(() => {});
  }
}

function describePdfError(err: unknown, limits: ExtractLimits): string {
  const e = err as { name?: string; message?: string; code?: number };
  if (e?.name === 'PasswordException') return 'PDF is encrypted with a password';
  if (e?.name === 'InvalidPDFException') return `not a valid PDF: ${e.message}`;
  if (err instanceof DeadlineError) return `${err.message} (limit ${limits.docTimeoutMs} ms)`;
  return `PDF could not be read: ${e?.message ?? String(err)}`;
}

async function readPages(
  doc: PDFDocumentProxy,
  opts: { limits: ExtractLimits; deadline: Deadline; ocr: OcrRunner; wantThumbnail: boolean },
  problems: Problems,
): Promise<PdfResult> {
  const { limits, deadline } = opts;
  const budget = new TextBudget(limits.maxChars);
  let ocrPages = 0;
  let skippedOcr = 0;
  let thumbnail: Uint8Array | undefined;
  let pagesRead = 0;
  const numPages = doc.numPages;

  for (let n = 1; n <= numPages; n++) {
    if (deadline.passed) {
      problems.add(`document deadline of ${limits.docTimeoutMs} ms reached after ${pagesRead} of ${numPages} pages`);
      break;
    }
    if (pagesRead > 0 && pagesRead % HEAP_CHECK_PAGES === 0 && heapNearlyFull()) {
      problems.add(`memory bound reached after ${pagesRead} of ${numPages} pages`);
      break;
    }
    let page: PDFPageProxy | undefined;
    let release: Release | undefined;
    try {
      page = await withTimeout(doc.getPage(n), deadline.remaining, 'deadline');
      const layer = await withTimeout(pageText(page), deadline.remaining, 'deadline');
      let text = layer;
      // Known without decoding an image; only a page that is then read has its images decoded.
      const scanned = contentLength(layer) < MIN_TEXT_LAYER_CHARS && (await withTimeout(paintsImage(page), deadline.remaining, 'deadline'));
      if (scanned && ocrPages < limits.maxOcrPages) {
        // The operator list decodes the page's images: from here to the OCR-ready image is one big raster.
        release = await opts.ocr.holdRaster?.(deadline.remaining);
        let img: OcrImage | undefined;
        let src: RawPixels | undefined;
        try {
          src = await withTimeout(scanSource(page, doc), deadline.remaining, 'deadline');
        } catch (err) {
          if (err instanceof DeadlineError) throw err;
          // Not rendered (a canvas or memory limit): the page's text layer and notes still count.
          problems.add(`page ${n}: ${(err as Error).message}`);
        }
        if (src && n === 1 && opts.wantThumbnail) thumbnail = await thumbnailFromRaw(src).catch(() => undefined);
        try {
          if (src) img = await opts.ocr.prepare(src);
        } catch (err) {
          problems.add(`page ${n}: OCR failed: ${(err as Error).message}`);
        }
        // Let pdf.js and the full-size pixels go before the (long) recognition.
        src = undefined;
        page.cleanup();
        release?.();
        if (img) {
          try {
            const res = await opts.ocr.read(img, Math.min(limits.pageTimeoutMs, deadline.remaining));
            ocrPages++;
            text = [layer, res.text].filter(Boolean).join('\n');
          } catch (err) {
            problems.add(`page ${n}: OCR failed: ${(err as Error).message}`);
          }
        }
      } else if (scanned) {
        skippedOcr++;
      }
      if (n === 1 && opts.wantThumbnail && !thumbnail) {
        // Rendering decodes the page's images (up to MAX_PAGE_IMAGE_BYTES) and its canvases: a big raster.
        release = await opts.ocr.holdRaster?.(deadline.remaining);
        thumbnail = await firstPageThumbnail(page, doc).catch(() => undefined);
        // Images dropped before the gate's release, which collects them (extract-worker.ts).
        page.cleanup();
        release?.();
      }
      pagesRead++;
      // Notes and form values are the page's content too, added after the OCR decision (a sticky note
      // on a scan must not stop the scan being read).
      const notes = await withTimeout(annotationText(page), deadline.remaining, 'deadline').catch(() => '');
      if (notes) text = text ? `${text}\n${notes}` : notes;
      if (!budget.add(removeCjkSpaces(tidyText(text)))) break;
    } catch (err) {
      if (err instanceof DeadlineError || deadline.passed) {
        problems.add(`document deadline of ${limits.docTimeoutMs} ms reached after ${pagesRead} of ${numPages} pages`);
        break;
      }
      problems.add(`page ${n}: ${(err as Error).message}`);
    } finally {
      release?.();
      page?.cleanup();
    }
  }
  if (skippedOcr > 0) problems.add(`OCR limit of ${limits.maxOcrPages} pages reached: ${skippedOcr} scanned pages not read`);
  if (budget.truncated) problems.add(`text cut at the limit of ${limits.maxChars} characters`);
  const nothing = pagesRead === 0 && numPages > 0;
  return {
    text: budget.text,
    truncated: budget.truncated,
    pages: numPages,
    ocrPages,
    status: nothing ? 'failed' : problems.any ? 'partial' : 'ok',
    error: problems.message,
    thumbnail,
  };
}

function heapNearlyFull(): boolean {
  const h = getHeapStatistics();
  return h.used_heap_size > h.heap_size_limit * HEAP_STOP_SHARE;
}

async function pageText(page: PDFPageProxy): Promise<string> {
  const content = await page.getTextContent();
  let out = '';
  for (const item of content.items) {
    if (!('str' in item)) continue;
    out += item.str;
    if (item.hasEOL) out += '\n';
  }
  return out;
}

/** Text of a page's annotations (sticky notes, free text, filled-in form fields); popups repeat their parent. */
async function annotationText(page: PDFPageProxy): Promise<string> {
  const annotations = (await page.getAnnotations()) as Array<{ subtype?: string; contentsObj?: { str?: string }; fieldValue?: unknown }>;
  const out: string[] = [];
  for (const a of annotations) {
    if (a.subtype === 'Popup') continue;
    const s = a.contentsObj?.str?.trim();
    if (s) out.push(s);
    if (a.subtype === 'Widget' && typeof a.fieldValue === 'string' && a.fieldValue.trim()) out.push(a.fieldValue.trim());
  }
  return out.join('\n');
}

const IMAGE_OPS = new Set<number>();
async function imageOps(): Promise<Set<number>> {
  if (IMAGE_OPS.size === 0) {
    const { OPS } = await pdfjs();
    for (const op of [OPS.paintImageXObject, OPS.paintInlineImageXObject, OPS.paintImageMaskXObject, OPS.paintImageXObjectRepeat, OPS.paintInlineImageXObjectGroup, OPS.paintImageMaskXObjectGroup, OPS.paintImageMaskXObjectRepeat]) {
      IMAGE_OPS.add(op);
    }
  }
  return IMAGE_OPS;
}

/** Whether the page paints an image; no image is decoded to find out (pdfjs-limits.ts). */
async function paintsImage(page: PDFPageProxy): Promise<boolean> {
  return probePaintsImage(page, await imageOps());
}

type RawPixels = Extract<OcrSource, { kind: 'raw' }>;

/** The page's one big embedded image at native size, or the page rendered at OCR resolution. */
async function scanSource(page: PDFPageProxy, doc: PDFDocumentProxy): Promise<RawPixels> {
  return (await embeddedScan(page)) ?? (await renderPage(page, doc, OCR_DPI / 72, MAX_RENDER_PIXELS, true));
}

async function embeddedScan(page: PDFPageProxy): Promise<RawPixels | undefined> {
  const { OPS } = await pdfjs();
  const list = await page.getOperatorList();
  const images = list.fnArray.flatMap((fn, i) => (fn === OPS.paintImageXObject ? [list.argsArray[i] as [string, number, number]] : []));
  const others = list.fnArray.filter((fn) => fn !== OPS.paintImageXObject && IMAGE_OPS.has(fn)).length;
  if (images.length !== 1 || others > 0) return undefined;
  const id = images[0]![0];
  type Decoded = { width: number; height: number; kind?: number; data?: Uint8Array | Uint8ClampedArray } | null;
  // The operator list is complete before its images are decoded (pdf.js decodes them asynchronously):
  // wait for this one (null when its decode failed), or it would be rendered as well as decoded.
  const objs = (id.startsWith('g_') ? page.commonObjs : page.objs) as unknown as { get(id: string, done: (data: unknown) => void): null };
  const img = await new Promise<Decoded>((resolve) => objs.get(id, (data) => resolve(data as Decoded)));
  if (!img?.data || !img.kind || Math.min(img.width, img.height) < MIN_SCAN_SIDE) return undefined;
  const view = page.getViewport({ scale: 1 });
  // Same aspect as the page, or turned 90° (OSD turns the text upright later).
  const pageRatio = view.width / view.height;
  const imgRatio = img.width / img.height;
  const turned = Math.abs(imgRatio - 1 / pageRatio) < Math.abs(imgRatio - pageRatio);
  const ratio = turned ? 1 / pageRatio : pageRatio;
  if (Math.abs(imgRatio - ratio) / ratio > 0.15) return undefined;
  const dpi = Math.round(img.width / ((turned ? view.height : view.width) / 72));
  return { ...imagePixels(img as { width: number; height: number; kind: number; data: Uint8Array }), dpi };
}

/**
 * pdf.js image data as raw pixels sharp can read. Not copied: it is a V8-owned array this code keeps
 * referenced until sharp is done (unlike a canvas's native pixel memory, which must be copied).
 */
function imagePixels(img: { width: number; height: number; kind: number; data: Uint8Array | Uint8ClampedArray }): Omit<RawPixels, 'dpi'> {
  const { width, height } = img;
  if (img.kind === 1) {
    // GRAYSCALE_1BPP: rows padded to whole bytes, a set bit is white.
    const rowBytes = (width + 7) >> 3;
    const out = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        out[y * width + x] = img.data[y * rowBytes + (x >> 3)]! & (0x80 >> (x & 7)) ? 255 : 0;
      }
    }
    return { kind: 'raw', data: out, width, height, channels: 1 };
  }
  const channels = img.kind === 2 ? 3 : 4;
  const bytes = new Uint8Array(img.data.buffer, img.data.byteOffset, width * height * channels);
  return { kind: 'raw', data: bytes, width, height, channels };
}

/** Renders a page; `grey` reads the canvas back a strip at a time into one channel (OCR wants no more). */
async function renderPage(page: PDFPageProxy, doc: PDFDocumentProxy, scale: number, maxPixels: number, grey = false): Promise<RawPixels> {
  let viewport = page.getViewport({ scale });
  const area = viewport.width * viewport.height;
  if (area > maxPixels) viewport = page.getViewport({ scale: scale * Math.sqrt(maxPixels / area) });
  const width = Math.max(1, Math.floor(viewport.width));
  const height = Math.max(1, Math.floor(viewport.height));
  const factory = doc.canvasFactory as { create(w: number, h: number): { canvas: unknown; context: CanvasLike }; destroy(c: unknown): void };
  const cc = factory.create(width, height);
  try {
    const task = page.render({ canvas: cc.canvas as never, canvasContext: cc.context as never, viewport, background: 'white' });
    // Stopped the way pdf.js stops a render when its paths outgrow the room left (pdfjs-limits.ts).
    let overBudget = false;
    const unwatch = onPathsOverBudget(() => {
      overBudget = true;
      task.cancel();
    });
    try {
      await task.promise;
    } catch (err) {
      throw overBudget ? new CanvasBudgetError(PATHS_OVER_BUDGET) : err;
    } finally {
      unwatch();
    }
    const dpi = Math.round(72 * (viewport.width / page.getViewport({ scale: 1 }).width));
    if (grey) return { kind: 'raw', data: readGrey(cc.context, width, height), width, height, channels: 1, dpi };
    const image = cc.context.getImageData(0, 0, width, height);
    // Copy: a view into the canvas's memory crashed the process when GC freed the canvas.
    const data = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength).slice();
    return { kind: 'raw', data, width, height, channels: 4, dpi };
  } finally {
    factory.destroy(cc);
  }
}

/**
 * The canvas as one grey channel, read back READBACK_ROWS at a time: 1 byte per pixel kept instead of
 * a full RGBA copy (4) plus its copy (4). The page was painted on white, so alpha is ignored.
 */
function readGrey(ctx: CanvasLike, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y0 = 0; y0 < height; y0 += READBACK_ROWS) {
    const rows = Math.min(READBACK_ROWS, height - y0);
    const rgba = ctx.getImageData(0, y0, width, rows).data;
    for (let i = 0, o = y0 * width, n = width * rows; i < n; i++, o++) {
      const p = i * 4;
      // Rec. 601 luma in integers.
      out[o] = (rgba[p]! * 77 + rgba[p + 1]! * 150 + rgba[p + 2]! * 29) >> 8;
    }
  }
  return out;
}

type CanvasLike = { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };

async function firstPageThumbnail(page: PDFPageProxy, doc: PDFDocumentProxy): Promise<Uint8Array> {
  const scale = THUMBNAIL_WIDTH / page.getViewport({ scale: 1 }).width;
  return thumbnailFromRaw(await renderPage(page, doc, Math.min(scale, 4), 4_000_000));
}
