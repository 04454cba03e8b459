// Office and web documents to text: docx/xlsx/pptx/odt/ods/odp/rtf/html through officeparser (plus the
// charts, comments, notes and master text it leaves out), .doc through word-extractor, .xls and .ppt by
// their own readers, txt/csv/md decoded directly. Runs inside a pool worker thread, so it never throws
// for a bad file: it returns a status and an error in plain words. A password-protected file is
// `encrypted`, with whatever metadata its unencrypted parts still tell.
import { open, readFile } from 'node:fs/promises';
import type { DocMetadata, DocStatus, ExtractLimits } from '../../types.ts';
import { ZIP_KINDS, type FileKind } from './detect.ts';
import { DEFAULT_DOCUMENT_BOUNDS } from './document-bounds.ts';
import type { DocumentBounds } from './document-bounds.ts';
import { EncryptedDocumentError } from './encrypted.ts';
import { workbookText } from './legacy-excel.ts';
import { presentationText } from './legacy-powerpoint.ts';
import { UnsupportedWordFormat, isWord6, word6Text, wordText } from './legacy-word.ts';
import { officeExtras } from './office-extras.ts';
import { parseOfficeText } from './office-parse.ts';
import { decodeCodepage, isEncryptedPackage, openCompound, rootStream, summaryMetadata, withCanonicalNames } from './ole2.ts';
import type { Compound } from './ole2.ts';
import type { OfficeType } from './office-parse.ts';
import { cleanText, truncate } from './result.ts';
import { decodeText, declaredCharset } from './text-decode.ts';
import { looksLikeZip, zipBombReason } from './zip-guard.ts';

export type DocumentText = { text: string; pages: number; status: DocStatus; error?: string; truncated?: boolean; metadata?: DocMetadata };

/** Kinds this module reads; everything else is 'unsupported' here (PDFs and images go to OCR). */
export const DOCUMENT_KINDS: ReadonlySet<FileKind> = new Set<FileKind>([
  'text', 'markdown', 'csv', 'html', 'docx', 'xlsx', 'pptx', 'odt', 'ods', 'odp', 'rtf', 'doc', 'xls', 'ppt',
]);

/** Stream names of a Word file as word-extractor looks them up. */
const WORD_STREAMS = ['WordDocument', '1Table', '0Table', 'Data', '\u0005SummaryInformation', '\u0005DocumentSummaryInformation', '\u0001CompObj'];


export async function extractDocument(
  path: string,
  kind: FileKind,
  limits: ExtractLimits,
  bounds: DocumentBounds = DEFAULT_DOCUMENT_BOUNDS,
): Promise<DocumentText> {
  try {
    return await extractKnown(path, kind, limits, bounds);
  } catch (err) {
    if (err instanceof UnsupportedWordFormat) return { text: '', pages: 0, status: 'unsupported', error: err.message };
    if (err instanceof EncryptedDocumentError) {
      return { text: '', pages: err.pages ?? 0, status: 'encrypted', error: err.message, ...(err.metadata ? { metadata: err.metadata } : {}) };
    }
    return failed(err instanceof Error ? err.message : String(err));
  }
}

