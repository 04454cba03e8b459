// tesseract.js owned by one pool thread: a recogniser started on the first page that needs OCR, kept
// warm between pages, stopped after an idle spell (a text-only workload never pays its ~110 MB), and
// recycled after N pages or when its WASM heap grows past a bound (the heap never shrinks); a per-page
// deadline that terminates the tesseract worker thread; pages turned 90/180/270 read upright.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { createWorker, OEM, PSM } from 'tesseract.js';
import type { Worker as TesseractWorker } from 'tesseract.js';
import { removeCjkSpaces, tidyText, withTimeout, DeadlineError } from '../extract/result.ts';

const require = createRequire(import.meta.url);

/** Resolution OCR reads at (measured on corpus/ocr: 200 dpi reads as well as 300 and is faster). */
export const OCR_DPI = 200;
/**
 * OCR input is scaled down to at most this many pixels (an A3 page at 200 dpi): tesseract's WASM heap
 * grows with the largest image it has read and never shrinks, so a 100-megapixel photo would keep
 * several hundred MB per thread.
 */
export const MAX_OCR_PIXELS = 8_000_000;
/** A recogniser unused this long is stopped; the next page starts a fresh one (~1 s). */
export const OCR_IDLE_MS = 60_000;
/** Below this mean confidence a page may be turned: try reading it turned. */
const LOW_CONFIDENCE = 60;
/** A turned trial this confident is taken without trying the other turns. */
const GOOD_CONFIDENCE = 80;
/** A turn must read this much more confidently than the page as given. */
const MIN_GAIN = 15;
/** Orientation trials read a copy with this long side (~100 dpi A4): a quarter of the pixels. */
const TRIAL_MAX_SIDE = 1200;
const START_TIMEOUT_MS = 30_000;

/** A one-channel, 8-bit image ready for OCR. */
export type OcrImage = { data: Buffer; width: number; height: number; dpi: number };

export type OcrPage = { text: string; confidence: number; rotation: number };

export type OcrOptions = {
  langs: string;
  recycleAfterPages: number;
  /** Recycle the recogniser once its WASM heap (V8 external memory) is above this. */
  maxHeapMb: number;
  startTimeoutMs?: number;
  /** Stop the recogniser after this long without a page (0: never). */
  idleMs?: number;
};

export class OcrTimeoutError extends DeadlineError {}

// ---- language data ----

/** The small LSTM-only integer models (what tesseract.js itself would download). */
const MODEL_DIR = '4.0.0_best_int';

/**
 * tesseract.js reads every language from one langPath, while each @tesseract.js-data package has its
 * own folder: link the needed files into a private folder once per process.
 */
