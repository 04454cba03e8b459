// The documents the bench extracts: a realistic mix of what a company's file share holds, drawn from
// ../shared/corpus (real files nobody on this project wrote) and the project's examples/.
// The quick mix uses examples/ only, so the smoke run needs nothing outside the repository.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
export const CORPUS = fileURLToPath(new URL('../../../shared/corpus/', import.meta.url));

export function corpusAvailable(): boolean {
  return existsSync(CORPUS);
}

export type MixKind = 'text PDF' | 'scan' | 'image' | 'office' | 'broken';
export type MixFile = { kind: MixKind; path: string };

const c = (dir: string, names: string[], kind: MixKind): MixFile[] => names.map((n) => ({ kind, path: `${CORPUS}${dir}/${n}` }));

/** The project's examples/, classified by extension (the folder changes; the bench should not care). */
function examples(): MixFile[] {
  const kindOf = (name: string): MixKind | undefined => {
    const ext = name.toLowerCase().split('.').pop() ?? '';
    if (ext === 'pdf') return 'text PDF';
    if (['tif', 'tiff', 'png', 'jpg', 'jpeg'].includes(ext)) return 'scan';
    if (['docx', 'xlsx', 'pptx', 'odt', 'rtf', 'md', 'txt', 'html', 'csv', 'doc'].includes(ext) && name !== 'NOTICE.md') return 'office';
    return undefined;
  };
  if (!existsSync(EXAMPLES)) return [];
  return readdirSync(EXAMPLES)
    .sort()
    .flatMap((name) => {
      const kind = kindOf(name);
      return kind ? [{ kind, path: `${EXAMPLES}${name}` }] : [];
    });
}

/** The first example PDF: the quick mix's broken file is a truncated copy of it. */
export function examplePdf(): string {
  const pdf = examples().find((f) => f.kind === 'text PDF');
  if (!pdf) throw new Error(`no PDF in ${EXAMPLES}`);
  return pdf.path;
}

/**
 * The full-work mix. PDFs were picked for a text layer on every page (most of pdf.js's regression
 * files are drawings or fonts with no text, which would make the mix mostly OCR); scans are the
 * tesseract test pages (an A4 page at 300 dpi, smaller ones, a rotated one); images include a
 * photo with no text; the broken files are a fuzzed flate stream, a circular page tree, a
 * password-protected PDF, a truncated docx and a PDF with a bad root.
 */
export function fullMix(): MixFile[] {
  const mix: MixFile[] = [
    ...c('pdfjs', [
      'tracemonkey.pdf', 'calrgb.pdf', 'file_pdfjs_test.pdf', 'issue6127.pdf', 'issue19971.pdf', 'pdkids.pdf', 'issue13447.pdf',
      'issue11913.pdf', 'issue15012.pdf', 'bug886717.pdf', 'chrome-text-selection-markedContent.pdf', 'issue13201.pdf',
      'pdfjs_wikipedia.pdf', 'issue14297.pdf', 'prefilled_f1040.pdf', 'issue840.pdf', 'issue918.pdf',
    ], 'text PDF'),
    ...c('ocr', ['8087_054.3B.tif', 'eurotext.tif', 'phototest.tif', 'phototest-rotated-L.png'], 'scan'),
    ...c('tika', ['testOCR.png', 'baseball.jpg', 'testRotated-10.png'], 'image'),
    ...c('tika', [
      'testWORD_various.docx', 'footnotes.docx', 'testWORD_numbered_list.docx', 'testWORD_template.docx', 'EmbeddedDocument.docx',
      'testEXCEL.xlsx', 'testEXCEL_dateFormats.xlsx', 'testComment.xlsx',
      'testPPT_various.pptx', 'testPPTX_Thumbnail.pptx', 'testComment.pptx',
      'testOpenOffice2.odt', 'testFooter.odt', 'LibreOfficeCalc_ods_1.3.ods', 'testMasterFooter.odp',
      'testRTFVarious.rtf', 'testRTF-ms932.rtf', 'resume.html', 'testHTML_utf8.html', 'a_proteome.txt', 'test-columnar.csv',
      'testWORD.doc', 'test.doc',
    ], 'office'),
    ...c('pdfjs', ['poppler-90-0-fuzzed.pdf', 'Pages-tree-refs.pdf', 'issue3371.pdf', 'poppler-395-0-fuzzed.pdf'], 'broken'),
    ...c('tika', ['testWORD_truncated.docx'], 'broken'),
  ];
  // Plus the project's own examples (Japanese PDF, RTF and notes) not already in the list.
  const names = new Set(mix.map((f) => f.path.split('/').pop()));
  // Uploads arrive in no particular order: shuffle, the same way every run.
  return shuffled([...mix, ...examples().filter((f) => !names.has(f.path.split('/').pop()))]);
}

function shuffled<T>(items: T[]): T[] {
  let x = 42;
  const next = () => (x = (x * 48271) % 2147483647);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The smoke run's mix: one example of each kind (the smallest) plus a broken file the bench makes. */
export function quickMix(brokenPdf: string): MixFile[] {
  const bySize = examples().sort((a, b) => statSync(a.path).size - statSync(b.path).size);
  const one = (['text PDF', 'scan', 'office'] as const).flatMap((kind) => bySize.filter((f) => f.kind === kind).slice(0, 1));
  return [...one, { kind: 'broken', path: brokenPdf }];
}

/** One file per type for the per-stage extract figures. */
export function extractSamples(quick: boolean): Array<{ label: string; path: string; ocr?: boolean }> {
  if (quick || !corpusAvailable()) {
    const ex = examples();
    const first = (kind: MixKind) => ex.find((f) => f.kind === kind)?.path;
    return [
      { label: 'text PDF', path: first('text PDF'), ocr: false },
      { label: 'scanned page', path: first('scan'), ocr: true },
      { label: 'office file', path: first('office'), ocr: false },
    ].flatMap((s) => (s.path ? [{ ...s, path: s.path }] : []));
  }
  return [
    { label: 'text PDF (14 pages)', path: `${CORPUS}pdfjs/tracemonkey.pdf` },
    { label: 'scanned page (A4, 300 dpi)', path: `${CORPUS}ocr/8087_054.3B.tif`, ocr: true },
    { label: 'image (screenshot with text)', path: `${CORPUS}tika/testOCR.png`, ocr: true },
    { label: 'office file (docx)', path: `${CORPUS}tika/testWORD_various.docx` },
    { label: 'spreadsheet (xlsx)', path: `${CORPUS}tika/testEXCEL.xlsx` },
    { label: 'presentation (pptx)', path: `${CORPUS}tika/testPPT_various.pptx` },
    { label: 'Word 97-2003 (doc)', path: `${CORPUS}tika/testWORD.doc` },
    { label: 'Excel 97-2003 (xls)', path: `${CORPUS}tika/testEXCEL_headers_footers.xls` },
    { label: 'PowerPoint 97-2003 (ppt)', path: `${CORPUS}tika/testPPT_various.ppt` },
  ];
}
