// Office and web documents: every non-PDF, non-image file of the Tika corpus gets a status without
// throwing, known words come out of each format (Japanese included), and zip bombs, damaged, empty and
// overlong files end with the right status.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { detectKind } from '../src/workers/extract/detect.ts';
import type { FileKind } from '../src/workers/extract/detect.ts';
import { DEFAULT_DOCUMENT_BOUNDS } from '../src/workers/extract/document-bounds.ts';
import { extractDocument } from '../src/workers/extract/documents.ts';
import type { DocumentText } from '../src/workers/extract/documents.ts';
import type { ExtractLimits } from '../src/types.ts';

const TIKA = new URL('../../shared/corpus/tika/', import.meta.url).pathname;
const HAVE_TIKA = existsSync(TIKA);
const LIMITS: ExtractLimits = { maxOcrPages: 5, maxChars: 1_000_000, docTimeoutMs: 30_000, pageTimeoutMs: 10_000, maxPixels: 100_000_000 };
const STATUSES = new Set(['ok', 'partial', 'failed', 'unsupported', 'too_large', 'encrypted']);

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'documents-extract-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tempFile(name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

describe('the Tika corpus', { skip: HAVE_TIKA ? false : `../shared/corpus/tika is absent (${TIKA})` }, () => {
  const results = new Map<string, DocumentText & { kind: FileKind }>();

  before(async () => {
    for (const name of readdirSync(TIKA).sort()) {
      const kind = await detectKind(join(TIKA, name), name);
      if (kind === 'pdf' || kind === 'image') continue;
      // extractDocument must not throw: a rejection here fails the whole suite, naming the file.
      const r = await extractDocument(join(TIKA, name), kind, LIMITS).catch((err: unknown) => {
        throw new Error(`extractDocument threw for ${name}: ${String(err)}`);
      });
      results.set(name, { ...r, kind });
    }
  });

  const get = (name: string) => {
    const r = results.get(name);
    assert.ok(r, `${name} was not extracted`);
    return r;
  };

  test('every office and web file gets a status, and failures say why', () => {
    assert.ok(results.size >= 150, `only ${results.size} files extracted`);
    const byStatus: Record<string, number> = {};
    for (const [name, r] of results) {
      assert.ok(STATUSES.has(r.status), `${name}: status ${r.status}`);
      assert.equal(typeof r.text, 'string', name);
      if (r.status === 'ok') assert.ok(r.pages >= 0, `${name}: pages ${r.pages}`);
      else assert.ok(r.error && r.error.length > 5, `${name}: ${r.status} without an error`);
      byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    }
    // Most files are readable: only legacy xls/ppt, encrypted and deliberately broken files are not.
    assert.ok((byStatus.ok ?? 0) >= 150, `ok: ${JSON.stringify(byStatus)}`);
  });

  test('Word .doc and .docx text comes out', () => {
    assert.match(get('testWORD.doc').text, /Sample Word Document/);
    assert.match(get('testWORD_features.docx').text, /Lorem ipsum dolor sit amet/);
    const various = get('testWORD_various.docx');
    assert.match(various.text, /Here is a text box/);
    assert.match(various.text, /Footnote appears here/);
  });

  test('Japanese ruby text in a docx and a .doc comes out (word-extractor; ruby fields in .doc)', () => {
    assert.match(get('testWORD_phonetic.docx').text, /東京/);
    assert.match(get('testWORD_phonetic.doc').text, /東京（とうきょう）/);
  });

  test('spreadsheets give cell text and count their sheets', () => {
    const xlsx = get('testEXCEL.xlsx');
    assert.match(xlsx.text, /Sample Excel Worksheet/);
    assert.ok(xlsx.pages >= 1);
    assert.match(get('testEXCEL_phonetic.xlsx').text, /豊田製品戦略事業統括本部/);
    const headers = get('testEXCEL_headers_footers.xlsx');
    assert.equal(headers.pages, 3);
    assert.match(headers.text, /John Smith1\t1 Corporate HQ/);
    assert.match(get('LibreOfficeCalc_ods_1.3.ods').text, /example\s+spreadsheet/);
  });

  test('presentations give slide text and count their slides', () => {
    const pptx = get('testPPT_various.pptx');
    assert.match(pptx.text, /Here is a text box/);
    assert.equal(pptx.pages, 1);
    const odp = get('LibreOfficeImpress_odp_1.3.odp');
    assert.match(odp.text, /An example Impress file/);
    assert.equal(odp.pages, 2);
  });

  test('ODT text comes out', () => {
    assert.match(get('testOpenOffice2.odt').text, /This is a sample Open Office document/);
    assert.match(get('testODT_svgTitleInStyledSpan.odt').text, /國立雲林科技大學/);
  });

  test('RTF text in code pages and Unicode escapes comes out', () => {
    const ms932 = get('testRTF-ms932.rtf').text;
    assert.match(ms932, /こんにちは/);
    assert.match(ms932, /テスト/);
    assert.match(get('testRTFUnicodeGothic.rtf').text, /𐌲𐌿𐍄𐌹𐍃𐌺/);
    assert.match(get('testRTFWindowsCodepage1250.rtf').text, /zażółć gęślą jaźń/);
  });

  test('HTML: BOM and charsets honoured, title kept, scripts dropped', () => {
    const utf16 = get('testHTML_charset_utf16le.html').text;
    assert.match(utf16, /This is a sample text/);
    assert.match(utf16, /^Title\b/);
    // Declares UTF-8 but is windows-1256: the declaration is ignored when the bytes disprove it.
    assert.match(get('testArabicMisleadingCharset.html').text, /[\u0621-\u064A]{3,}/);
    assert.match(get('testHTMLNoisyMetaEncoding_4.html').text, /الاتحاد الجزائري/);
    assert.match(get('testHTML_utf8.html').text, /åäö/);
    const script = get('testHTMLBadScript.html').text;
    assert.match(script, /This is a test\./);
    assert.doesNotMatch(script, /function|alert|document\.|<script/i);
    assert.match(get('testHTML_head.html').text, /Apache Tika/);
  });

  test('plain text, csv and markdown come out as written', () => {
    assert.match(get('testTXTNonASCIIUTF8.txt').text, /The quick brown fox/);
    assert.match(get('foo.csv').text, /qwertyuiop/);
    assert.match(get('testMARKDOWN_dataURI.md').text, /Embedded resources/);
  });

  test('encrypted, truncated and old-format files get an honest status; legacy .xls/.ppt are read', () => {
    for (const name of ['testWORD_protected_passtika.docx', 'testEXCEL_protected_passtika.xlsx', 'testPPT_protected_passtika.pptx', 'testPPT_protected_passtika.ppt']) {
      const locked = get(name);
      assert.equal(locked.status, 'encrypted', name);
      assert.match(locked.error ?? '', /password/, name);
    }
    assert.equal(get('testWORD_truncated.docx').status, 'failed');
    // Plain text under an .odt name: read as the text it is, or refused as a broken ODT, never 'ok' as ODT.
    const notZip = get('testODTnotaZipFile.odt');
    assert.equal(notZip.status, notZip.kind === 'text' ? 'ok' : 'failed');
    assert.match(get('testWORD6.doc').text, /The quick brown fox jumps over the lazy dog/, 'Word 6.0 text is read');
    assert.equal(get('testWordPerfect_42.doc').status, 'unsupported');
    const xls = get('testEXCEL.xls');
    assert.equal(xls.status, 'ok');
    assert.match(xls.text, /Sample Excel Worksheet - Numbers and their Squares/);
    assert.equal(xls.metadata?.title, 'Simple Excel document');
    assert.match(get('testEXCEL_4.xls').text, /Examination Coverage/, 'Excel 4.0 files (bare BIFF4, no OLE2 container) are read');
    const ppt = get('testPPT.ppt');
    assert.equal(ppt.status, 'ok');
    assert.match(ppt.text, /Sample Powerpoint Slide/);
    assert.doesNotMatch(ppt.text, /Click to edit Master/, 'master placeholder prompts are not content');
    assert.equal(ppt.metadata?.authors?.[0], 'Keith Bennett');
  });

  test('charts, master footers and spreadsheet text boxes come out of OOXML/ODF', () => {
    assert.match(get('testPPT_charts.pptx').text, /February/);
    assert.match(get('testMasterFooter.odp').text, /Master footer is here/);
  });
});

