// Page layouts a plain horizontal read loses: vertical Japanese (縦書き), read with the vertical model
// when the horizontal read is poor, and the short title line (請求書, 会議議事録) that tesseract's layout
// analysis drops as a lone line of large type. Both work through any engine with a `read` of the
// OcrEngine shape (native CLI or WASM), so the two engines take the same decisions.
import sharp from 'sharp';
import { editDistance } from '../extract/result.ts';
import { otsuThreshold } from './preprocess.ts';

type Image = { data: Buffer; width: number; height: number; dpi: number };
type Read = { text: string; confidence: number; words: number; lines?: Array<{ top: number; bottom: number }> };
/** The part of the OcrEngine interface used here. */
export type PageReader = { readonly kind?: string; read(img: Image, req: { langs: string; psm?: 3 | 4 | 5 | 6 | 7 | 11 | 13; timeoutMs: number }): Promise<Read> };

/** A horizontal read below this mean confidence may be vertical writing (measured: 18-30 vs 85-93). */
export const VERTICAL_TRY_BELOW = 60;
/** The vertical read must beat the horizontal one by this many points to be kept. */
const VERTICAL_MIN_GAIN = 10;

/** True when the languages include Japanese, so vertical writing is possible. */
export function mayBeVertical(langs: string): boolean {
  return langs.split('+').some((l) => l === 'jpn' || l === 'jpn_vert');
}

/**
 * The vertical reading of a page that read poorly across: `jpn_vert` with page segmentation 5 (one
 * block of vertical text), which keeps the short title column that mode 3 sometimes drops. Returns
 * the read when it is clearly better than `current`, else undefined.
 */
export async function readVertical(engine: PageReader, img: Image, current: Read, timeoutMs: number): Promise<Read | undefined> {
  const vertical = await engine.read(img, { langs: 'jpn_vert', psm: 5, timeoutMs });
  return vertical.confidence >= current.confidence + VERTICAL_MIN_GAIN ? vertical : undefined;
}

// ---- the title line ----

/** A first line counts as a title when it is this much taller than the body lines or stands apart. */
const TITLE_HEIGHT_RATIO = 1.25;
const TITLE_GAP_RATIO = 1.5;
/** Band text this close (edit share) to the start of the page's text was read already. */
const SAME_TEXT = 0.34;

type Band = { top: number; bottom: number };

/** Runs of rows that hold ink (text lines of an upright, straight page). */
export function lineBands(img: { data: Buffer | Uint8Array; width: number; height: number }): Band[] {
  const t = otsuThreshold(img.data);
  // Ignore the outer 2 % (scanner edges, punch holes) and rows with a speck or two.
  const x0 = Math.floor(img.width * 0.02);
  const x1 = Math.ceil(img.width * 0.98);
  const minInk = Math.max(2, Math.floor(img.width / 500));
  const bands: Band[] = [];
  let start = -1;
  for (let y = 0; y <= img.height; y++) {
    let ink = 0;
    if (y < img.height) {
      const row = y * img.width;
      // Every 2nd pixel: a line's ink is wide, a speck is not, either way.
      for (let x = x0; x < x1; x += 2) if (img.data[row + x]! < t) ink += 2;
    }
    const on = ink >= minInk;
    if (on && start < 0) start = y;
    if (!on && start >= 0) {
      if (y - start >= 4) bands.push({ top: start, bottom: y });
      start = -1;
    }
  }
  return bands;
}

/**
 * The first text line when it looks like a title (taller than the body lines, or set apart from
 * them), else undefined. Horizontal writing only.
 */
export function titleBand(img: { data: Buffer | Uint8Array; width: number; height: number }): Band | undefined {
  const bands = lineBands(img);
  if (bands.length < 3) return undefined;
  const heights = bands.slice(1).map((b) => b.bottom - b.top).sort((a, b) => a - b);
  const body = heights[heights.length >> 1]!;
  const first = bands[0]!;
  const gap = bands[1]!.top - first.bottom;
  const gaps = bands.slice(1, -1).map((b, i) => bands[i + 2]!.top - b.bottom).sort((a, b) => a - b);
  const bodyGap = gaps[gaps.length >> 1] ?? gap;
  const tall = first.bottom - first.top >= body * TITLE_HEIGHT_RATIO;
  const apart = gap >= Math.max(bodyGap, body * 0.5) * TITLE_GAP_RATIO;
  // A title is a line, not a picture: at most ~3 body lines tall.
  if (first.bottom - first.top > body * 3.5) return undefined;
  return tall || apart ? first : undefined;
}

