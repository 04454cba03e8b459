// What photos and scans say about themselves: EXIF date taken, orientation, camera, artist, software
// and description, through the whole extract worker (OCR off). The JPEGs are written here with sharp.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import extract from '../src/workers/extract-worker.ts';
import type { ExtractLimits } from '../src/types.ts';

const LIMITS: ExtractLimits = { maxOcrPages: 0, maxChars: 10_000, docTimeoutMs: 20_000, pageTimeoutMs: 10_000, maxPixels: 50_000_000 };
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'image-metadata-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function photo(name: string, ifd0: Record<string, string>, taken?: string, orientation?: number): Promise<string> {
  let img = sharp({ create: { width: 64, height: 48, channels: 3, background: '#888' } }).withExif({ IFD0: ifd0, ...(taken ? { IFD2: { DateTimeOriginal: taken } } : {}) });
  if (orientation) img = img.withMetadata({ orientation });
  const path = join(dir, name);
  await writeFile(path, await img.jpeg().toBuffer());
  return path;
}

test('EXIF: date taken, orientation, camera, artist, software and description become typed metadata', async () => {
  const path = await photo('inspection.jpg', { Make: 'Canon', Model: 'Canon EOS R5', Artist: 'Sato Hanako', Software: 'Firmware 1.1', ImageDescription: 'Line 3 inspection', DateTime: '2024:05:01 10:00:00' }, '2024:04:30 09:15:00', 6);
  const r = await extract({ path, name: 'inspection.jpg', size: 0, limits: LIMITS, ocrLangs: 'eng', wantThumbnail: false });
  assert.equal(r.contentType, 'image/jpeg');
  assert.deepEqual(r.metadata, {
    title: 'Line 3 inspection',
    authors: ['Sato Hanako'],
    taken: '2024-04-30T09:15:00.000Z',
    modified: '2024-05-01T10:00:00.000Z',
    orientation: 6,
    camera: 'Canon EOS R5',
    application: 'Firmware 1.1',
  });
});

test('the camera is make and model, without the make twice', async () => {
  const apple = await photo('a.jpg', { Make: 'Apple', Model: 'iPhone 15' });
  const nikon = await photo('n.jpg', { Make: 'NIKON CORPORATION', Model: 'NIKON D750' });
  const run = (path: string) => extract({ path, name: 'x.jpg', size: 0, limits: LIMITS, ocrLangs: 'eng', wantThumbnail: false });
  assert.equal((await run(apple)).metadata?.camera, 'Apple iPhone 15');
  assert.equal((await run(nikon)).metadata?.camera, 'NIKON D750');
});
