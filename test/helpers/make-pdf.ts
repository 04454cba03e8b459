import { deflateSync } from 'node:zlib';
// Builds a PDF from object bodies (object i+1 = bodies[i]) with a correct xref table. Object 1 must be
// the catalog. Used by tests and scripts that need PDFs of a given shape (scans, bombs, huge streams).
// `trailer` adds entries to the trailer dictionary (e.g. "/Info 4 0 R").
export function makePdf(bodies: Array<string | Buffer>, trailer = ''): Buffer {
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let offset = parts[0]!.length;
  const offsets: number[] = [];
  bodies.forEach((b, i) => {
    offsets.push(offset);
    const buf = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), typeof b === 'string' ? Buffer.from(b, 'latin1') : b, Buffer.from('\nendobj\n')]);
    parts.push(buf);
    offset += buf.length;
  });
  const xref = `xref\n0 ${bodies.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  parts.push(Buffer.from(`${xref}trailer\n<< /Size ${bodies.length + 1} /Root 1 0 R${trailer ? ` ${trailer}` : ''} >>\nstartxref\n${offset}\n%%EOF\n`));
  return Buffer.concat(parts);
}

/** A stream object: `<< /Length n extra >> stream … endstream`. */
export function pdfStream(data: Buffer, extra = ''): Buffer {
  return Buffer.concat([Buffer.from(`<< /Length ${data.length} ${extra} >>\nstream\n`), data, Buffer.from('\nendstream')]);
}

/** A PDF whose page tree says 1 000 000 pages: 1000 intermediate nodes of 1000 kids, all one tiny page. */
export function millionPagePdf(): Buffer {
  const fanout = 1000;
  const nodes = Array.from({ length: fanout }, (_, i) => i + 4);
  return makePdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    `<< /Type /Pages /Kids [${nodes.map((n) => `${n} 0 R`).join(' ')}] /Count ${fanout * fanout} >>`,
    '<< /Type /Page /Parent 4 0 R /MediaBox [0 0 20 20] /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents 1004 0 R >>',
    ...nodes.map(() => `<< /Type /Pages /Parent 2 0 R /Kids [${'3 0 R '.repeat(fanout)}] /Count ${fanout} >>`),
    pdfStream(Buffer.from('BT /F1 4 Tf 1 1 Td (tiny) Tj ET')),
  ]);
}

/** One page whose content stream inflates from ~60 KB to 64 MiB of drawing operators. */
export function hugeStreamPdf(): Buffer {
  const ops = Buffer.alloc(64 * 1024 * 1024, '0 0 m 1 1 l S\n');
  return makePdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>',
    pdfStream(deflateSync(ops, { level: 9 }), '/Filter /FlateDecode'),
  ]);
}

/**
 * One page whose only image is 2 x 2 pixels but carries a soft mask (/SMask) that is a 1-bit
 * 34 862 x 4 332 image (151 megapixels, ~20 KB deflated). pdf.js checks maxImageSize against the
 * image alone and then decodes both at the mask's size: 600 MB of RGBA for a 58 KB file.
 */
export function softMaskBombPdf(mask = { width: 34_862, height: 4_332 }): Buffer {
  const rowBytes = (mask.width + 7) >> 3;
  const bits = deflateSync(Buffer.alloc(rowBytes * mask.height, 0x55), { level: 9 });
  return makePdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>',
    pdfStream(Buffer.from('q 612 0 0 792 0 0 cm /Im0 Do Q')),
    pdfStream(Buffer.from([0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 0]), '/Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceRGB /BitsPerComponent 8 /SMask 6 0 R'),
    pdfStream(bits, `/Type /XObject /Subtype /Image /Width ${mask.width} /Height ${mask.height} /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /FlateDecode`),
  ]);
}

/**
 * One page (no text layer, one small image, so it is rendered for OCR) drawing `depth` transparency
 * groups nested in each other, each painted through a luminosity soft mask that is itself a group.
 * A renderer keeps a page-sized scratch canvas per open group and per soft mask: depth x page area.
 */
export function nestedSoftMaskPdf(depth = 40, page = { width: 612, height: 792 }): Buffer {
  const { width: w, height: h } = page;
  // Objects: 1 catalog, 2 pages, 3 page, 4 content, 5 image, then per level i: group form, mask form.
  const group = (i: number) => 6 + 2 * i;
  const mask = (i: number) => 7 + 2 * i;
  const bodies: Array<string | Buffer> = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${w} ${h}] /Group << /S /Transparency /CS /DeviceRGB >> /Resources << /XObject << /Im0 5 0 R /G0 ${group(0)} 0 R >> >> /Contents 4 0 R >>`,
    pdfStream(Buffer.from(`q 40 0 0 40 10 10 cm /Im0 Do Q /G0 Do`)),
    pdfStream(Buffer.from([0, 128, 255, 64]), '/Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8'),
  ];
  for (let i = 0; i < depth; i++) {
    const inner = i + 1 < depth ? `/G${i + 1} Do ` : '';
    const resources = `/ExtGState << /GS0 << /SMask << /Type /Mask /S /Luminosity /G ${mask(i)} 0 R >> /ca 0.9 >> >>${inner ? ` /XObject << /G${i + 1} ${group(i + 1)} 0 R >>` : ''}`;
    bodies.push(pdfStream(Buffer.from(`q /GS0 gs 0.${i % 10} 0.5 0.5 rg ${i} ${i} ${w - 2 * i} ${h - 2 * i} re f ${inner}Q`), `/Type /XObject /Subtype /Form /BBox [0 0 ${w} ${h}] /Group << /S /Transparency /CS /DeviceRGB /I true >> /Resources << ${resources} >>`));
    bodies.push(pdfStream(Buffer.from(`0.8 g 0 0 ${w} ${h} re f`), `/Type /XObject /Subtype /Form /BBox [0 0 ${w} ${h}] /Group << /S /Transparency /CS /DeviceGray >>`));
  }
  return makePdf(bodies);
}
