// What pdf.js may allocate for one page, decided before it allocates it. Two holes in pdf.js 5.6:
//
// 1. Images: `maxImageSize` is checked against an image's own Width x Height, but the image is then
//    decoded at the size of its /SMask or /Mask when that is larger (PDFImage.drawWidth/drawHeight):
//    a 2 x 2 image with a 1-bit 34 862 x 4 332 soft mask becomes 600 MB of RGBA. pdf.js has no option
//    for this, so its worker module is patched as it loads (a module load hook, this thread only):
//    before an image is decoded, its size *with* its masks is checked against maxImageSize, and the
//    page's decoded image bytes (as RGBA) against a per-page budget carried in `canvasMaxAreaInBytes`
//    (an option pdf.js only uses with OffscreenCanvas, which Node does not have). An image over
//    either is left out of the page, as pdf.js itself does for an oversized image, and reported.
// 2. Canvases: every transparency group and soft mask gets a scratch canvas as large as the page
//    render, and soft-mask canvases live until the page is done: 40 nested groups are 40+ page-sized
//    canvases. `BudgetedCanvasFactory` counts the bytes of live canvases and refuses one past the
//    budget, so the render fails (and says so) instead of growing without bound.
// 3. Knowing whether a page paints an image meant building its operator list, which decodes every image
//    on it (up to the page budget), even for a page that will never be read (past MAX_OCR_PAGES).
//    `probePageImages` builds the list with each image only noted, not decoded (the same patched spot).
import { registerHooks } from 'node:module';
import { createRequire } from 'node:module';
import { loadCanvas } from './canvas.ts';
import type { NapiCanvas } from './canvas.ts';
import { reclaimGarbage } from '../reclaim.ts';
import { memoryHeadroom } from '../memory-gauge.ts';

const require = createRequire(import.meta.url);
const WORKER_FILE = /\/pdfjs-dist\/legacy\/build\/pdf\.worker\.mjs$/;
const BYTES_PER_PIXEL = 4;
/**
 * An image or canvas takes about this many times its RGBA bytes while it is made (measured: a 12.7 MP
 * JPEG, 51 MB as RGBA, peaked at 138 MB of buffers while decoding; images.pdf's five images, 52 MB as
 * RGBA, at 208 MB; a 36 MB pattern canvas added ~80 MB): it is left out unless the process has that
 * much room under the governor's ceiling.
 */
const DECODE_COPIES = 3;
/** A render checks the room for its next paths every this many paths it makes... */
const PATHS_PER_CHECK = 1000;
/**
 * ...each holding about this much native memory until the render ends (measured: issue12295.pdf, 75 000
 * paths on one page, +125 MB besides its heap; issue12810.pdf, 38 500 paths, +120 MB).
 */
const PATH_BYTES = 2048;
/** Smaller images and canvases are not weighed against the memory left (they are not the spikes). */
const MEMORY_CHECK_BYTES = 1024 * 1024;
const MiB = 1024 * 1024;

/** Where the patched check reports an image it left out (pdf.js runs in this thread in Node). */
const REPORT = Symbol.for('filesearch.pdfjs.imageLeftOut');
/** Set while a probe runs: the patched evaluator notes the page's images there instead of decoding them. */
const PROBE = Symbol.for('filesearch.pdfjs.imageProbe');
type Probe = { pageIndex: number; painted: boolean };

export type ImageLeftOut = { page: number; width: number; height: number; reason: 'pixels' | 'page-bytes' | 'memory' };

// Inserted right after pdf.js's own maxImageSize check in PartialEvaluator.buildPaintImageXObject.
const ANCHOR = `      const msg = "Image exceeded maximum allowed size and was removed.";
      if (!ignoreErrors) {
        throw new Error(msg);
      }
      warn(msg);
      return;
    }
`;
const CHECK = `    if (__filesearchImageProbed(this) || __filesearchImageLeftOut(this, dict, w, h)) {
      return;
    }
`;
// Module scope of the bundle: BaseStream and PartialEvaluator are its own classes.
const HELPER = `
const __filesearchPageBytes = new WeakMap();
function __filesearchImageProbed(evaluator) {
  // A Type3 font's glyphs are compiled once per document and kept: never without their images.
  const probe = globalThis[Symbol.for("filesearch.pdfjs.imageProbe")];
  if (!probe || probe.pageIndex !== evaluator.pageIndex || evaluator.parsingType3Font) return false;
  probe.painted = true;
  return true;
}
function __filesearchImageLeftOut(evaluator, dict, w, h) {
  let dw = w, dh = h;
  for (const key of ["SMask", "Mask"]) {
    const m = dict.get(key);
    if (!(m instanceof BaseStream) || !m.dict) continue;
    const mw = m.dict.get("W", "Width"), mh = m.dict.get("H", "Height");
    if (typeof mw === "number" && mw > dw) dw = mw;
    if (typeof mh === "number" && mh > dh) dh = mh;
  }
  const { maxImageSize, canvasMaxAreaInBytes } = evaluator.options;
  const bytes = dw * dh * ${BYTES_PER_PIXEL};
  let reason = null;
  let root = null;
  let used = 0;
  if (maxImageSize !== -1 && dw * dh > maxImageSize) {
    reason = "pixels";
  } else {
    if (canvasMaxAreaInBytes > 0) {
      // One budget per operator list: clones for forms and patterns share their root evaluator.
      root = evaluator;
      while (Object.getPrototypeOf(root) !== PartialEvaluator.prototype) root = Object.getPrototypeOf(root);
      used = (__filesearchPageBytes.get(root) ?? 0) + bytes;
      if (used > canvasMaxAreaInBytes) reason = "page-bytes";
    }
    if (!reason && bytes >= ${MEMORY_CHECK_BYTES}) {
      // About to decode: the page's earlier dead buffers go first (reclaim.ts), then the process must have room.
      globalThis[Symbol.for("filesearch.reclaimGarbage")]?.();
      const room = globalThis[Symbol.for("filesearch.memoryHeadroom")]?.() ?? Infinity;
      if (bytes * ${DECODE_COPIES} > room) reason = "memory";
    }
  }
  if (!reason) {
    if (root) __filesearchPageBytes.set(root, used);
    return false;
  }
  globalThis[Symbol.for("filesearch.pdfjs.imageLeftOut")]?.({ page: evaluator.pageIndex + 1, width: dw, height: dh, reason });
  return true;
}
`;

