// WebP thumbnails about 400 px wide of a document's first page or image.
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import type { OcrSource } from '../ocr/prepare.ts';

export const THUMBNAIL_WIDTH = 400;
const WEBP_QUALITY = 70;

function finish(s: Sharp): Promise<Uint8Array> {
  return s
    .resize({ width: THUMBNAIL_WIDTH, withoutEnlargement: true })
    .flatten({ background: '#ffffff' })
    .webp({ quality: WEBP_QUALITY })
    .toBuffer()
    .then((b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
}

/** From raw pixels (a rendered page or an embedded scan). */
export function thumbnailFromRaw(src: Extract<OcrSource, { kind: 'raw' }>): Promise<Uint8Array> {
  return finish(sharp(src.data, { raw: { width: src.width, height: src.height, channels: src.channels } }));
}

/** From the first page/frame of an image file, upright per its EXIF orientation. */
export function thumbnailFromFile(path: string, maxPixels: number): Promise<Uint8Array> {
  return finish(sharp(path, { page: 0, limitInputPixels: maxPixels, failOn: 'none' }).rotate());
}