// ---- zip bombs, built by hand: deflate streams from node:zlib and a written central directory ----

type ZipEntry = { name: string; method: 0 | 8; data: Uint8Array; crc: number; declaredSize: number };

function buildZip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.method, 8);
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(e.crc >>> 0, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.declaredSize, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(e.method, 10);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(e.crc >>> 0, 16);
    central.writeUInt32LE(e.data.length, 20);
    central.writeUInt32LE(e.declaredSize, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, Buffer.from(e.data));
    centrals.push(central, name);
    offset += 30 + name.length + e.data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** A raw deflate stream of `mib` MiB of zeros, about 1 KB per MiB: full-flushed blocks repeated. */
function zerosDeflated(mib: number): Buffer {
  const block = deflateRawSync(Buffer.alloc(1 << 20), { finishFlush: constants.Z_FULL_FLUSH });
  return Buffer.concat([...Array.from({ length: mib }, () => block), Buffer.from([0x03, 0x00])]);
}

function xmlEntry(name: string, xml: string): ZipEntry {
  const raw = Buffer.from(xml, 'utf8');
  return { name, method: 8, data: deflateRawSync(raw), crc: crc32(raw), declaredSize: raw.length };
}

const CONTENT_TYPES = xmlEntry(
  '[Content_Types].xml',
  '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
);

describe('zip bombs are refused before inflating', () => {
  test('one entry declaring 2 GiB of zeros', async () => {
    const zeros = zerosDeflated(2048);
    const path = await tempFile('bomb-2gib.docx', buildZip([CONTENT_TYPES, { name: 'word/document.xml', method: 8, data: zeros, crc: 0, declaredSize: 2048 * (1 << 20) }]));
    const r = await extractDocument(path, 'docx', LIMITS);
    assert.equal(r.status, 'failed');
    assert.match(r.error ?? '', /zip archive declares more than \d+ bytes/);
    assert.equal(r.text, '');
  });

  test('an entry whose ratio is past what deflate can honestly reach', async () => {
    const zeros = zerosDeflated(32);
    const declared = 64 * (1 << 20); // claims twice what the stream holds: ~64000:1
    const path = await tempFile('bomb-ratio.docx', buildZip([CONTENT_TYPES, { name: 'word/document.xml', method: 8, data: zeros, crc: 0, declaredSize: declared }]));
    const r = await extractDocument(path, 'docx', LIMITS);
    assert.equal(r.status, 'failed');
    assert.match(r.error ?? '', /expands \d+:1/);
  });

  test(`more than ${DEFAULT_DOCUMENT_BOUNDS.zip.maxEntries} entries`, async () => {
    const empty: ZipEntry = { name: '', method: 0, data: new Uint8Array(0), crc: 0, declaredSize: 0 };
    const entries = Array.from({ length: DEFAULT_DOCUMENT_BOUNDS.zip.maxEntries + 1 }, (_, i) => ({ ...empty, name: `p/${i}` }));
    const path = await tempFile('bomb-entries.xlsx', buildZip(entries));
    const r = await extractDocument(path, 'xlsx', LIMITS);
    assert.equal(r.status, 'failed');
    assert.match(r.error ?? '', /more than 10000 entries/);
  });

  test('an entry that lies about its size is stopped by the inflated-bytes bound', async () => {
    // Declares 200 bytes, really inflates to 16 MiB: passes the directory check, caught while inflating.
    const path = await tempFile('bomb-lying.docx', buildZip([CONTENT_TYPES, { name: 'word/document.xml', method: 8, data: zerosDeflated(16), crc: 0, declaredSize: 200 }]));
    const bounds = { ...DEFAULT_DOCUMENT_BOUNDS, zip: { ...DEFAULT_DOCUMENT_BOUNDS.zip, maxInflatedBytes: 4 * (1 << 20) } };
    const r = await extractDocument(path, 'docx', LIMITS, bounds);
    assert.equal(r.status, 'failed');
    assert.match(r.error ?? '', /inflates past the size limit/);
  });

  test('a small honest docx built the same way is read (the builder makes valid zips)', async () => {
    const doc = xmlEntry(
      'word/document.xml',
      '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>見積書 quotation 2024</w:t></w:r></w:p></w:body></w:document>',
    );
    const rels = xmlEntry(
      '_rels/.rels',
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
    );
    const path = await tempFile('honest.docx', buildZip([CONTENT_TYPES, rels, doc]));
    const r = await extractDocument(path, 'docx', LIMITS);
    assert.equal(r.status, 'ok', r.error);
    assert.match(r.text, /見積書 quotation 2024/);
  });
});

describe('damaged, empty and overlong files', () => {
  test('garbage bytes named .docx fail without throwing', async () => {
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 0xff));
    const r = await extractDocument(await tempFile('garbage.docx', garbage), 'docx', LIMITS);
    assert.equal(r.status, 'failed');
    assert.ok(r.error);
  });

  test('a docx cut in half fails without throwing', { skip: HAVE_TIKA ? false : 'corpus absent' }, async () => {
    const whole = await readFile(join(TIKA, 'testWORD_features.docx'));
    const r = await extractDocument(await tempFile('half.docx', whole.subarray(0, whole.length >> 1)), 'docx', LIMITS);
    assert.equal(r.status, 'failed');
    assert.ok(r.error);
  });

  test('a zip header followed by garbage fails without throwing', async () => {
    const bytes = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(500, 0x41)]);
    for (const kind of ['docx', 'xlsx', 'pptx', 'odt', 'ods', 'odp'] as const) {
      const r = await extractDocument(await tempFile(`pk-garbage.${kind}`, bytes), kind, LIMITS);
      assert.equal(r.status, 'failed', kind);
    }
  });

  test('a 0-byte office file fails as empty; a 0-byte text file is ok and empty', async () => {
    const docx = await extractDocument(await tempFile('empty.docx', ''), 'docx', LIMITS);
    assert.equal(docx.status, 'failed');
    assert.match(docx.error ?? '', /empty/);
    const doc = await extractDocument(await tempFile('empty.doc', ''), 'doc', LIMITS);
    assert.equal(doc.status, 'failed');
    const txt = await extractDocument(await tempFile('empty.txt', ''), 'text', LIMITS);
    assert.equal(txt.status, 'ok');
    assert.equal(txt.text, '');
  });

  test('a missing file fails without throwing', async () => {
    const r = await extractDocument(join(dir, 'no-such-file.docx'), 'docx', LIMITS);
    assert.equal(r.status, 'failed');
    assert.match(r.error ?? '', /ENOENT|no such file/);
  });

  test('text past maxChars is cut and marked truncated, status stays ok', { skip: HAVE_TIKA ? false : 'corpus absent' }, async () => {
    const limits = { ...LIMITS, maxChars: 1000 };
    const full = await extractDocument(join(TIKA, 'testWORD_endnote_table.docx'), 'docx', LIMITS);
    assert.ok(full.text.length > 1000, `fixture too short: ${full.text.length}`);
    assert.equal(full.truncated, undefined);
    const cut = await extractDocument(join(TIKA, 'testWORD_endnote_table.docx'), 'docx', limits);
    assert.equal(cut.status, 'ok');
    assert.equal(cut.truncated, true);
    assert.equal(cut.text.length, 1000);
    assert.equal(cut.text, full.text.slice(0, 1000));
  });

  test('a long text file is read only as far as maxChars needs, and marked truncated', async () => {
    const line = '東京都千代田区 invoice line\n';
    const path = await tempFile('long.txt', line.repeat(20_000));
    const r = await extractDocument(path, 'text', { ...LIMITS, maxChars: 500 });
    assert.equal(r.status, 'ok');
    assert.equal(r.truncated, true);
    assert.equal(r.text.length, 500);
    assert.ok(r.text.startsWith(line.trim()));
  });

  test('the cut never splits a surrogate pair', async () => {
    const path = await tempFile('gothic.txt', 'a' + '𐌲'.repeat(10));
    const r = await extractDocument(path, 'text', { ...LIMITS, maxChars: 4 });
    assert.equal(r.truncated, true);
    assert.equal(r.text, 'a𐌲'); // 'a' + one pair = 3 units; a 4th unit would be half a pair
    assert.equal(r.text, r.text.toWellFormed());
  });

  test('kinds this module does not read are unsupported, with a reason', async () => {
    const path = await tempFile('x.bin', 'x');
    for (const kind of ['pdf', 'image', 'unknown'] as const) {
      const r = await extractDocument(path, kind, LIMITS);
      assert.equal(r.status, 'unsupported', kind);
      assert.ok(r.error, kind);
    }
  });
});

