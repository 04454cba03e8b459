// Builds a minimal one-page "scanned" PDF: a grey JPEG of an image file painted over the whole page,
// no text layer — what a scanner writes.
import sharp from 'sharp';
import { makePdf } from './make-pdf.ts';

export async function scannedPdf(imagePath: string, opts: { rotate?: number } = {}): Promise<Buffer> {
  const img = sharp(imagePath).rotate(opts.rotate ?? 0).grayscale();
  const meta = await sharp(imagePath).metadata();
  const { data: jpeg, info } = await img.jpeg({ quality: 85 }).toBuffer({ resolveWithObject: true });
  const dpi = meta.density && meta.density >= 72 ? meta.density : 200;
  const w = (info.width / dpi) * 72;
  const h = (info.height / dpi) * 72;
  const content = `q ${w.toFixed(2)} 0 0 ${h.toFixed(2)} 0 0 cm /Im0 Do Q`;
  const objects: Buffer[] = [
    Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
    Buffer.from('<< /Type /Pages /Kids [3 0 R] /Count 1 >>'),
    Buffer.from(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${w.toFixed(2)} ${h.toFixed(2)}] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>`),
    Buffer.from(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`),
    Buffer.concat([
      Buffer.from(`<< /Type /XObject /Subtype /Image /Width ${info.width} /Height ${info.height} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode /Length ${jpeg.length} >>\nstream\n`),
      jpeg,
      Buffer.from('\nendstream'),
    ]),
  ];
  return makePdf(objects);
}