/** The patched source; throws if this pdf.js is not the one the patch was written for. */
export function patchWorkerSource(source: string): string {
  const at = source.indexOf(ANCHOR);
  if (at < 0 || source.indexOf(ANCHOR, at + 1) >= 0 || !source.includes('class PartialEvaluator') || !source.includes('class BaseStream')) {
    const version = (require('pdfjs-dist/package.json') as { version: string }).version;
    throw new Error(`pdfjs-limits: pdf.js ${version} does not have the image size check this patch extends; review src/extract/pdfjs-limits.ts`);
  }
  const end = at + ANCHOR.length;
  return source.slice(0, end) + CHECK + source.slice(end) + HELPER;
}

let installed = false;

/** Patches pdf.js's worker module when this thread loads it. Call before the first getDocument. */
export function installPdfjsLimits(): void {
  if (installed) return;
  installed = true;
  (globalThis as Record<symbol, unknown>)[Symbol.for('filesearch.reclaimGarbage')] = () => reclaimGarbage();
  (globalThis as Record<symbol, unknown>)[Symbol.for('filesearch.memoryHeadroom')] = memoryHeadroom;
  registerHooks({
    load(url, context, nextLoad) {
      const loaded = nextLoad(url, context);
      if (!WORKER_FILE.test(url) || loaded.source === undefined) return loaded;
      return { ...loaded, source: patchWorkerSource(String(loaded.source)), shortCircuit: true };
    },
  });
}

/** Receives the images pdf.js leaves out until the returned function is called. */
export function onImageLeftOut(listener: (img: ImageLeftOut) => void): () => void {
  const g = globalThis as Record<symbol, unknown>;
  g[REPORT] = listener;
  return () => {
    if (g[REPORT] === listener) delete g[REPORT];
  };
}

type ProbedPage = {
  pageNumber: number;
  getOperatorList(): Promise<{ fnArray: number[] }>;
  cleanup(): boolean;
};

/**
 * Whether the page paints an image (one of `imageOps`), found without decoding any: the operator list
 * is built with each image only noted, then dropped (page.cleanup), so that a later render or
 * getOperatorList of this page builds the real one. Images pdf.js already holds decoded (an image
 * shared by several pages) appear in the list as usual and count too.
 */
export async function probePaintsImage(page: ProbedPage, imageOps: ReadonlySet<number>): Promise<boolean> {
  const g = globalThis as Record<symbol, unknown>;
  const probe: Probe = { pageIndex: page.pageNumber - 1, painted: false };
  g[PROBE] = probe;
  try {
    const list = await page.getOperatorList();
    return probe.painted || list.fnArray.some((fn) => imageOps.has(fn));
  } finally {
    if (g[PROBE] === probe) delete g[PROBE];
    page.cleanup();
  }
}

export function describeImageLeftOut(img: ImageLeftOut, limits: { maxPixels: number; maxPageImageBytes: number }): string {
  const size = `${img.width}x${img.height}`;
  if (img.reason === 'pixels') return `page ${img.page}: an image of ${size} pixels (with its mask) was left out, over the limit of ${limits.maxPixels} pixels`;
  if (img.reason === 'memory') return `page ${img.page}: memory: an image of ${size} pixels was left out, decoding it would take the process past its memory budget (MEMORY_LIMIT_MB)`;
  return `page ${img.page}: an image of ${size} pixels was left out, the page's decoded images would pass ${Math.round(limits.maxPageImageBytes / MiB)} MB (MAX_PAGE_IMAGE_BYTES)`;
}

export class CanvasBudgetError extends Error {
  override name = 'CanvasBudgetError';
}