describe('text encodings', () => {
  const SAMPLE = '請求書 株式会社サンプル 東京都千代田区丸の内 お支払い期限は月末です。';
  // SAMPLE encoded by Python's codecs (shift_jis, euc_jp, iso2022_jp).
  const ENCODED: Record<string, string> = {
    shift_jis: '90bf8b818f91208a948eae89ef8ed0835483938376838b20938c8b9e937390e791e393638be68adb82cc93e02082a88e7895a582a28afa8cc082cd8c8e969682c582b78142',
    'euc-jp': 'c0c1b5e1bdf120b3f4bcb0b2f1bcd2a5b5a5f3a5d7a5eb20c5ecb5fec5d4c0e9c2e5c5c4b6e8b4dda4cec6e220a4aabbd9caa7a4a4b4fcb8c2a4cfb7eecbf6a4c7a4b9a1a3',
    'iso-2022-jp': '1b2442404135613d711b2842201b244233743c3032713c52253525732557256b1b2842201b2442456c357e45544069426545443668345d244e46621b2842201b2442242a3b594a272424347c3842244f376e4b762447243921231b2842',
  };

  for (const [encoding, hex] of Object.entries(ENCODED)) {
    test(`${encoding} text without a declaration is detected`, async () => {
      const r = await extractDocument(await tempFile(`${encoding}.txt`, Buffer.from(hex, 'hex')), 'text', LIMITS);
      assert.equal(r.text, SAMPLE);
    });
  }

  test('UTF-16LE with a BOM, UTF-16BE with a BOM and UTF-16LE without one', async () => {
    const text = `${SAMPLE}\nInvoice 2024`;
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.from(le).swap16();
    const bare = Buffer.from(text.replace(SAMPLE, 'Plain ASCII heavy line for detection'), 'utf16le');
    assert.equal((await extractDocument(await tempFile('le.txt', le), 'text', LIMITS)).text, text);
    assert.equal((await extractDocument(await tempFile('be.txt', be), 'text', LIMITS)).text, text);
    assert.equal((await extractDocument(await tempFile('bare.csv', bare), 'csv', LIMITS)).text, 'Plain ASCII heavy line for detection\nInvoice 2024');
  });

  test('Shift_JIS HTML with a meta charset is read in that charset', async () => {
    const html = Buffer.concat([
      Buffer.from('<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS"><title>t</title></head><body><p>', 'latin1'),
      Buffer.from(ENCODED.shift_jis!, 'hex'),
      Buffer.from('</p><script>var hidden = 1;</script><style>p { color: red }</style></body></html>', 'latin1'),
    ]);
    const r = await extractDocument(await tempFile('sjis.html', html), 'html', LIMITS);
    assert.equal(r.status, 'ok');
    assert.match(r.text, new RegExp(SAMPLE));
    assert.doesNotMatch(r.text, /hidden|color/);
  });

  for (const encoding of ['euc-jp', 'iso-2022-jp'] as const) {
    test(`${encoding} HTML with a meta charset is read in that charset`, async () => {
      const html = Buffer.concat([
        Buffer.from(`<html><head><meta charset="${encoding.toUpperCase()}"><title>t</title></head><body><p>`, 'latin1'),
        Buffer.from(ENCODED[encoding]!, 'hex'),
        Buffer.from('</p></body></html>', 'latin1'),
      ]);
      const r = await extractDocument(await tempFile(`${encoding}.html`, html), 'html', LIMITS);
      assert.equal(r.status, 'ok');
      assert.match(r.text, new RegExp(SAMPLE));
    });
  }

  test('RTF with \\ansicpg932: Shift_JIS \\\'xx escapes are decoded', async () => {
    // SAMPLE's first words as Shift_JIS bytes, written the way Word writes them: \'90\'bf...
    const sjis = Buffer.from(ENCODED.shift_jis!, 'hex').subarray(0, 23);
    const escaped = [...sjis].map((b) => `\\'${b.toString(16).padStart(2, '0')}`).join('');
    const rtf = `{\\rtf1\\ansi\\ansicpg932\\deff0{\\fonttbl{\\f0\\fnil\\fcharset128 MS Mincho;}}\\f0 ${escaped}\\par Invoice\\par}`;
    const r = await extractDocument(await tempFile('sjis.rtf', rtf), 'rtf', LIMITS);
    assert.equal(r.status, 'ok', r.error);
    assert.match(r.text, /請求書 株式会社サンプル/);
    assert.match(r.text, /Invoice/);
  });

  test('HTML entities are decoded', async () => {
    const r = await extractDocument(await tempFile('ent.html', '<html><body><p>A &amp; B &lt;c&gt; &#26085;&#x672C; &eacute;</p></body></html>'), 'html', LIMITS);
    assert.equal(r.text, 'A & B <c> 日本 é');
  });
});
