// src/workers/ocr/: OCR inside a pool thread. This module is the seam the extractors use; the engine
// behind it is tesseract.js (tesseract-wasm.ts).
//
// What the format extractors (pdf.ts, image.ts) need from OCR, whichever engine reads the page.
import type { OcrImage, OcrPage, OcrSource } from './tesseract-wasm.ts';
import type { Release } from '../raster-gate.ts';

export type { OcrImage, OcrPage, OcrSource };

/** OCR in two steps, so a page's decoded pixels can be let go before the long recognition. */
export type OcrRunner = {
  prepare(src: OcrSource): Promise<OcrImage>;
  read(img: OcrImage, timeoutMs: number): Promise<OcrPage>;
  /** Held while a page's full-size pixels exist (decode to OCR-ready image): one big raster per process. */
  holdRaster?(maxWaitMs: number): Promise<Release>;
};
