// src/workers/: everything that runs inside a pool thread — this entry, the contract both sides share
// (protocol.ts), the format extractors (extract/) and OCR (ocr/). Imports nothing from the main side.
//
// The piscina entry: one document in, one ExtractResult out. Never throws for a bad file: the result
// says what happened. Each pool thread owns one OCR engine (native: one tesseract child at a time;
// wasm: tesseract's WASM core in this thread), built on its first OCR page; big decoded rasters pass
// one at a time through a gate shared by all pool threads.
import { threadId, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { DEFAULTS } from '../config.ts';
import { CONTAINER_KINDS, extractContainer } from './extract/containers.ts';
import type { ContainerKind } from './extract/containers.ts';
import { contentTypeOf, detectKind } from './extract/detect.ts';
import { extractDocument } from './extract/documents.ts';
import { extractImage } from './extract/image.ts';
import { imageMetadata } from './extract/image-metadata.ts';
import { prepareForOcr } from './ocr/prepare.ts';
import { chooseOcrEngine, createOcrEngine } from './ocr/choice.ts';
import type { OcrEngine, OcrImage, OcrRunner, OcrSource } from './ocr/engine.ts';
import { readPage } from './ocr/page.ts';
import { extractPdf } from './extract/pdf.ts';
import { loadCanvas } from './extract/canvas.ts';
import { openGate, RasterGate } from './raster-gate.ts';
import { reclaimGarbage } from './reclaim.ts';
import { MemoryGauge, useMemoryGauge } from './memory-gauge.ts';
import type { Gate } from './raster-gate.ts';
import { Deadline, truncate } from './extract/result.ts';
import type { ExtractLimits } from '../types.ts';
import type { ExtractRequest, ExtractResult, ExtractWorkerData, PoolTaskHandler, ThreadStarted, WarmUpResult } from './protocol.ts';

// Pool threads are the parallelism: libvips needs no thread pool of its own nor an operation cache
// (each image is decoded once); both cost memory that the 500 MB budget cannot spare.
sharp.cache(false);
sharp.concurrency(1);

// The pool always sends workerData; a test that imports this module directly gets the configured
// defaults, with the engine chosen as OCR_ENGINE=auto would.
const settings: Partial<ExtractWorkerData> = (workerData as ExtractWorkerData | undefined) ?? {};
const gate: Gate = settings.rasterGate ? new RasterGate(settings.rasterGate) : openGate;
useMemoryGauge(settings.memoryGauge ? new MemoryGauge(settings.memoryGauge) : undefined);

let threadEngine: OcrEngine | undefined;
function engine(langs: string): OcrEngine {
  if (!threadEngine) {
    const { kind, model } = settings.ocr ?? chooseOcrEngine('auto', DEFAULTS.OCR_MODEL, langs);
    threadEngine = createOcrEngine(settings.ocr ?? { kind, model, recycleAfterPages: DEFAULTS.RECYCLE_AFTER_PAGES, maxHeapMb: DEFAULTS.MAX_WORKER_MEMORY_MB });
  }
  return threadEngine;
}

/** Stops this thread's OCR engine (its child process or WASM heap); the next page starts a new one. */
export async function closeOcrEngine(): Promise<void> {
  const e = threadEngine;
  threadEngine = undefined;
  await e?.close();
}

function ocrRunner(langs: string, maxPixels: number): OcrRunner {
  return {
    prepare: (src: OcrSource) => prepareForOcr(src, maxPixels),
    read: (img: OcrImage, timeoutMs: number) => readPage(engine(langs), img, { langs, timeoutMs }),
    holdRaster: async (maxWaitMs: number) => {
      const release = await gate.acquire(maxWaitMs);
      // The step's dead pixels go before the next holder decodes its own (reclaim.ts).
      return () => {
        reclaimGarbage();
        release();
      };
    },
  };
}

export default async function extract(req: ExtractRequest): Promise<ExtractResult> {
  // The pool's memory governor maps documents to threads (to weigh and end the heaviest).
  req.started?.postMessage({ threadId } satisfies ThreadStarted);
  req.started?.close();
  try {
    return await extractAt(req, 0);
  } finally {
    // The document's file bytes and pixels are garbage now: not left under the next document.
    reclaimGarbage();
  }
}

/** One file; depth > 0 for an entry of an archive or an attachment of a mail (see containers.ts). */
async function extractAt(req: ExtractRequest, depth: number): Promise<ExtractResult> {
  const deadline = new Deadline(req.limits.docTimeoutMs);
  let contentType = req.contentType ?? 'application/octet-stream';
  try {
    const kind = await detectKind(req.path, req.name, req.contentType);
    contentType = contentTypeOf(kind, req.name);
    const common = { limits: req.limits, deadline, ocr: ocrRunner(req.ocrLangs, req.limits.maxPixels), wantThumbnail: req.wantThumbnail };
    if (kind === 'pdf') {
      return { contentType, ...(await extractPdf(req.path, common)) };
    }
    if (kind === 'image') {
      const [{ format, ...r }, metadata] = await Promise.all([extractImage(req.path, common), imageMetadata(req.path)]);
      return { contentType: format ? contentTypeOf('image', req.name, format) : contentType, ...r, ...(metadata ? { metadata } : {}) };
    }
    if (CONTAINER_KINDS.has(kind)) {
      const read = (path: string, name: string, limits: ExtractLimits, d: number) => extractAt({ ...req, path, name, limits, wantThumbnail: false, contentType: undefined }, d);
      return { contentType, ...(await extractContainer(req.path, kind as ContainerKind, { limits: req.limits, deadline, depth, read })) };
    }
    if (kind === 'docuworks') {
      // No reader exists outside DocuWorks itself: the file is found by name and S3 facts, and says where to open it.
      return { contentType, text: '', truncated: false, pages: 0, ocrPages: 0, status: 'unsupported', error: 'DocuWorks documents are indexed by name only: open them in DocuWorks', metadata: { openWith: 'DocuWorks' } };
    }
    if (kind === 'unknown') {
      return { contentType, text: '', truncated: false, pages: 0, ocrPages: 0, status: 'unsupported', error: `unsupported file type (${req.name}${req.contentType ? `, ${req.contentType}` : ''})` };
    }
    const r = await extractDocument(req.path, kind, req.limits);
    const cut = truncate(r.text, req.limits.maxChars);
    const truncated = Boolean(r.truncated) || cut.truncated;
    // Cut text is a partial document, as for PDFs and images.
    const status = truncated && r.status === 'ok' ? 'partial' : r.status;
    const error = r.error ?? (truncated ? `text cut at the limit of ${req.limits.maxChars} characters` : undefined);
    return { contentType, text: cut.text, truncated, pages: r.pages, ocrPages: 0, status, error, ...(r.metadata ? { metadata: r.metadata } : {}) };
  } catch (err) {
    return { contentType, text: '', truncated: false, pages: 0, ocrPages: 0, status: 'failed', error: `extraction failed: ${(err as Error)?.message ?? String(err)}` };
  }
}

/**
 * Loads this thread's modules (pdf.js, the canvas), so the first document does not pay for them. The
 * OCR engine itself starts on the first page that needs it: text-only workloads never pay for it.
 */
export async function warmUp(): Promise<WarmUpResult> {
  loadCanvas();
  await import('pdfjs-dist/legacy/build/pdf.mjs');
  const { threadId } = await import('node:worker_threads');
  return { warm: true, threadId };
}

// The entry keeps the contract in src/workers/protocol.ts.
extract satisfies PoolTaskHandler<'default'>;
warmUp satisfies PoolTaskHandler<'warmUp'>;
