// Word 97-2003 (.doc) text through word-extractor, which reads the OLE2 compound file itself. Also the
// fallback for a .docx whose text officeparser missed (it drops ruby/furigana runs, for one).
// Before word-extractor: it takes the text cleaner that word-ruby.ts wraps when it loads.
import './word-ruby.ts';
import WordExtractor from 'word-extractor';

const extractor = new WordExtractor();

/** Body, footnotes, endnotes, headers/footers, comments and text boxes of a Word file. */
export async function wordText(bytes: Uint8Array): Promise<string> {
  let doc: WordExtractor.Document;
  try {
    doc = await extractor.extract(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/Invalid magic number|Unable to read this type of file/i.test(message)) {
      throw new UnsupportedWordFormat('not a Word 97 or later file (Word 6/95, WordPerfect or another old format)', { cause: err });
    }
    throw new Error(`damaged or encrypted Word file (${message})`, { cause: err });
  }
  return [
    doc.getBody(),
    doc.getFootnotes(),
    doc.getEndnotes(),
    doc.getHeaders({ includeFooters: true }),
    doc.getAnnotations(),
    doc.getTextboxes({ includeHeadersAndFooters: false, includeBody: true }),
  ].filter((part) => part.trim()).join('\n');
}

/** Word 6/95 and WordPerfect files under a .doc name: not a failure of the file, a format we lack. */
export class UnsupportedWordFormat extends Error {}

/** Word 6.0 and Word 95 write nFib 101–105 at offset 2 of the WordDocument stream. */
export function isWord6(wordDocument: Uint8Array | undefined): boolean {
  if (!wordDocument || wordDocument.length < 0x20) return false;
  const nFib = wordDocument[2]! | (wordDocument[3]! << 8);
  return nFib >= 101 && nFib <= 105;
}

/**
 * Word 6.0/95 text: the 8-bit characters between fcMin and fcMac of the WordDocument stream. A file
 * last saved with "fast save" keeps later edits elsewhere (a piece table this does not follow), so text
 * edited after the first full save can be missing or stale there.
 */
export function word6Text(wordDocument: Uint8Array, decode: (raw: Uint8Array) => string): string {
  const v = new DataView(wordDocument.buffer, wordDocument.byteOffset, wordDocument.byteLength);
  const fcMin = v.getUint32(0x18, true);
  const fcMac = v.getUint32(0x1c, true);
  if (fcMin >= fcMac || fcMac > wordDocument.length) throw new Error('damaged Word 6/95 file (text range outside the file)');
  return decode(wordDocument.subarray(fcMin, fcMac))
    .replace(/\r|\u000b/g, '\n')
    .replace(/\u0013[^\u0014\u0015]*\u0014?/g, '')
    .replace(/[\u0000-\u0008\u000c\u000e-\u001f]/g, ' ');
}
