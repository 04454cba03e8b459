// Image steps before OCR that keep text from getting lost: transparent backgrounds flattened onto the
// colour that contrasts with the ink, small text enlarged to a height tesseract reads, small skew
// (±10°) measured and straightened. Engine-agnostic: works on one grey channel.
import sharp from 'sharp';
import type { Sharp } from 'sharp';

/** A one-channel, 8-bit image. */
export type GreyImage = { data: Buffer; width: number; height: number };

/** Skew is measured on a copy this many pixels on its long side (enough for 0.1° on text lines). */
const SKEW_SAMPLE_SIDE = 1000;
/** Searched range and steps of the skew estimate, degrees. */
const MAX_SKEW = 10;
const COARSE_STEP = 0.5;
const FINE_STEP = 0.1;
/** Below this a page is left as it is (tesseract copes, and a resample only blurs). */
const MIN_DESKEW = 0.3;
/** The best angle must beat the unturned page's profile by this factor to count. */
const MIN_SKEW_GAIN = 1.05;
/**
 * Height of a text line's ink (ascender to descender, or a CJK glyph): lines shorter than MIN_LINE_PX
 * (a Latin x-height under ~10 px) are enlarged to TARGET_LINE_PX (x-height ~20 px). Japanese at
 * 150 dpi (22 px glyphs) reads as well as at 300 dpi: enlarging it only costs time (measured on
 * test/fixtures/ja-ocr).
 */
const TARGET_LINE_PX = 40;
const MIN_LINE_PX = 20;
/** Enlargement never goes past this factor (a thumbnail is not made readable by 10x). */
const MAX_UPSCALE = 4;

// ---- alpha ----

/**
 * The background to flatten a transparent image onto: white, unless the visible pixels (the ink) are
 * light, in which case black. Flattening dark text onto black (what a plain alpha drop does when
 * transparent pixels are stored as black) leaves nothing to read.
 */
export async function contrastingBackground(input: Sharp): Promise<'#ffffff' | '#000000'> {
  const { data, info } = await input
    .clone()
    .resize({ width: 256, height: 256, fit: 'inside', withoutEnlargement: true })
    .ensureAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const ch = info.channels;
  let weight = 0;
  let luma = 0;
  for (let i = 0; i + ch - 1 < data.length; i += ch) {
    const a = data[i + ch - 1]!;
    if (a === 0) continue;
    weight += a;
    luma += a * ((data[i]! * 77 + data[i + 1]! * 150 + data[i + 2]! * 29) >> 8);
  }
  if (weight === 0) return '#ffffff';
  return luma / weight > 140 ? '#000000' : '#ffffff';
}

// ---- contrast ----

/**
 * Contrast stretched from the darkest pixel to the 99th percentile of lightness: sharp's
 * normalise({ lower: 0, upper: 99 }) (the 0.1/99.9 once asked for: sharp takes whole numbers; 1/99
 * clipped the grain of grey scans into strokes, Japanese scans CER 3.9 -> 2.5 %). It converts the page
 * to Lab and back, which at one libvips thread costs 0.2-0.7 s on an A4 page, a fifth of its read; on a
 * page that already spans black to white (a bilevel scan, a rendered page) it changes nothing, so
 * that page skips it. OCR is sensitive to single grey levels on scans: an approximation of this step
 * in JS moved a Japanese scan's CER from 2.4 to 8.1 %, so scans keep sharp's own.
 */
export async function stretchContrast(img: GreyImage): Promise<GreyImage> {
  if (spansBlackToWhite(img.data)) return img;
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } })
    .normalise({ lower: 0, upper: 99 })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Darkest pixel at lightness < 1 (grey ≤ 3) and at least 1 % of the pixels pure white: normalise is the identity. */
export function spansBlackToWhite(data: Uint8Array): boolean {
  let darkest = 255;
  let white = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < darkest) darkest = v;
    else if (v === 255) white++;
  }
  return darkest <= 3 && white >= data.length * 0.01;
}

// ---- binarisation helpers ----

/** Otsu's threshold over a grey histogram. */
export function otsuThreshold(data: Uint8Array): number {
  const hist = new Float64Array(256);
  // Every 4th pixel of a big page gives the same histogram shape at a quarter of the cost.
  const step = data.length > 1_000_000 ? 4 : 1;
  let total = 0;
  for (let i = 0; i < data.length; i += step) {
    hist[data[i]!]!++;
    total++;
  }
  let sum = 0;
  for (let i = 0; i < 256; i++) sum += i * hist[i]!;
  let sumB = 0;
  let wB = 0;
  let best = 0;
  let threshold = 128;
  for (let t = 0; t < 256; t++) {
    wB += hist[t]!;
    if (wB === 0) continue;
    const wF = total - wB;
    if (wF === 0) break;
    sumB += t * hist[t]!;
    const mB = sumB / wB;
    const mF = (sum - sumB) / wF;
    const between = wB * wF * (mB - mF) ** 2;
    if (between > best) {
      best = between;
      threshold = t;
    }
  }
  return threshold;
}

/** Ink pixel coordinates (dark on light) of a copy shrunk by an integer step. */
function inkPoints(img: GreyImage, maxSide: number): { xs: Int32Array; ys: Int32Array; step: number } {
  const step = Math.max(1, Math.ceil(Math.max(img.width, img.height) / maxSide));
  const t = otsuThreshold(img.data);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let y = 0; y < img.height; y += step) {
    const row = y * img.width;
    for (let x = 0; x < img.width; x += step) {
      if (img.data[row + x]! < t) {
        xs.push(x / step);
        ys.push(y / step);
      }
    }
  }
  return { xs: Int32Array.from(xs), ys: Int32Array.from(ys), step };
}

