// One page through an engine: read it as given; only when that read is poor, ask orientation
// detection (OSD, one call) which way is up and read it turned, read it as vertical Japanese
// (jpn_vert) when Japanese is among the languages, and try the other languages first (tesseract
// leans on the first language: eng+jpn reads a Japanese-only page as Latin garbage). A lone title
// line that layout analysis left out is read on its own (layout.ts). Both engines take the same
// decisions; a page that reads well pays for one read (and a one-line read when it has a title).
import sharp from 'sharp';
import type { OcrEngine, OcrImage, OcrRead } from './engine.ts';
import { OcrTimeoutError } from './engine.ts';
import { removeCjkSpaces, tidyText } from '../extract/result.ts';
import { mayBeVertical, missingTitle, readVertical } from './layout.ts';

export type OcrPage = { text: string; confidence: number; rotation: number };

/** Below this mean confidence (or with almost no words) the page may be turned: ask OSD. */
export const LOW_CONFIDENCE = 60;
const FEW_WORDS = 3;
/** OSD's orientation confidence below this is a guess (tesseract prints ~2 for a coin toss; upright text gives 5-20). */
const MIN_OSD_CONFIDENCE = 1.5;
/** OSD reads a copy with this long side at most (~100 dpi A4): its answer does not need more. */
export const OSD_MAX_SIDE = 1400;

export type PageStats = { osdCalls: number; osdSeconds: number; turned: number; reordered: number; vertical: number; titles: number };

/** Counts for the bench: how often and how long orientation detection ran. */
export const pageStats: PageStats = { osdCalls: 0, osdSeconds: 0, turned: 0, reordered: 0, vertical: 0, titles: 0 };

export async function readPage(engine: OcrEngine, img: OcrImage, opts: { langs: string; timeoutMs: number }): Promise<OcrPage> {
  const deadline = Date.now() + opts.timeoutMs;
  const left = () => {
    const ms = deadline - Date.now();
    if (ms <= 0) throw new OcrTimeoutError(`page OCR took longer than ${opts.timeoutMs} ms`);
    return ms;
  };
  const first = await engine.read(img, { langs: opts.langs, timeoutMs: left() });
  let best = { read: first, rotation: 0, vertical: false };
  if (needsOrientation(first)) {
    const t0 = performance.now();
    const osd = await engine.orientation(await downscale(img, OSD_MAX_SIDE), left());
    pageStats.osdCalls++;
    pageStats.osdSeconds += (performance.now() - t0) / 1000;
    const upright = osd && osd.rotation !== 0 && osd.confidence >= MIN_OSD_CONFIDENCE ? osd.rotation : 0;
    const turnedImg = upright ? await rotateImage(img, upright) : img;
    if (upright) {
      const turned = await engine.read(turnedImg, { langs: opts.langs, timeoutMs: left() });
      if (turned.confidence > first.confidence) {
        best = { read: turned, rotation: upright, vertical: false };
        pageStats.turned++;
      }
    }
    // Vertical Japanese reads as garbage across (and OSD calls it upright): read it down the columns.
    if (mayBeVertical(opts.langs) && needsOrientation(best.read)) {
      const vertical = await readVertical(engine, turnedImg, best.read, left());
      pageStats.vertical++;
      if (vertical) best = { read: vertical, rotation: upright, vertical: true };
    }
  }
  const reordered = otherLanguageFirst(opts.langs);
  if (reordered && needsOrientation(best.read)) {
    const img2 = best.rotation ? await rotateImage(img, best.rotation) : img;
    const second = await engine.read(img2, { langs: reordered, timeoutMs: left() });
    pageStats.reordered++;
    if (second.confidence > best.read.confidence) best = { read: second, rotation: best.rotation, vertical: false };
  }
  let text = best.read.text;
  if (!best.vertical && !needsOrientation(best.read)) {
    // A lone title line in large type is often left out by layout analysis: read it on its own.
    const upright = best.rotation ? await rotateImage(img, best.rotation) : img;
    const title = await missingTitle(engine, upright, text, opts.langs, left(), best.read.lines);
    if (title) {
      text = `${title}\n${text}`;
      pageStats.titles++;
    }
  }
  return { text: removeCjkSpaces(tidyText(text)), confidence: best.read.confidence, rotation: best.rotation };
}

/** 'eng+jpn' -> 'jpn+eng' (the second language leads); undefined for one language. */
export function otherLanguageFirst(langs: string): string | undefined {
  const codes = langs.split('+');
  if (codes.length < 2) return undefined;
  return [codes[1]!, codes[0]!, ...codes.slice(2)].join('+');
}

export function needsOrientation(read: OcrRead): boolean {
  return read.confidence < LOW_CONFIDENCE || read.words < FEW_WORDS;
}

/** The page turned clockwise by a multiple of 90 degrees. */
export async function rotateImage(img: OcrImage, degrees: number): Promise<OcrImage> {
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } })
    .rotate(degrees)
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, dpi: img.dpi };
}

/** A copy with the long side at most maxSide (the same image when already that small). */
export async function downscale(img: OcrImage, maxSide: number): Promise<OcrImage> {
  const long = Math.max(img.width, img.height);
  if (long <= maxSide) return img;
  const scale = maxSide / long;
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } })
    .resize({ width: Math.max(1, Math.round(img.width * scale)) })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, dpi: Math.max(1, Math.round(img.dpi * scale)) };
}
