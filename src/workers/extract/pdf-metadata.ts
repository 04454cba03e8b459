// A PDF's title, authors, dates... from its Info dictionary and its XMP packet (pdf.js getMetadata).
// XMP wins where both say something: it is the newer record, holds author lists as lists, and writers
// update it when they update the Info dictionary (the reverse is less reliable).
import type { DocMetadata } from '../../types.ts';
import { cleanField, compactMetadata, isoDate, splitAuthors, splitKeywords } from './metadata.ts';

type PdfInfo = Record<string, unknown>;
type Xmp = { get(name: string): unknown } | null | undefined;

/** Reads metadata from an open pdf.js document; never throws (a broken packet costs only its fields). */
export async function pdfMetadata(doc: { getMetadata(): Promise<{ info: object; metadata: unknown }> }): Promise<DocMetadata | undefined> {
  let info: PdfInfo = {};
  let xmp: Xmp;
  try {
    const m = await doc.getMetadata();
    info = (m.info ?? {}) as PdfInfo;
    xmp = m.metadata as Xmp;
  } catch {
    return undefined;
  }
  const x = (name: string): unknown => {
    try {
      return xmp?.get(name) ?? undefined;
    } catch {
      return undefined;
    }
  };
  const xmpAuthors = splitAuthors(x('dc:creator'));
  const infoAuthors = splitAuthors(info.Author);
  return compactMetadata({
    title: cleanField(firstOf(x('dc:title'))) ?? cleanField(info.Title),
    authors: (xmpAuthors?.length ?? 0) >= (infoAuthors?.length ?? 0) ? (xmpAuthors ?? infoAuthors) : infoAuthors,
    subject: cleanField(firstOf(x('dc:description'))) ?? cleanField(info.Subject),
    keywords: splitKeywords(x('pdf:keywords')) ?? splitKeywords(info.Keywords) ?? splitKeywords(x('dc:subject')),
    created: isoDate(x('xmp:createdate')) ?? isoDate(info.CreationDate),
    modified: isoDate(x('xmp:modifydate')) ?? isoDate(info.ModDate),
    application: cleanField(x('xmp:creatortool')) ?? cleanField(info.Creator) ?? cleanField(info.Producer),
  });
}

/** XMP alternatives (rdf:Alt, one per language) come back as a list; the first is the default. */
function firstOf(v: unknown): unknown {
  return Array.isArray(v) ? v[0] : v;
}
