// Files the memory section needs and nobody should commit: a PDF of about N MB (pages with a text
// layer and a large embedded photo each, the way brochures and catalogues are built) and an image of
// N megapixels with lines of text on it. Generated into the bench's temp dir on every run.
import { createWriteStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import sharp from 'sharp';

const WORDS = 'quarterly report invoice contract meeting minutes budget forecast customer shipment warehouse inventory approval schedule'.split(' ');

/** Writes a PDF of at least `targetBytes`: each page has ~600 characters of text and a 2000×2000 JPEG. */
export async function writeImageHeavyPdf(path: string, targetBytes: number): Promise<{ pages: number; bytes: number }> {
  // A few distinct photos (noise: it does not compress), each embedded as its own object per page.
  const photos = await Promise.all(
    [30, 35, 40].map((sigma) =>
      sharp({ create: { width: 2000, height: 2000, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma } } })
        .jpeg({ quality: 90 })
        .toBuffer(),
    ),
  );
  const avg = photos.reduce((n, p) => n + p.length, 0) / photos.length;
  const pages = Math.max(1, Math.ceil(targetBytes / avg));
  const out = createWriteStream(path);
  let offset = 0;
  const offsets: number[] = [];
  const write = async (chunk: string | Buffer) => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    offset += buf.length;
    if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
  };
  const obj = async (id: number, body: string | Buffer[]) => {
    offsets[id] = offset;
    if (typeof body === 'string') await write(`${id} 0 obj\n${body}\nendobj\n`);
    else {
      await write(`${id} 0 obj\n`);
      for (const b of body) await write(b);
      await write('\nendobj\n');
    }
  };
  await write('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n');
  const pageId = (i: number) => 4 + 3 * i;
  await obj(1, '<< /Type /Catalog /Pages 2 0 R >>');
  await obj(2, `<< /Type /Pages /Count ${pages} /Kids [${Array.from({ length: pages }, (_, i) => `${pageId(i)} 0 R`).join(' ')}] >>`);
  await obj(3, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  for (let i = 0; i < pages; i++) {
    const lines = Array.from({ length: 10 }, (_, l) => `Page ${i + 1} line ${l + 1}: ${Array.from({ length: 9 }, (_, w) => WORDS[(i * 7 + l * 3 + w) % WORDS.length]).join(' ')}`);
    const text = lines.map((t) => `(${t}) '`).join('\n');
    const content = `q 468 0 0 468 72 80 cm /Im1 Do Q\nBT /F1 11 Tf 14 TL 72 760 Td\n${text}\nET`;
    const photo = photos[i % photos.length]!;
    await obj(pageId(i), `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> /XObject << /Im1 ${pageId(i) + 2} 0 R >> >> /Contents ${pageId(i) + 1} 0 R >>`);
    await obj(pageId(i) + 1, [Buffer.from(`<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n`, 'latin1'), Buffer.from(content, 'latin1'), Buffer.from('\nendstream', 'latin1')]);
    await obj(pageId(i) + 2, [
      Buffer.from(`<< /Type /XObject /Subtype /Image /Width 2000 /Height 2000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length ${photo.length} >>\nstream\n`, 'latin1'),
      photo,
      Buffer.from('\nendstream', 'latin1'),
    ]);
  }
  const count = pageId(pages - 1) + 3;
  const xref = offset;
  let table = `xref\n0 ${count}\n0000000000 65535 f \n`;
  for (let id = 1; id < count; id++) table += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  await write(`${table}trailer\n<< /Size ${count} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return { pages, bytes: (await stat(path)).size };
}

/** Writes a PNG of about `megapixels` MP: white, with 40 lines of large black text (a scanned poster). */
export async function writeLargeImage(path: string, megapixels: number): Promise<{ width: number; height: number; bytes: number }> {
  const side = Math.round(Math.sqrt(megapixels * 1e6));
  const font = Math.round(side / 66);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}"><rect width="100%" height="100%" fill="white"/>`;
  for (let i = 0; i < 40; i++) {
    svg += `<text x="${Math.round(side / 25)}" y="${Math.round(side / 25 + i * font * 1.6)}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="black">Line ${i + 1}: ${WORDS.slice(i % 5, (i % 5) + 6).join(' ')}</text>`;
  }
  svg += '</svg>';
  await sharp(Buffer.from(svg), { limitInputPixels: false }).png({ compressionLevel: 6 }).toFile(path);
  return { width: side, height: side, bytes: (await stat(path)).size };
}

/** A PDF cut off part-way (a failed upload): for the quick mix's broken file. */
export async function writeTruncatedCopy(from: string, to: string, fraction = 0.6): Promise<void> {
  const bytes = await readFile(from);
  await writeFile(to, bytes.subarray(0, Math.floor(bytes.length * fraction)));
}