type PathClass = new (...args: never[]) => object;

/**
 * Makes pdf.js's paths (each fill, stroke, clip and glyph is a canvas Path2D, kept until the page is
 * done) stop a render when the process has no room for more: a page of 75 000 vector paths took 125 MB
 * of native memory that no budget saw. Every PATHS_PER_CHECK paths the room for the next ones is
 * checked; without it the render in progress is told to stop (onPathsOverBudget): it is cancelled the
 * way pdf.js cancels a render, because a throw from inside pdf.js's drawing escapes as an unhandled
 * rejection when the operator list is still streaming. Call once pdf.js has loaded (it sets
 * globalThis.Path2D).
 */
export function installPathBudget(headroom: () => number = memoryHeadroom): void {
  const g = globalThis as { Path2D?: PathClass };
  const Base = g.Path2D;
  if (!Base || BUDGETED_PATHS.has(Base)) return;
  let made = 0;
  const Budgeted = class BudgetedPath2D extends (Base as new (...args: unknown[]) => object) {
    constructor(...args: unknown[]) {
      super(...args);
      if (++made % PATHS_PER_CHECK === 0 && pathsOverBudget && headroom() < PATHS_PER_CHECK * PATH_BYTES * DECODE_COPIES) pathsOverBudget();
    }
  };
  BUDGETED_PATHS.add(Budgeted);
  g.Path2D = Budgeted;
}
const BUDGETED_PATHS = new WeakSet<object>();
let pathsOverBudget: (() => void) | undefined;

/** `stop` is called (from a Path2D being made) when the render in progress has no room for more paths; returns the unregister. */
export function onPathsOverBudget(stop: () => void): () => void {
  pathsOverBudget = stop;
  return () => {
    if (pathsOverBudget === stop) pathsOverBudget = undefined;
  };
}

/** What a render stopped for its paths says. */
export const PATHS_OVER_BUDGET = "memory: the page's vector paths would take the process past its memory budget (MEMORY_LIMIT_MB)";

type CanvasAndContext = { canvas: NapiCanvas | null; context: unknown };

/**
 * A pdf.js CanvasFactory (getDocument's `CanvasFactory` option) whose live canvases stay under `maxBytes`,
 * and whose big canvases are made only while the process has room for them (`headroom`, bytes).
 */
export function budgetedCanvasFactory(maxBytes: number, headroom: () => number = memoryHeadroom) {
  const { createCanvas } = loadCanvas();
  return class BudgetedCanvasFactory {
    live = 0;
    readonly maxBytes = maxBytes;
    /**
     * Set by a refusal. pdf.js cancels the render on the error and, while unwinding its graphics state,
     * asks for canvases again: those get 1 x 1 pixel, because a second throw from inside the cancel
     * would escape the render's promise (and end the thread). Cleared when a new page canvas is made.
     */
    #refused = false;

    create(width: number, height: number): CanvasAndContext {
      if (!(width > 0 && height > 0)) throw new Error('Invalid canvas size');
      if (this.#refused && this.live > 0) {
        width = height = 1;
        this.live += BYTES_PER_PIXEL;
      } else {
        this.#refused = false;
        this.#reserve(width * height * BYTES_PER_PIXEL);
      }
      const canvas = createCanvas(width, height);
      return { canvas, context: canvas.getContext('2d') };
    }

    reset(cc: CanvasAndContext, width: number, height: number): void {
      if (!cc.canvas) throw new Error('Canvas is not specified');
      if (!(width > 0 && height > 0)) throw new Error('Invalid canvas size');
      const before = cc.canvas.width * cc.canvas.height * BYTES_PER_PIXEL;
      this.live -= before;
      this.#reserve(width * height * BYTES_PER_PIXEL, before);
      cc.canvas.width = width;
      cc.canvas.height = height;
    }

    destroy(cc: CanvasAndContext): void {
      if (!cc.canvas) throw new Error('Canvas is not specified');
      this.live = Math.max(0, this.live - cc.canvas.width * cc.canvas.height * BYTES_PER_PIXEL);
      cc.canvas.width = cc.canvas.height = 0;
      cc.canvas = null;
      cc.context = null;
    }

    /** Counts `bytes` as live, or throws; `restore` goes back on the count when refused (a reset). */
    #reserve(bytes: number, restore = 0): void {
      let refusal: string | undefined;
      if (this.live + bytes > this.maxBytes) {
        refusal = `rendering needs more than ${Math.round(this.maxBytes / MiB)} MB of canvases (MAX_PAGE_IMAGE_BYTES)`;
      } else if (bytes >= MEMORY_CHECK_BYTES && bytes * DECODE_COPIES > headroom()) {
        refusal = `memory: a canvas of ${Math.round(bytes / MiB)} MB would take the process past its memory budget (MEMORY_LIMIT_MB)`;
      }
      if (refusal) {
        this.live += restore;
        this.#refused = true;
        throw new CanvasBudgetError(refusal);
      }
      this.live += bytes;
    }
  };
}
