// Pages prepared for OCR: EXIF auto-orient, transparency flattened, one grey channel, normalised
// contrast, scaled to the resolution tesseract reads best at and bounded in pixels, skew straightened
// and small text enlarged (the image steps are in preprocess.ts). The engines (tesseract-cli.ts, tesseract-wasm.ts)
// and the page logic (page.ts) take the OcrImage this returns.
import sharp from 'sharp';
import type { OcrImage } from './engine.ts';
import { contrastingBackground, deskew, enlarge, stretchContrast, upscaleFor } from './preprocess.ts';

/** Resolution OCR reads at (measured on corpus/ocr: 200 dpi reads as well as 300 and is faster). */
export const OCR_DPI = 200;
/**
 * OCR input is scaled down to at most this many pixels (an A3 page at 200 dpi): the engine's memory
 * grows with the largest image it reads (tesseract's WASM heap never shrinks), so a 100-megapixel
 * photo would hold several hundred MB.
 */
export const MAX_OCR_PIXELS = 8_000_000;

// ---- preprocessing ----

export type OcrSource =
  | { kind: 'file'; path: string; page?: number }
  | { kind: 'raw'; data: Uint8Array; width: number; height: number; channels: 1 | 2 | 3 | 4; dpi: number };

/**
 * EXIF auto-orient, transparency flattened onto the colour that contrasts with the ink, one grey
 * channel, contrast stretched, scaled to OCR_DPI, small skew straightened, small text enlarged.
 * Scans carry their dpi; photos and screenshots (72/96 dpi or none) are enlarged when small.
 */
export async function prepareForOcr(src: OcrSource, maxPixels: number): Promise<OcrImage> {
  const input = src.kind === 'file'
    ? sharp(src.path, { page: src.page ?? 0, limitInputPixels: maxPixels, failOn: 'none' })
    : sharp(src.data, { raw: { width: src.width, height: src.height, channels: src.channels }, limitInputPixels: maxPixels });
  let density = src.kind === 'raw' ? src.dpi : 0;
  let width: number;
  let height: number;
  let alpha = src.kind === 'raw' && (src.channels === 2 || src.channels === 4);
  if (src.kind === 'file') {
    const meta = await input.metadata();
    density = meta.density ?? 0;
    alpha = meta.hasAlpha;
    const turned = (meta.orientation ?? 1) >= 5;
    width = turned ? meta.height : meta.width;
    height = turned ? meta.width : meta.height;
    if (meta.pageHeight && (meta.pages ?? 1) > 1) height = turned ? meta.width : meta.pageHeight;
  } else {
    width = src.width;
    height = src.height;
  }
  const { scale, dpi } = ocrScale(width, height, density);
  let pipeline = input;
  if (alpha) {
    // Light ink is flattened onto black, then inverted: tesseract reads dark text on light paper.
    const background = await contrastingBackground(input);
    pipeline = pipeline.flatten({ background });
    if (background === '#000000') pipeline = pipeline.negate({ alpha: false });
  }
  pipeline = pipeline.rotate().grayscale();
  if (scale !== 1) {
    pipeline = pipeline.resize({ width: Math.max(1, Math.round(width * scale)), kernel: scale < 1 ? 'lanczos3' : 'cubic' });
  }
  const { data, info } = await pipeline.extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  const stretched = await stretchContrast({ data, width: info.width, height: info.height });
  const { image: straight } = await deskew(stretched);
  const factor = upscaleFor(straight, MAX_OCR_PIXELS);
  const img = await enlarge(straight, factor);
  return { ...img, dpi: Math.round(dpi * factor) };
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
