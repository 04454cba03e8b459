// OOXML, ODF, RTF and HTML to text through officeparser: one well-kept library for all of them, with its
// own inflate bound (counting real output bytes) and cell/element budgets. Its PDF and OCR paths are
// never used here: PDFs and images go through the pdf/OCR extractor.
import { OfficeParser } from 'officeparser';
import type { DocMetadata } from '../../types.ts';
import type { ZipBounds } from './document-bounds.ts';
import { EncryptedDocumentError } from './encrypted.ts';
import { cleanField, compactMetadata, isoDate, splitAuthors, splitKeywords } from './metadata.ts';

export type OfficeType = 'docx' | 'xlsx' | 'pptx' | 'odt' | 'ods' | 'odp' | 'rtf' | 'html';

export type OfficeText = {
  text: string;
  /** Slides (pptx/odp), sheets (xlsx/ods), the page count a docx records, else 1. */
  pages: number;
  title?: string;
  metadata?: DocMetadata;
};

/** Parses bytes of a known type; throws an Error whose message is plain words on a bad file. */
export async function parseOfficeText(bytes: Uint8Array, type: OfficeType, zip: ZipBounds, signal: AbortSignal): Promise<OfficeText> {
  let ast;
  try {
    ast = await OfficeParser.parseOffice(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      fileType: type,
      abortSignal: signal,
      ignorePageGeometry: true,
      decompressionLimits: { maxUncompressedBytes: zip.maxInflatedBytes, maxZipEntries: zip.maxEntries },
      // Warnings (a skipped chart, a cut table) are not failures; without a handler it logs to the console.
      onWarning: () => {},
    });
  } catch (err) {
    const code = (err as { officeIssue?: { code?: string } })?.officeIssue?.code;
    if (code === 'PASSWORD_REQUIRED' || code === 'PASSWORD_INCORRECT') throw new EncryptedDocumentError(officeErrorMessage(err));
    throw new Error(officeErrorMessage(err), { cause: err });
  }
  const { value } = await ast.to('text', { includeImages: 'none', textConfig: { preserveLayout: false } });
  const metadata = type === 'rtf' ? undefined : officeMetadata(ast.metadata);
  return { text: value, pages: pageCount(type, ast.content, ast.metadata), title: ast.metadata?.title, ...(metadata ? { metadata } : {}) };
}

type ParsedMetadata = {
  title?: string; author?: string; subject?: string; keywords?: string; created?: Date; modified?: Date;
  lastModifiedBy?: string; nativeProperties?: Record<string, unknown>;
};

/** Core properties (docProps/core.xml, ODF meta.xml, HTML meta tags) as DocMetadata. */
function officeMetadata(m: ParsedMetadata | undefined): DocMetadata | undefined {
  if (!m) return undefined;
  const native = m.nativeProperties ?? {};
  const app = native.Application ?? native['meta:generator'] ?? native.generator;
  const lastAuthor = cleanField(m.lastModifiedBy);
  return compactMetadata({
    title: cleanField(m.title),
    authors: splitAuthors(m.author) ?? (lastAuthor ? [lastAuthor] : undefined),
    subject: cleanField(m.subject),
    keywords: splitKeywords(m.keywords),
    created: isoDate(m.created),
    modified: isoDate(m.modified),
    // "LibreOffice/7.3.7.2$Linux_X86_64 LibreOffice_project/..." names the program before the first '$'.
    application: cleanField(typeof app === 'string' ? app.split('$')[0] : undefined),
  });
}

function pageCount(type: OfficeType, content: ReadonlyArray<{ type: string }>, metadata: { nativeProperties?: Record<string, unknown> } | undefined): number {
  const count = (t: string) => content.filter((n) => n.type === t).length;
  if (type === 'pptx' || type === 'odp') return count('slide');
  if (type === 'xlsx' || type === 'ods') return count('sheet');
  // Word records the page count it last laid out in docProps/app.xml.
  const pages = metadata?.nativeProperties?.Pages;
  if (type === 'docx' && typeof pages === 'number' && Number.isInteger(pages) && pages > 0) return pages;
  return 1;
}

/** officeparser errors carry a code; turn the common ones into short plain words. */
function officeErrorMessage(err: unknown): string {
  const e = err as { officeIssue?: { code?: string }; message?: string };
  const code = e?.officeIssue?.code;
  switch (code) {
    case 'PASSWORD_REQUIRED':
    case 'PASSWORD_INCORRECT':
      return 'the document is password-protected';
    case 'OPERATION_ABORTED':
      return 'parsing took longer than the document deadline';
    case 'ZIP_SIZE_LIMIT_EXCEEDED':
      return 'the zip archive inflates past the size limit (zip bomb?)';
    case 'ZIP_ENTRY_COUNT_LIMIT_EXCEEDED':
      return 'the zip archive has too many entries (zip bomb?)';
    case 'ZIP_TRUNCATED':
      return 'the file is truncated (its zip archive has no end record)';
    case 'ZIP_NO_ENTRIES_FOUND':
      return 'the file is not a valid zip archive (corrupt, truncated or another format)';
  }
  const message = String(e?.message ?? err).replace(/^\[OfficeParser\]:\s*/, '');
  // First sentence only: the rest is advice for library users.
  const first = /^.*?[.!?](\s|$)/s.exec(message)?.[0].trim() ?? message;
  return first.length > 300 ? `${first.slice(0, 297)}...` : first;
}
