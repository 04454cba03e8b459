// Generates the Japanese OCR corpus (test/fixtures/ja-ocr): the business texts of ja-ocr-texts.ts set
// on A5 pages with Noto CJK (Debian fonts-noto-cjk), horizontal and vertical (縦書き), at 150-300 dpi,
// each in four variants — clean, a JPEG "scan" (blur, noise, grey paper), skewed 2°, turned 90°/270° —
// with the ground truth beside every page (NAME.txt) and manifest.json saying what each page is.
// Deterministic (seeded noise), so re-running it reproduces the committed files.
//   node scripts/make-ja-ocr-corpus.ts [outDir]
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import type { SKRSContext2D } from '@napi-rs/canvas';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { prng } from '../test/helpers/chaos.ts';
import { JA_DOCS } from './ja-ocr-texts.ts';
import type { JaDoc } from './ja-ocr-texts.ts';

const FONT_DIR = '/usr/share/fonts/opentype/noto';
const FAMILY = { sans: 'Noto Sans CJK JP', serif: 'Noto Serif CJK JP' } as const;
const BODY_PT = 11;
const TITLE_PT = 18;
const MARGIN_MM = 15;
/** Line pitch (horizontal) and column pitch (vertical), in ems of the body size. */
const PITCH = 1.75;
const A5_MM = { short: 148, long: 210 };

export type JaVariant = 'clean' | 'scan' | 'skewed' | 'rotated';
export type JaPage = { file: string; truth: string; doc: string; writing: JaDoc['writing']; variant: JaVariant; dpi: number; rotation: number; skew: number };

const mmToPx = (mm: number, dpi: number) => Math.round((mm / 25.4) * dpi);
const ptToPx = (pt: number, dpi: number) => (pt / 72) * dpi;

// ---- layout ----

type Line = { text: string; align: 'start' | 'end' | 'centre'; title: boolean };