async function extractKnown(path: string, kind: FileKind, limits: ExtractLimits, bounds: DocumentBounds): Promise<DocumentText> {
  if (!DOCUMENT_KINDS.has(kind)) return { text: '', pages: 0, status: 'unsupported', error: `${kind} is not an office or web document` };

  if (kind === 'text' || kind === 'csv' || kind === 'markdown') {
    // A character takes at most 4 bytes, so more than that is never needed to fill maxChars.
    const { bytes, cut } = await readHead(path, Math.min(bounds.maxTextBytes, limits.maxChars * 4 + 4));
    return finish(decodeText(bytes).text, 1, cut, limits);
  }

  if (kind === 'html') {
    const { bytes, cut } = await readHead(path, bounds.maxHtmlBytes);
    const { text } = decodeText(bytes, declaredCharset(bytes));
    // Hand the parser UTF-8 with a BOM: the BOM outranks any (possibly wrong) meta charset it finds.
    const utf8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
    const parsed = await parseOfficeText(utf8, 'html', bounds.zip, AbortSignal.timeout(limits.docTimeoutMs));
    const title = parsed.title?.trim();
    const body = title && !parsed.text.includes(title) ? `${title}\n${parsed.text}` : parsed.text;
    return finish(body, 1, cut, limits, parsed.metadata);
  }

  const bytes = await readFile(path);
  if (bytes.length === 0) return failed('the file is empty (0 bytes)');

  if (kind === 'xls') {
    const r = workbookText(bytes, limits.maxChars);
    return finish(r.text, r.sheets, r.truncated, limits, r.metadata);
  }
  if (kind === 'ppt') {
    const r = presentationText(bytes, limits.maxChars);
    return finish(r.text, r.slides, r.truncated, limits, r.metadata);
  }
  if (kind === 'doc') {
    const cfb = looksLikeOle2(bytes) ? openCompound(bytes) : undefined;
    const summary = cfb ? summaryMetadata(cfb) : {};
    if (cfb && wordIsEncrypted(cfb)) throw new EncryptedDocumentError('the document is password-protected', summary);
    const main = cfb ? rootStream(cfb, 'WordDocument') : undefined;
    if (main && isWord6(main)) return finish(word6Text(main, (raw) => decodeCodepage(raw, 1252)), summary.pages ?? 1, false, limits, summary.metadata);
    const readable = (cfb && withCanonicalNames(cfb, WORD_STREAMS)) ?? bytes;
    return finish(await wordText(readable), summary.pages ?? 1, false, limits, summary.metadata);
  }

  if (ZIP_KINDS.has(kind) && looksLikeOle2(bytes)) {
    // An OOXML file saved with a password is an OLE2 wrapper around the encrypted package.
    const cfb = openCompound(bytes);
    if (isEncryptedPackage(cfb)) throw new EncryptedDocumentError('the document is password-protected', summaryMetadata(cfb));
  }
  if (ZIP_KINDS.has(kind) && looksLikeZip(bytes)) {
    const bomb = zipBombReason(bytes, bounds.zip);
    if (bomb) return failed(`refused: ${bomb}`);
  }
  const parsed = await parseOfficeText(bytes, kind as OfficeType, bounds.zip, AbortSignal.timeout(limits.docTimeoutMs));
  let text = parsed.text;
  if (kind === 'docx' && !text.trim() && looksLikeZip(bytes)) {
    // officeparser drops some run types (ruby text); word-extractor reads those.
    text = await wordText(bytes).catch(() => text);
  }
  if (ZIP_KINDS.has(kind) && looksLikeZip(bytes)) {
    const extras = officeExtras(bytes, kind, text, bounds.maxExtraXmlBytes);
    if (extras) text = text ? `${text}\n${extras}` : extras;
  }
  return finish(text, parsed.pages, false, limits, parsed.metadata);
}

function finish(raw: string, pages: number, inputCut: boolean, limits: ExtractLimits, metadata?: DocMetadata): DocumentText {
  const { text, truncated } = truncate(cleanText(raw), limits.maxChars);
  return { text, pages, status: 'ok', ...(truncated || inputCut ? { truncated: true } : {}), ...(metadata ? { metadata } : {}) };
}

function looksLikeOle2(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0xd0 && bytes[1] === 0xcf && bytes[2] === 0x11 && bytes[3] === 0xe0;
}

/** [MS-DOC] FibBase: fEncrypted is bit 8 of the flags word at offset 10 of the WordDocument stream. */
function wordIsEncrypted(cfb: Compound): boolean {
  const fib = rootStream(cfb, 'WordDocument');
  return Boolean(fib && fib.length > 12 && (fib[11]! & 0x01) === 0x01);
}

function failed(error: string): DocumentText {
  return { text: '', pages: 0, status: 'failed', error };
}

/** The first maxBytes of a file, and whether there was more. */
async function readHead(path: string, maxBytes: number): Promise<{ bytes: Uint8Array; cut: boolean }> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const want = Math.min(size, maxBytes);
    const buf = Buffer.allocUnsafe(want);
    let done = 0;
    while (done < want) {
      const { bytesRead } = await fh.read(buf, done, want - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return { bytes: buf.subarray(0, done), cut: size > done };
  } finally {
    await fh.close();
  }
}