// ---- skew ----

/**
 * Sharpness of the projection profiles at `deg`: the sum of squared counts of ink pixels per rotated
 * row plus per rotated column. Text lines (horizontal writing) or columns (vertical writing) turn into
 * tall, narrow peaks when the angle is right.
 */
function profileScore(xs: Int32Array, ys: Int32Array, deg: number, span: number): number {
  const r = (deg * Math.PI) / 180;
  const c = Math.cos(r);
  const s = Math.sin(r);
  const rows = new Int32Array(2 * span + 1);
  const cols = new Int32Array(2 * span + 1);
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    rows[Math.round(y * c - x * s) + span]!++;
    cols[Math.round(x * c + y * s) + span]!++;
  }
  let score = 0;
  for (let i = 0; i < rows.length; i++) score += rows[i]! * rows[i]! + cols[i]! * cols[i]!;
  return score;
}

/** The page's skew in degrees (positive: turned clockwise), within ±10°; 0 when there is no clear answer. */
export function estimateSkew(img: GreyImage): number {
  const { xs, ys } = inkPoints(img, SKEW_SAMPLE_SIDE);
  // Too little ink to have lines (a blank page, a logo).
  if (xs.length < 200) return 0;
  const span = Math.ceil(Math.hypot(img.width, img.height)) + 2;
  const score = (d: number) => profileScore(xs, ys, d, span);
  let best = 0;
  let bestScore = score(0);
  const flat = bestScore;
  for (let d = -MAX_SKEW; d <= MAX_SKEW + 1e-9; d += COARSE_STEP) {
    const v = score(d);
    if (v > bestScore) {
      bestScore = v;
      best = d;
    }
  }
  const coarse = best;
  for (let d = coarse - COARSE_STEP; d <= coarse + COARSE_STEP + 1e-9; d += FINE_STEP) {
    const v = score(d);
    if (v > bestScore) {
      bestScore = v;
      best = d;
    }
  }
  if (bestScore < flat * MIN_SKEW_GAIN) return 0;
  return Math.round(best * 10) / 10;
}

/** Turns the page straight when it is skewed by more than MIN_DESKEW; the corners come in white. */
export async function deskew(img: GreyImage): Promise<{ image: GreyImage; angle: number }> {
  const angle = estimateSkew(img);
  if (Math.abs(angle) < MIN_DESKEW) return { image: img, angle: 0 };
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } })
    .rotate(-angle, { background: '#ffffff' })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { image: { data, width: info.width, height: info.height }, angle };
}

// ---- text height ----

/**
 * Median height of the text lines' ink, from the horizontal projection (rows with ink, in runs), or
 * for vertical writing the median column width; 0 when the page shows no lines.
 */
export function medianLineHeight(img: GreyImage): number {
  const t = otsuThreshold(img.data);
  const rowInk = new Int32Array(img.height);
  const colInk = new Int32Array(img.width);
  // Row profile from every 4th column, column profile from every 4th row: each keeps full resolution
  // along the axis it measures, at half the cost of visiting every pixel.
  const step = 4;
  let ink = 0;
  let seen = 0;
  for (let y = 0; y < img.height; y++) {
    const row = y * img.width;
    const every = y % step === 0;
    for (let x = 0; x < img.width; x += every ? 1 : step) {
      const dark = img.data[row + x]! < t;
      if (x % step === 0) {
        seen++;
        if (dark) {
          rowInk[y]!++;
          ink++;
        }
      }
      if (every && dark) colInk[x]!++;
    }
  }
  // Mostly ink (a dark photo) or nearly none: no lines to measure.
  if (ink === 0 || ink > seen * 0.5) return 0;
  const rows = runs(rowInk);
  const cols = runs(colInk);
  const median = (a: number[]) => (a.length ? a.sort((p, q) => p - q)[a.length >> 1]! : 0);
  const r = median(rows);
  const c = median(cols);
  // Horizontal lines give row runs of one line each (column runs are letters, or the whole width).
  // Vertical columns whose glyphs do not line up across columns merge into one tall row run: then
  // the column runs (one glyph wide) are the measure.
  if (r && (!c || r <= 3 * c)) return r;
  return c;
}

function runs(profile: Int32Array): number[] {
  const out: number[] = [];
  let start = -1;
  for (let i = 0; i <= profile.length; i++) {
    const on = i < profile.length && profile[i]! > 0;
    if (on && start < 0) start = i;
    if (!on && start >= 0) {
      // A run of one or two rows is a rule or speck, not a line of text.
      if (i - start > 2) out.push(i - start);
      start = -1;
    }
  }
  return out;
}

/** Factor (≥ 1) that brings small text up to TARGET_LINE_PX, within MAX_UPSCALE and a pixel budget. */
export function upscaleFor(img: GreyImage, maxPixels: number): number {
  const h = medianLineHeight(img);
  if (!h || h >= MIN_LINE_PX) return 1;
  const budget = Math.sqrt(maxPixels / Math.max(1, img.width * img.height));
  return Math.max(1, Math.min(TARGET_LINE_PX / h, MAX_UPSCALE, budget));
}

export async function enlarge(img: GreyImage, factor: number): Promise<GreyImage> {
  if (factor <= 1) return img;
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 1 } })
    .resize({ width: Math.round(img.width * factor), kernel: 'cubic' })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
