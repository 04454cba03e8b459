// What a photo or scan says about itself: EXIF (date taken, orientation, camera, software, artist,
// description) through sharp's header read and exif-reader, and PNG text chunks (Title, Author). Only
// the header is read: no pixels are decoded. Never throws: an unreadable header costs only its fields.
import exifReader from 'exif-reader';
import sharp from 'sharp';
import type { Metadata } from 'sharp';
import type { DocMetadata } from '../../types.ts';
import { cleanField, compactMetadata, isoDate, splitAuthors } from './metadata.ts';

export async function imageMetadata(path: string): Promise<DocMetadata | undefined> {
  let meta: Metadata;
  try {
    meta = await sharp(path, { limitInputPixels: false }).metadata();
  } catch {
    return undefined;
  }
  let exif: ReturnType<typeof exifReader> | undefined;
  if (meta.exif) {
    try {
      exif = exifReader(meta.exif);
    } catch {
      exif = undefined;
    }
  }
  const img = exif?.Image ?? {};
  const photo = exif?.Photo ?? {};
  const png = Object.fromEntries((meta.comments ?? []).map((c) => [c.keyword.toLowerCase(), c.text]));
  const make = cleanField(img.Make);
  const model = cleanField(img.Model);
  // Most cameras repeat the make in the model ("Canon" / "Canon EOS 5D").
  const camera = model && make && !model.toLowerCase().startsWith(make.toLowerCase().split(' ')[0]!) ? `${make} ${model}` : (model ?? make);
  const orientation = meta.orientation ?? (typeof img.Orientation === 'number' ? img.Orientation : undefined);
  return compactMetadata({
    title: cleanField(png.title) ?? cleanField(img.ImageDescription) ?? cleanField(xpString(img.XPTitle)),
    authors: splitAuthors(png.author) ?? splitAuthors(img.Artist) ?? splitAuthors(xpString(img.XPAuthor)),
    subject: cleanField(png.description) ?? cleanField(xpString(img.XPSubject)),
    taken: isoDate(photo.DateTimeOriginal) ?? isoDate(photo.DateTimeDigitized),
    modified: isoDate(img.DateTime),
    orientation: orientation && orientation >= 1 && orientation <= 8 ? orientation : undefined,
    camera,
    application: cleanField(img.Software),
  });
}

/** Windows' XP* tags are UTF-16LE bytes. */
function xpString(v: unknown): string | undefined {
  if (v instanceof Uint8Array) return new TextDecoder('utf-16le').decode(v).replace(/\0+$/, '');
  if (Array.isArray(v)) return new TextDecoder('utf-16le').decode(Uint8Array.from(v as number[])).replace(/\0+$/, '');
  return typeof v === 'string' ? v : undefined;
}
