// Office and web documents to text: docx/xlsx/pptx/odt/ods/odp/rtf/html through officeparser, .doc through
// word-extractor, txt/csv/md decoded directly. Runs inside a pool worker thread, so it never throws for a
// bad file: it returns a status and an error in plain words.
import { open, readFile } from 'node:fs/promises';
import type { DocStatus, ExtractLimits } from '../../types.ts';
import { ZIP_KINDS, type FileKind } from './detect.ts';
import { DEFAULT_DOCUMENT_BOUNDS } from './document-bounds.ts';
import type { DocumentBounds } from './document-bounds.ts';
import { UnsupportedWordFormat, wordText } from './legacy-word.ts';
import { parseOfficeText } from './office-parse.ts';
import type { OfficeType } from './office-parse.ts';
import { cleanText, truncate } from './result.ts';
import { decodeText, declaredCharset } from './text-decode.ts';
import { looksLikeZip, zipBombReason } from './zip-guard.ts';

export type DocumentText = { text: string; pages: number; status: DocStatus; error?: string; truncated?: boolean };

/** Kinds this module reads; everything else is 'unsupported' here (PDFs and images go to OCR). */
export const DOCUMENT_KINDS: ReadonlySet<FileKind> = new Set<FileKind>([
  'text', 'markdown', 'csv', 'html', 'docx', 'xlsx', 'pptx', 'odt', 'ods', 'odp', 'rtf', 'doc', 'xls', 'ppt',
]);

/** Legacy binary formats with no well-kept reader on npm (SheetJS's npm release is stale and has open CVEs). */
const NO_READER: Partial<Record<FileKind, string>> = {
  xls: 'Excel 97-2003 (.xls) files are not supported: no well-kept reader; save as .xlsx',
  ppt: 'PowerPoint 97-2003 (.ppt) files are not supported: no well-kept reader; save as .pptx',
};

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
    return failed(err instanceof Error ? err.message : String(err));
  }
}

async function extractKnown(path: string, kind: FileKind, limits: ExtractLimits, bounds: DocumentBounds): Promise<DocumentText> {
  const noReader = NO_READER[kind];
  if (noReader) return { text: '', pages: 0, status: 'unsupported', error: noReader };
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
    return finish(body, 1, cut, limits);
  }

  const bytes = await readFile(path);
  if (bytes.length === 0) return failed('the file is empty (0 bytes)');

  if (kind === 'doc') return finish(await wordText(bytes), 1, false, limits);

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
  return finish(text, parsed.pages, false, limits);
}

function finish(raw: string, pages: number, inputCut: boolean, limits: ExtractLimits): DocumentText {
  const { text, truncated } = truncate(cleanText(raw), limits.maxChars);
  return truncated || inputCut ? { text, pages, status: 'ok', truncated: true } : { text, pages, status: 'ok' };
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
