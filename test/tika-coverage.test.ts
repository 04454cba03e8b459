// How much of ../shared/corpus/tika (Apache Tika's parser test files) yields text, counted by extension.
// The target: at least 90 % of the files whose format holds text give text, and every .xls/.ppt is
// read. Files without text of their own are listed below with the reason (checked: if one starts to
// give text, the test says to take it off the list); password-protected files must end `encrypted`.
// OCR is off here (images are covered by the OCR tests). Skips when ../shared is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import extract from '../src/workers/extract-worker.ts';
import { extensionOf } from '../src/workers/extract/detect.ts';
import type { ExtractLimits, ExtractResult } from '../src/types.ts';

const TIKA = new URL('../../shared/corpus/tika/', import.meta.url).pathname;
const LIMITS: ExtractLimits = { maxOcrPages: 0, maxChars: 200_000, docTimeoutMs: 20_000, pageTimeoutMs: 10_000, maxPixels: 50_000_000 };
const TARGET = 0.9;

/** Images: their text is in pixels, read by OCR. */
const IMAGE_EXTENSIONS = new Set(['jpg', 'jpeg', 'png', 'gif', 'tif', 'tiff', 'bmp', 'webp']);

/** Files that hold no text of their own, and why (inspected by hand: text layer, XML parts, RTF groups). */
const NO_TEXT: Readonly<Record<string, string>> = {
  'testColorRendering.pdf': 'PDF page of vector graphics, no text layer',
  'testFlashInPDF.pdf': 'PDF page holding only a Flash (RichMedia) annotation and an image',
  'testPDF_AdobeIllustrator.pdf': 'Illustrator artwork, no text layer',
  'testPDF_Version.5.x.pdf': 'blank page (a PDF-version test file)',
  'testPDF_Version.6.x.pdf': 'blank page (a PDF-version test file)',
  'testPDF_Version.7.x.pdf': 'blank page (a PDF-version test file)',
  'testPDF_Version.8.x.pdf': 'blank page (a PDF-version test file)',
  'testPDF_Version.10.x.pdf': 'blank page (a PDF-version test file)',
  'testPDF_Version.11.x.PDFA-1b.pdf': 'one image, no text layer',
  'testPDF_jpeg2000.pdf': 'one JPEG 2000 image, no text layer',
  'testPDF_jsActionOnPage.pdf': 'blank page with a JavaScript action',
  'testPDF_malformedXFA.pdf': 'blank page; the (broken) XFA form holds no values',
  'testPDF_sigflags.pdf': 'blank page with an empty signature field',
  '2exe.docx': 'only two embedded executables (OLE objects)',
  'testEXCEL_embeddedPDF_mac.xlsx': 'only an embedded PDF (OLE object), empty cells',
  'testExcel_embeddedPDF.xlsx': 'only an embedded PDF (OLE object), empty cells',
  'testWPSAttachment.pptx': 'only embedded documents (OLE objects), empty slide',
  'testWPSAttachment.ppt': 'only embedded documents (OLE objects), empty slide; its master holds only the (Chinese) prompts',
  'testRTFEmbeddedFiles.rtf': 'only embedded objects (\\object groups)',
  'testRTFEmbeddedLink.rtf': 'only a linked object',
  'testBinControlWord.rtf': 'only a picture in a \\bin group',
  'testODTEmbeddedImageLink.odt': 'only a linked image, empty paragraph',
  'testODSMacro.ods': 'a macro and empty cells',
  'testWORD_multi_authors.doc': 'empty body (a metadata test file)',
  'testWORD_truncated.docx': 'cut at byte 763, inside docProps/: word/document.xml is not in the file',
};

type Row = { files: number; withText: number; excluded: number; encrypted: number; misses: string[] };

test('Tika corpus: at least 90 % of the files whose format holds text yield text; every .xls/.ppt is read', { skip: existsSync(TIKA) ? false : `../shared/corpus/tika is absent (${TIKA})` }, async (t) => {
  const names = readdirSync(TIKA).filter((f) => statSync(join(TIKA, f)).isFile()).sort();
  const results = new Map<string, ExtractResult>();
  for (const name of names) {
    results.set(name, await extract({ path: join(TIKA, name), name, size: statSync(join(TIKA, name)).size, limits: LIMITS, ocrLangs: 'eng', wantThumbnail: false }));
  }

  const byExt = new Map<string, Row>();
  const stale: string[] = [];
  for (const [name, r] of results) {
    const ext = extensionOf(name) || '(none)';
    const row = byExt.get(ext) ?? { files: 0, withText: 0, excluded: 0, encrypted: 0, misses: [] };
    byExt.set(ext, row);
    row.files++;
    const hasText = r.text.trim().length > 0;
    if (IMAGE_EXTENSIONS.has(ext)) {
      row.excluded++;
    } else if (NO_TEXT[name]) {
      row.excluded++;
      if (hasText) stale.push(`${name} now yields text: take it off NO_TEXT`);
    } else if (r.status === 'encrypted') {
      row.encrypted++;
    } else if (hasText) {
      row.withText++;
    } else {
      row.misses.push(`${name}: ${r.status}${r.error ? ` (${r.error})` : ', no text'}`);
    }
  }

  let counted = 0;
  let yielded = 0;
  const lines = ['ext | files | with text / holding text | no text of their own | encrypted'];
  for (const [ext, row] of [...byExt].sort((a, b) => a[0].localeCompare(b[0]))) {
    const holding = row.files - row.excluded - row.encrypted;
    counted += holding;
    yielded += row.withText;
    lines.push(`${ext} | ${row.files} | ${row.withText}/${holding} | ${row.excluded} | ${row.encrypted}`);
  }
  const misses = [...byExt.values()].flatMap((r) => r.misses);
  t.diagnostic(`${lines.join('\n')}\ntotal: ${yielded}/${counted} = ${((100 * yielded) / counted).toFixed(1)} %\nmisses:\n${misses.join('\n') || '(none)'}`);

  assert.deepEqual(stale, []);
  assert.ok(yielded / counted >= TARGET, `${yielded}/${counted} files with text in their format yield it; misses:\n${misses.join('\n')}`);
  for (const [name, r] of results) {
    const ext = extensionOf(name);
    if ((ext === 'xls' || ext === 'ppt') && r.status !== 'encrypted') {
      assert.ok(r.status === 'ok' || r.status === 'partial', `${name}: ${r.status} ${r.error ?? ''}`);
      assert.ok(r.text.trim().length > 0 || NO_TEXT[name], `${name} is read`);
    }
  }
  // Password-protected files say so.
  for (const name of ['testPPT_protected_passtika.ppt', 'testWORD_protected_passtika.docx', 'testEXCEL_protected_passtika.xlsx', 'testUnicodePassword.pdf']) {
    assert.equal(results.get(name)?.status, 'encrypted', name);
  }
});
