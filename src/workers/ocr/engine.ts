// src/workers/ocr/: OCR inside a pool thread. This module is the seam: one interface, two engines
// (native tesseract CLI in tesseract-cli.ts, tesseract's WASM core in the thread in tesseract-wasm.ts),
// and what the format extractors (pdf.ts, image.ts) need from OCR whichever engine reads the page.
// Engines return raw text and confidence; page-level decisions (orientation, tidying) live in page.ts.
import { DeadlineError } from '../extract/result.ts';
import type { Release } from '../raster-gate.ts';
import type { OcrPage } from './page.ts';
import type { OcrSource } from './prepare.ts';

export type { OcrPage, OcrSource };

/** What the format extractors (pdf.ts, image.ts) need from OCR, in two steps, so a page's decoded pixels can be let go before the long recognition. */
export type OcrRunner = {
  prepare(src: OcrSource): Promise<OcrImage>;
  read(img: OcrImage, timeoutMs: number): Promise<OcrPage>;
  /** Held while a page's full-size pixels exist (decode to OCR-ready image): one big raster per process. */
  holdRaster?(maxWaitMs: number): Promise<Release>;
};

/** One channel, 8-bit grey, rows packed (stride = width). */
export type OcrImage = { data: Buffer; width: number; height: number; dpi: number };

/** tesseract --psm values used here: 3 auto layout, 4 one column, 5 vertical block, 6 uniform block, 7 one line, 11 sparse, 13 raw line. */
export type PageSegMode = 3 | 4 | 5 | 6 | 7 | 11 | 13;

export type OcrReadRequest = {
  /** tesseract codes joined by '+': 'eng+jpn', 'jpn_vert'. */
  langs: string;
  /** Default 3 (full automatic layout analysis, as the tesseract CLI does). */
  psm?: PageSegMode;
  timeoutMs: number;
};

export type OcrRead = {
  /** Text rebuilt from TSV: words joined by ' ', lines by '\n', paragraphs by a blank line. Not tidied. */
  text: string;
  /** Mean word confidence 0..100 (0 when there are no words). */
  confidence: number;
  words: number;
  /** Where the lines that were read sit on the image (pixel rows, top to bottom of their words of confidence ≥ 80). */
  lines?: Array<{ top: number; bottom: number }>;
};

/** Clockwise degrees to turn the image so it reads upright. */
export type Orientation = { rotation: 0 | 90 | 180 | 270; confidence: number; script: string };

export type OcrEngineKind = 'native' | 'wasm';
export type OcrModel = 'fast' | 'best';

export interface OcrEngine {
  readonly kind: OcrEngineKind;
  readonly model: OcrModel;
  read(img: OcrImage, req: OcrReadRequest): Promise<OcrRead>;
  /** Orientation and script detection (tesseract --psm 0); undefined when OSD cannot tell. */
  orientation(img: OcrImage, timeoutMs: number): Promise<Orientation | undefined>;
  close(): Promise<void>;
}

/** A page overran its OCR deadline. */
export class OcrTimeoutError extends DeadlineError {}

/** The engine could not read the page (crashed, refused the image, missing data). Retrying the same page will not help. */
export class OcrEngineError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OcrEngineError';
  }
}

/** What a pool thread needs to build its engine (travels in piscina's workerData). */
export type OcrEngineSpec = {
  kind: OcrEngineKind;
  model: OcrModel;
  recycleAfterPages: number;
  maxHeapMb: number;
  /** native in a pool thread: the main thread's OcrSpawner runs the CLI (see spawner.ts). */
  viaMain?: boolean;
};

// ---- TSV (both engines return it, so text and confidence are computed one way) ----

/**
 * tesseract's TSV: level page block par line word left top width height conf text. Word rows (level 5)
 * carry text and confidence; a new line, paragraph or block starts a new output line / blank line.
 */
/** A word this confident places its line in OcrRead.lines. */
const CONFIDENT_WORD = 80;

export function parseTsv(tsv: string): OcrRead {
  const out: string[] = [];
  let key = '';
  let para = '';
  let line: string[] = [];
  let confSum = 0;
  let words = 0;
  const lines: Array<{ top: number; bottom: number }> = [];
  let boxed = false;
  const flush = () => {
    if (line.length) out.push(line.join(' '));
    line = [];
  };
  for (const row of tsv.split('\n')) {
    const f = row.split('\t');
    if (f[0] !== '5' || f.length < 12) continue;
    const text = f.slice(11).join('\t').trim();
    const conf = Number(f[10]);
    if (!text || !(conf >= 0)) continue;
    const paraKey = `${f[1]}.${f[2]}.${f[3]}`;
    const lineKey = `${paraKey}.${f[4]}`;
    if (lineKey !== key) {
      flush();
      if (para && paraKey !== para) out.push('');
      key = lineKey;
      para = paraKey;
      boxed = false;
    }
    // Only confident words place a line: a title misread as garbage ("SMES" for 会議議事録, confidence
    // ~30-60) must not pass for a title that was read.
    if (conf >= CONFIDENT_WORD) {
      if (!boxed) lines.push({ top: Number(f[7]), bottom: Number(f[7]) + Number(f[9]) });
      boxed = true;
      const box = lines[lines.length - 1]!;
      box.top = Math.min(box.top, Number(f[7]));
      box.bottom = Math.max(box.bottom, Number(f[7]) + Number(f[9]));
    }
    line.push(text);
    confSum += conf;
    words++;
  }
  flush();
  return { text: out.join('\n'), confidence: words ? Math.round(confSum / words) : 0, words, lines };
}
