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
