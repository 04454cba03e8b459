// Everyday images that once came back empty from OCR, made here from text drawn with @napi-rs/canvas:
// small photos, EXIF-turned JPEGs, transparent PNGs, JFIF densities in dots/cm, netpbm files, skewed
// pages and a low-resolution scan inside a PDF.
import { createCanvas } from '@napi-rs/canvas';
import sharp from 'sharp';
import type { Sharp } from 'sharp';

export const TRAP_LINES = ['Invoice 4711 was paid in full', 'Delivery to Hamburg on Monday'];

/** Words every trap image must give back. */
export const TRAP_WORDS = ['Invoice', '4711', 'paid', 'Delivery', 'Hamburg', 'Monday'];

export type Grey = { data: Buffer; width: number; height: number };

/** Dark text on white (or `ink`/`paper` as given), `size` px font, one channel. */
export function textImage(opts: { size?: number; lines?: string[]; pad?: number } = {}): Grey {
  const size = opts.size ?? 22;
  const lines = opts.lines ?? TRAP_LINES;
  const pad = opts.pad ?? Math.round(size * 0.8);
  const probe = createCanvas(10, 10).getContext('2d');
  probe.font = `${size}px sans-serif`;
  const width = Math.ceil(Math.max(...lines.map((l) => probe.measureText(l).width)) + 2 * pad);
  const height = Math.ceil(lines.length * size * 1.5 + 2 * pad);
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = '#000';
  ctx.font = `${size}px sans-serif`;
  lines.forEach((l, i) => ctx.fillText(l, pad, pad + size * (1.1 + 1.5 * i)));
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const data = Buffer.alloc(width * height);
  for (let i = 0; i < data.length; i++) data[i] = rgba[i * 4]!;
  return { data, width, height };
}

export function sharpOf(g: Grey): Sharp {
  return sharp(g.data, { raw: { width: g.width, height: g.height, channels: 1 } });
}

/** A JPEG whose pixels are stored turned and whose EXIF orientation (3, 6, 8) turns them back. */
export async function exifTurnedJpeg(g: Grey, orientation: 3 | 6 | 8): Promise<Buffer> {
  // Orientation 6 means "turn 90° clockwise to display": the stored pixels are turned 270°.
  const stored = { 3: 180, 6: 270, 8: 90 }[orientation];
  const turned = await sharpOf(g).rotate(stored).toColourspace('srgb').png().toBuffer();
  return sharp(turned).jpeg({ quality: 90 }).withMetadata({ orientation }).toBuffer();
}

/** Text as opaque pixels on a fully transparent background whose colour channels are all zero. */
export async function transparentPng(g: Grey, ink: 'dark' | 'light'): Promise<Buffer> {
  const rgba = Buffer.alloc(g.width * g.height * 4);
  for (let i = 0; i < g.data.length; i++) {
    const alpha = 255 - g.data[i]!; // coverage of the ink
    const v = ink === 'dark' ? 0 : 255;
    rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = alpha ? v : 0;
    rgba[i * 4 + 3] = alpha;
  }
  return sharp(rgba, { raw: { width: g.width, height: g.height, channels: 4 } }).png().toBuffer();
}

/** A JPEG whose JFIF header gives its density in dots per centimetre (units = 2). */
export async function jpegWithDotsPerCm(g: Grey, dotsPerCm: number): Promise<Buffer> {
  const jpeg = await sharpOf(g).jpeg({ quality: 92 }).toBuffer();
  // sharp writes no JFIF segment: put one after SOI. APP0: FFE0, length 16, "JFIF\0", version 1.1,
  // units 2 (dots/cm), Xdensity, Ydensity, no thumbnail.
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x02, 0, 0, 0, 0, 0x00, 0x00]);
  app0.writeUInt16BE(dotsPerCm, 12);
  app0.writeUInt16BE(dotsPerCm, 14);
  return Buffer.concat([jpeg.subarray(0, 2), app0, jpeg.subarray(2)]);
}

/** P1..P6 from a grey image; bitmaps threshold at mid-grey (1 = black, as netpbm defines). */
export function netpbm(g: Grey, magic: 'P1' | 'P2' | 'P3' | 'P4' | 'P5' | 'P6'): Buffer {
  const { width, height, data } = g;
  const header = `${magic}\n# made by a test\n${width} ${height}\n${magic === 'P1' || magic === 'P4' ? '' : '255\n'}`;
  const ink = (i: number) => (data[i]! < 128 ? 1 : 0);
  let body: Buffer;
  if (magic === 'P1') {
    const rows: string[] = [];
    for (let y = 0; y < height; y++) rows.push(Array.from({ length: width }, (_, x) => ink(y * width + x)).join(' '));
    body = Buffer.from(rows.join('\n') + '\n', 'latin1');
  } else if (magic === 'P4') {
    const stride = Math.ceil(width / 8);
    body = Buffer.alloc(stride * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (ink(y * width + x)) body[y * stride + (x >> 3)]! |= 0x80 >> (x & 7);
  } else if (magic === 'P2' || magic === 'P3') {
    const per = magic === 'P3' ? 3 : 1;
    const vals: string[] = [];
    for (let i = 0; i < data.length; i++) for (let c = 0; c < per; c++) vals.push(String(data[i]));
    body = Buffer.from(vals.join(' ') + '\n', 'latin1');
  } else if (magic === 'P5') {
    body = Buffer.from(data);
  } else {
    body = Buffer.alloc(data.length * 3);
    for (let i = 0; i < data.length; i++) body[i * 3] = body[i * 3 + 1] = body[i * 3 + 2] = data[i]!;
  }
  return Buffer.concat([Buffer.from(header, 'latin1'), body]);
}

/** A page of text turned by `degrees` (positive: clockwise) on white. */
export async function skewedPng(g: Grey, degrees: number): Promise<Buffer> {
  return sharpOf(g).rotate(degrees, { background: '#fff' }).png().toBuffer();
}