/** Breaks a line at the measure; closing punctuation never starts a line (it hangs instead). */
function wrap(text: string, fits: (s: string) => boolean): string[] {
  const out: string[] = [];
  let cur = '';
  for (const ch of text) {
    if (cur && !fits(cur + ch) && !'、。）」』'.includes(ch)) {
      out.push(cur);
      cur = '';
    }
    cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

function parse(doc: JaDoc): Line[] {
  const lines: Line[] = [{ text: doc.title, align: doc.writing === 'horizontal' ? 'centre' : 'start', title: true }];
  for (const raw of doc.lines) {
    const align = raw.startsWith('>') ? 'end' : raw.startsWith('^') ? 'centre' : 'start';
    lines.push({ text: align === 'start' ? raw : raw.slice(1), align, title: false });
  }
  return lines;
}

function font(doc: JaDoc, line: Line, dpi: number): string {
  return `${line.title ? 'bold ' : ''}${ptToPx(line.title ? TITLE_PT : BODY_PT, dpi).toFixed(1)}px "${FAMILY[doc.font]}"`;
}

/** Sets the page; returns the canvas and the text as set (one line per set line or column). */
function render(doc: JaDoc): { grey: Buffer; width: number; height: number; truth: string } {
  const dpi = doc.dpi;
  const vertical = doc.writing === 'vertical';
  // Vertical letters are set across a landscape sheet.
  const width = mmToPx(vertical ? A5_MM.long : A5_MM.short, dpi);
  const height = mmToPx(vertical ? A5_MM.short : A5_MM.long, dpi);
  const margin = mmToPx(MARGIN_MM, dpi);
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#000';
  const body = ptToPx(BODY_PT, dpi);
  const set: string[] = [];
  if (!vertical) {
    let y = margin;
    for (const line of parse(doc)) {
      ctx.font = font(doc, line, dpi);
      const size = ptToPx(line.title ? TITLE_PT : BODY_PT, dpi);
      const measure = width - 2 * margin;
      for (const part of wrap(line.text, (s) => ctx.measureText(s).width <= measure)) {
        y += size * (line.title ? 1.2 : 1) + (line.title ? 0 : (PITCH - 1) * body);
        const w = ctx.measureText(part).width;
        const x = line.align === 'end' ? width - margin - w : line.align === 'centre' ? (width - w) / 2 : margin;
        ctx.fillText(part, x, y);
        set.push(part);
      }
      if (line.title) y += body;
    }
    if (y > height - margin) throw new Error(`${doc.id}: text runs off the page`);
  } else {
    let x = width - margin;
    for (const line of parse(doc)) {
      ctx.font = font(doc, line, dpi);
      const size = ptToPx(line.title ? TITLE_PT : BODY_PT, dpi);
      const measure = height - 2 * margin;
      for (const part of wrap(line.text, (s) => [...s].length * size <= measure)) {
        x -= size + (PITCH - 1) * body;
        const len = [...part].length * size;
        const top = line.title ? margin + 2 * body : line.align === 'end' ? height - margin - len : line.align === 'centre' ? (height - len) / 2 : margin;
        setColumn(ctx, part, x + size / 2, top, size);
        set.push(part);
      }
      if (line.title) x -= body;
    }
    if (x < margin) throw new Error(`${doc.id}: text runs off the page`);
  }
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const grey = Buffer.alloc(width * height);
  for (let i = 0; i < grey.length; i++) grey[i] = rgba[i * 4]!;
  return { grey, width, height, truth: set.join('\n') + '\n' };
}

/** Glyphs set sideways in vertical writing (long vowel mark, brackets, dashes). */
const SIDEWAYS = new Set([...'ー－―〜～…‥「」『』（）【】〔〕〈〉《》：=＝-']);
/** Comma and full stop sit in the top right of their cell in vertical writing. */
const CORNER = new Set([...'、。，．']);
const SMALL_KANA = new Set([...'ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ']);

/** One column, top to bottom, centred on cx: CJK fonts' em box is the cell. */
function setColumn(ctx: SKRSContext2D, text: string, cx: number, top: number, size: number): void {
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  let cy = top + size / 2;
  for (const ch of text) {
    ctx.save();
    ctx.translate(cx, cy);
    if (SIDEWAYS.has(ch)) ctx.rotate(Math.PI / 2);
    else if (CORNER.has(ch)) ctx.translate(size * 0.6, -size * 0.55);
    else if (SMALL_KANA.has(ch)) ctx.translate(size * 0.1, -size * 0.1);
    if (ch !== '　' && ch !== ' ') ctx.fillText(ch, 0, 0);
    ctx.restore();
    cy += ch === ' ' ? size / 2 : size;
  }
  ctx.textAlign = 'start';
  ctx.textBaseline = 'alphabetic';
}

// ---- variants ----

/** A copier's scan: grey paper, soft focus, grain, JPEG at the quality office scanners use. */
async function scanned(grey: Buffer, width: number, height: number, dpi: number, seed: number): Promise<Buffer> {
  const soft = await sharp(grey, { raw: { width, height, channels: 1 } })
    .blur(0.6 * (dpi / 200))
    .linear(0.78, 40) // black 40, paper 239
    .extractChannel(0)
    .raw()
    .toBuffer();
  const rnd = prng(seed); // seeded: the committed JPEGs are reproducible
  for (let i = 0; i < soft.length; i++) {
    // Sum of three uniforms: near-Gaussian grain, sigma ~10.
    const n = (rnd() + rnd() + rnd() - 1.5) * 20;
    soft[i] = Math.max(0, Math.min(255, soft[i]! + n));
  }
  return sharp(soft, { raw: { width, height, channels: 1 } }).toColourspace('b-w').jpeg({ quality: 50 }).withDensity(dpi).toBuffer();
}

async function png(img: Sharp, dpi: number): Promise<Buffer> {
  return img.png({ compressionLevel: 9, palette: false }).withDensity(dpi).toBuffer();
}

export async function makeCorpus(outDir: string): Promise<JaPage[]> {
  for (const [file, family] of [['NotoSansCJK-Regular.ttc', FAMILY.sans], ['NotoSansCJK-Bold.ttc', FAMILY.sans], ['NotoSerifCJK-Regular.ttc', FAMILY.serif], ['NotoSerifCJK-Bold.ttc', FAMILY.serif]] as const) {
    if (!GlobalFonts.registerFromPath(path.join(FONT_DIR, file), family)) throw new Error(`font missing: ${FONT_DIR}/${file} (Debian fonts-noto-cjk)`);
  }
  mkdirSync(outDir, { recursive: true });
  for (const f of readdirSync(outDir)) if (/\.(png|jpg|txt|json)$/.test(f)) rmSync(path.join(outDir, f));
  const pages: JaPage[] = [];
  for (const [i, doc] of JA_DOCS.entries()) {
    const { grey, width, height, truth } = render(doc);
    const raw = () => sharp(grey, { raw: { width, height, channels: 1 } });
    const turn = i % 2 === 0 ? 90 : 270;
    const skew = i % 2 === 0 ? 2 : -2;
    const variants: [JaVariant, string, Buffer, number, number][] = [
      ['clean', 'png', await png(raw(), doc.dpi), 0, 0],
      ['scan', 'jpg', await scanned(grey, width, height, doc.dpi, 1000 + i), 0, 0],
      ['skewed', 'jpg', await raw().rotate(skew, { background: '#fff' }).toColourspace('b-w').jpeg({ quality: 75 }).withDensity(doc.dpi).toBuffer(), 0, skew],
      ['rotated', 'png', await png(raw().rotate(turn), doc.dpi), turn, 0],
    ];
    for (const [variant, ext, bytes, rotation, skewDeg] of variants) {
      const name = `${doc.id}-${variant}`;
      writeFileSync(path.join(outDir, `${name}.${ext}`), bytes);
      writeFileSync(path.join(outDir, `${name}.txt`), truth);
      pages.push({ file: `${name}.${ext}`, truth: `${name}.txt`, doc: doc.id, writing: doc.writing, variant, dpi: doc.dpi, rotation, skew: skewDeg });
    }
  }
  writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(pages, null, 2) + '\n');
  return pages;
}

if (import.meta.main) {
  const out = process.argv[2] ?? new URL('../test/fixtures/ja-ocr/', import.meta.url).pathname;
  const pages = await makeCorpus(out);
  console.log(`${pages.length} pages in ${out}`);
}
