// Word 97-2003 (.doc) text through word-extractor, which reads the OLE2 compound file itself. Also the
// fallback for a .docx whose text officeparser missed (it drops ruby/furigana runs, for one).
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