/** First and last+1 column with ink within the band's rows. */
function inkColumns(img: { data: Buffer | Uint8Array; width: number }, band: Band): [number, number] {
  const t = otsuThreshold(img.data);
  let left = img.width;
  let right = 0;
  for (let y = band.top; y < band.bottom; y++) {
    const row = y * img.width;
    for (let x = 0; x < img.width; x++) {
      if (img.data[row + x]! < t) {
        if (x < left) left = x;
        if (x >= right) right = x + 1;
      }
    }
  }
  return left < right ? [left, right] : [0, img.width];
}

/**
 * Reads the title line alone (page segmentation 7, one line; 13, raw line, when 7 finds none) when it stands out and the page's text
 * does not already start with it, and returns the text to put first; undefined when nothing is missing.
 */
export async function missingTitle(engine: PageReader, img: Image, pageText: string, langs: string, timeoutMs: number, readLines?: Read['lines']): Promise<string | undefined> {
  const band = titleBand(img);
  if (!band) return undefined;
  // The page's own read already has a line across most of the band: the title is in its text. Saves
  // the extra call (a native tesseract process loads its models again: ~0.5-1 s for eng+jpn).
  const bandHeight = band.bottom - band.top;
  if (readLines?.some((l) => Math.min(l.bottom, band.bottom) - Math.max(l.top, band.top) >= bandHeight * 0.5)) return undefined;
  const pad = Math.round((band.bottom - band.top) * 0.4);
  const top = Math.max(0, band.top - pad);
  const height = Math.min(img.height, band.bottom + pad) - top;
  // Only the line's ink and a margin: the corners a straightened page was filled with leave faint
  // edges that make tesseract's one-line mode find no line at all.
  const [inkLeft, inkRight] = inkColumns(img, band);
  const left = Math.max(0, inkLeft - pad * 2);
  const width = Math.min(img.width, inkRight + pad * 2) - left;
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } })
    .extract({ left, top, width, height })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const crop = { data, width: info.width, height: info.height, dpi: img.dpi };
  // Native: the line is read with the page's own script only: a native call loads every language it is
  // given (eng+jpn 0.35 s, jpn 0.2 s before reading a 40-px line). WASM keeps one language set loaded
  // and would load another twice (0.1-0.3 s each): it reads the line with the page's languages.
  const lineLangs = engine.kind === 'native' ? titleLanguages(langs, pageText) : langs;
  let line = await engine.read(crop, { langs: lineLangs, psm: 7, timeoutMs });
  // One-line mode finds no line in some straightened crops; raw-line mode (no line finding) reads them.
  if (line.words === 0) line = await engine.read(crop, { langs: lineLangs, psm: 13, timeoutMs });
  const title = line.text.trim();
  if (!title || line.confidence < VERTICAL_TRY_BELOW) return undefined;
  return alreadyRead(title, pageText) ? undefined : title;
}

/**
 * The languages a title line of this page is read with: Japanese alone on a page that reads mostly in
 * Japanese script, the other languages alone on a page with (almost) none, else all of `langs`.
 */
export function titleLanguages(langs: string, pageText: string): string {
  const codes = langs.split('+');
  if (codes.length < 2 || !codes.includes('jpn')) return langs;
  const japanese = pageText.match(/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/gu)?.length ?? 0;
  const latin = pageText.match(/\p{Script=Latin}/gu)?.length ?? 0;
  if (japanese >= 4 * latin && japanese > 0) return 'jpn';
  const others = codes.filter((c) => c !== 'jpn' && c !== 'jpn_vert');
  if (latin >= 20 * japanese && latin > 0 && others.length) return others.join('+');
  return langs;
}

/** Is `line` (about) one of the first lines of `text`? Whitespace ignored. */
export function alreadyRead(line: string, text: string): boolean {
  const squash = (s: string) => s.normalize('NFKC').replace(/\s+/g, '');
  const want = squash(line);
  if (!want) return true;
  const lines = text.split('\n').map(squash).filter(Boolean).slice(0, 3);
  return lines.some((l) => l.includes(want) || editShare(want, l.slice(0, want.length + 2)) <= SAME_TEXT);
}

function editShare(a: string, b: string): number {
  return editDistance(a, b) / Math.max(1, [...a].length);
}