export function prepareLangDir(langs: string[]): string {
  const dir = path.join(os.tmpdir(), `filesearch-langdata-${process.getuid?.() ?? 'u'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const lang of new Set(langs)) {
    const src = langDataFile(lang);
    const link = path.join(dir, `${lang}.traineddata.gz`);
    let current: string | undefined;
    try {
      current = readlinkSync(link);
    } catch {
      current = undefined;
    }
    if (current === src) continue;
    if (current !== undefined) unlinkSync(link);
    try {
      symlinkSync(src, link);
    } catch (err) {
      // Another thread made the same link between our check and now.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return dir;
}

function langDataFile(lang: string): string {
  let pkgDir: string;
  try {
    pkgDir = path.dirname(require.resolve(`@tesseract.js-data/${lang}/package.json`));
  } catch {
    throw new Error(`OCR language ${JSON.stringify(lang)} has no data: install @tesseract.js-data/${lang}`);
  }
  const file = path.join(pkgDir, MODEL_DIR, `${lang}.traineddata.gz`);
  if (!existsSync(file)) throw new Error(`OCR language data missing: ${file}`);
  return file;
}

// ---- preprocessing ----

export type OcrSource =
  | { kind: 'file'; path: string; page?: number }
  | { kind: 'raw'; data: Uint8Array; width: number; height: number; channels: 1 | 2 | 3 | 4; dpi: number };

/**
 * EXIF auto-orient, one grey channel, normalised contrast, scaled to OCR_DPI. Scans carry their dpi;
 * photos and screenshots (72/96 dpi or none) are enlarged when small so text is tall enough to read.
 */
export async function prepareForOcr(src: OcrSource, maxPixels: number): Promise<OcrImage> {
  const input = src.kind === 'file'
    ? sharp(src.path, { page: src.page ?? 0, limitInputPixels: maxPixels, failOn: 'none' })
    : sharp(src.data, { raw: { width: src.width, height: src.height, channels: src.channels }, limitInputPixels: maxPixels });
  let density = src.kind === 'raw' ? src.dpi : 0;
  let width: number;
  let height: number;
  if (src.kind === 'file') {
    const meta = await input.metadata();
    density = meta.density ?? 0;
    const turned = (meta.orientation ?? 1) >= 5;
    width = turned ? meta.height : meta.width;
    height = turned ? meta.width : meta.height;
    if (meta.pageHeight && (meta.pages ?? 1) > 1) height = turned ? meta.width : meta.pageHeight;
  } else {
    width = src.width;
    height = src.height;
  }
  const { scale, dpi } = ocrScale(width, height, density);
  let pipeline = input.rotate().grayscale().normalise();
  if (scale !== 1) {
    pipeline = pipeline.resize({ width: Math.max(1, Math.round(width * scale)), kernel: scale < 1 ? 'lanczos3' : 'cubic' });
  }
  const { data, info } = await pipeline.extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, dpi };
}

/** Scale factor and the dpi to tell tesseract; never more than MAX_OCR_PIXELS out. */
export function ocrScale(width: number, height: number, density: number): { scale: number; dpi: number } {
  const cap = Math.min(1, Math.sqrt(MAX_OCR_PIXELS / Math.max(1, width * height)));
  if (density >= 150) {
    const scale = Math.min(density > OCR_DPI ? OCR_DPI / density : 1, cap);
    return { scale, dpi: Math.round(density * scale) };
  }
  // Unknown density (photo, screenshot): enlarge small images up to 2x so glyphs are ~20+ px tall.
  const longSide = Math.max(width, height);
  const scale = longSide < 1600 ? Math.min(2, 1600 / longSide) : cap;
  // Its real density is unknown either way: tell tesseract the density it reads best at.
  return { scale, dpi: OCR_DPI };
}

/** Portable graymap: tesseract's Leptonica reads it without decoding work (PNG encode costs more than it saves). */
function toPgm(img: OcrImage): Uint8Array {
  const header = Buffer.from(`P5\n${img.width} ${img.height}\n255\n`, 'latin1');
  const out = new Uint8Array(header.length + img.data.length);
  out.set(header, 0);
  out.set(img.data, header.length);
  return out;
}

async function rotateImage(img: OcrImage, degrees: number): Promise<OcrImage> {
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } })
    .rotate(degrees)
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, dpi: img.dpi };
}

async function downscale(img: OcrImage, maxSide: number): Promise<OcrImage> {
  const long = Math.max(img.width, img.height);
  if (long <= maxSide) return img;
  const scale = maxSide / long;
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } })
    .resize({ width: Math.round(img.width * scale) })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, dpi: Math.round(img.dpi * scale) };
}

// ---- the engine ----

type Started = { worker: TesseractWorker; failed: Promise<never>; pages: number; dpi: number };

/** Starts a tesseract.js worker from local data only; rejects on error or after a timeout (never hangs). */
async function startWorker(langs: string, langPath: string, timeoutMs: number): Promise<Started> {
  let fail: (err: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {});
  const errorHandler = (e: unknown) => fail(new Error(`tesseract: ${String(e)}`));
  const creating = createWorker(langs, OEM.LSTM_ONLY, {
    langPath,
    cacheMethod: 'none',
    gzip: true,
    errorHandler,
  });
  const worker = await withTimeout(Promise.race([creating, failed]), timeoutMs, `tesseract did not start within ${timeoutMs} ms (${langs})`);
  // The tesseract thread may die (WASM out of memory): fail the page in flight instead of hanging.
  const thread = (worker as unknown as { worker?: import('node:worker_threads').Worker }).worker;
  thread?.on('error', (err) => fail(new Error(`tesseract thread failed: ${err.message}`)));
  thread?.on('exit', (code) => fail(new Error(`tesseract thread exited (code ${code})`)));
  // The models are parsed into the engine at init; the unpacked files in its in-memory FS are dead weight.
  for (const lang of langs.split('+')) await worker.FS('unlink', [`./${lang}.traineddata`]).catch(() => {});
  return { worker, failed, pages: 0, dpi: 0 };
}

async function heapMb(w: TesseractWorker): Promise<number> {
  const thread = (w as unknown as { worker?: { getHeapStatistics?: () => Promise<{ external_memory?: number; used_heap_size: number }> } }).worker;
  const stats = await thread?.getHeapStatistics?.();
  return stats ? ((stats.external_memory ?? 0) + stats.used_heap_size) / 1048576 : 0;
}

export class OcrEngine {
  readonly langs: string;
  readonly #opts: Required<OcrOptions>;
  readonly #langPath: string;
  #rec: Started | undefined;
  #starting: Promise<Started> | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #busy = 0;
  /** Pages read by all recognisers so far, and how many times one was recycled or killed. */
  pagesRead = 0;
  recycled = 0;

  constructor(opts: OcrOptions) {
    this.#opts = { startTimeoutMs: START_TIMEOUT_MS, idleMs: OCR_IDLE_MS, ...opts };
    this.langs = opts.langs;
    this.#langPath = prepareLangDir(opts.langs.split('+'));
  }

  /** Starts the recogniser now (warm-up), so the first page does not pay for it. */
  async warm(): Promise<void> {
    await this.#recogniser();
  }

  get warmNow(): boolean {
    return this.#rec !== undefined;
  }

  /**
   * Reads one page. Overrunning timeoutMs terminates the recogniser (a fresh one starts for the next
   * page) and throws OcrTimeoutError.
   */
  async recognize(img: OcrImage, timeoutMs: number): Promise<OcrPage> {
    this.#busy++;
    clearTimeout(this.#idleTimer);
    try {
      return await this.#recognize(img, timeoutMs);
    } finally {
      if (--this.#busy === 0) this.#armIdleTimer();
    }
  }

  /** After idleMs without a page the recogniser is stopped: its WASM heap goes back to the system. */
  #armIdleTimer(): void {
    if (!this.#opts.idleMs || !this.#rec) return;
    this.#idleTimer = setTimeout(() => {
      const rec = this.#rec;
      if (rec && this.#busy === 0) {
        this.#rec = undefined;
        void rec.worker.terminate().catch(() => {});
      }
    }, this.#opts.idleMs);
    // An idle recogniser must not keep the thread (or a test process) alive.
    this.#idleTimer.unref();
  }

  async #recognize(img: OcrImage, timeoutMs: number): Promise<OcrPage> {
    const started = Date.now();
    const first = await this.#read(img, timeoutMs);
    let best: OcrPage = { ...first, rotation: 0 };
    if (first.confidence < LOW_CONFIDENCE) {
      const rotation = await this.#orientation(img, first.confidence, timeoutMs - (Date.now() - started));
      if (rotation) {
        const upright = await rotateImage(img, rotation);
        const second = await this.#read(upright, timeoutMs - (Date.now() - started));
        if (second.confidence > first.confidence) best = { ...second, rotation };
      }
    }
    await this.#maybeRecycle();
    return best;
  }

  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    const rec = this.#rec ?? (await this.#starting?.catch(() => undefined));
    this.#rec = undefined;
    this.#starting = undefined;
    await rec?.worker.terminate().catch(() => {});
  }

  async #recogniser(): Promise<Started> {
    if (this.#rec) return this.#rec;
    this.#starting ??= startWorker(this.langs, this.#langPath, this.#opts.startTimeoutMs);
    try {
      this.#rec = await this.#starting;
      // tesseract.js leaves tesseract at PSM 6 (one uniform block), which reads across newspaper
      // columns; PSM 3 is full automatic layout analysis, as the tesseract CLI does.
      await this.#rec.worker.setParameters({ tessedit_pageseg_mode: PSM.AUTO });
      return this.#rec;
    } finally {
      this.#starting = undefined;
    }
  }

  async #read(img: OcrImage, timeoutMs: number): Promise<{ text: string; confidence: number }> {
    if (timeoutMs <= 0) throw new OcrTimeoutError('page OCR deadline reached');
    const rec = await this.#recogniser();
    const job = (async () => {
      if (rec.dpi !== img.dpi) {
        await rec.worker.setParameters({ user_defined_dpi: String(img.dpi) });
        rec.dpi = img.dpi;
      }
      return rec.worker.recognize(toPgm(img) as unknown as Buffer);
    })();
    try {
      const res = await withTimeout(Promise.race([job, rec.failed]), timeoutMs, `page OCR took longer than ${timeoutMs} ms`);
      rec.pages++;
      this.pagesRead++;
      return { text: removeCjkSpaces(tidyText(res.data.text ?? '')), confidence: res.data.confidence ?? 0 };
    } catch (err) {
      // A timed-out or dead recogniser is not reused: terminating frees its thread and WASM heap.
      await this.#discard(rec);
      if (err instanceof DeadlineError) throw new OcrTimeoutError(err.message);
      throw err;
    }
  }

  /**
   * Which way is up, by reading a small copy turned 180/90/270 and keeping the most confident. (OSD
   * needs tesseract's legacy engine in a second worker: ~100 MB per thread, over the memory budget.)
   */
  async #orientation(img: OcrImage, firstConfidence: number, timeoutMs: number): Promise<number> {
    const started = Date.now();
    const small = await downscale(img, TRIAL_MAX_SIDE);
    let best = { rotation: 0, confidence: firstConfidence };
    for (const rotation of [180, 90, 270]) {
      const left = timeoutMs - (Date.now() - started);
      if (left <= 0) break;
      const trial = await this.#read(await rotateImage(small, rotation), left);
      if (trial.confidence > best.confidence) best = { rotation, confidence: trial.confidence };
      if (best.confidence >= GOOD_CONFIDENCE) break;
    }
    return best.confidence >= firstConfidence + MIN_GAIN ? best.rotation : 0;
  }

  async #maybeRecycle(): Promise<void> {
    const rec = this.#rec;
    if (!rec) return;
    if (rec.pages >= this.#opts.recycleAfterPages || (await heapMb(rec.worker).catch(() => 0)) > this.#opts.maxHeapMb) {
      await this.#discard(rec);
    }
  }

  async #discard(rec: Started): Promise<void> {
    if (this.#rec === rec) this.#rec = undefined;
    this.recycled++;
    await rec.worker.terminate().catch(() => {});
  }
}

/** One engine per pool thread, replaced when the requested languages change. */
let threadEngine: OcrEngine | undefined;

export function ocrEngineFor(opts: OcrOptions): OcrEngine {
  if (threadEngine && threadEngine.langs !== opts.langs) {
    void threadEngine.close();
    threadEngine = undefined;
  }
  threadEngine ??= new OcrEngine(opts);
  return threadEngine;
}
