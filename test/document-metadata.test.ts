// Documents tell who wrote them, when, and what they are called: metadata per format (OLE2 summary
// information in .xls/.ppt, OOXML core properties, PDF Info + XMP), legacy .xls/.ppt text, and
// password-protected files that end as `encrypted` with their metadata kept. Every file is built here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectKind } from '../src/workers/extract/detect.ts';
import { extractDocument } from '../src/workers/extract/documents.ts';
import extract from '../src/workers/extract-worker.ts';
import type { ExtractLimits, ExtractRequest } from '../src/types.ts';
import { buildDocx, buildEncryptedOoxml, buildPpt, buildXls } from './helpers/make-office.ts';
import { makePdf, pdfStream } from './helpers/make-pdf.ts';

const LIMITS: ExtractLimits = { maxOcrPages: 0, maxChars: 100_000, docTimeoutMs: 20_000, pageTimeoutMs: 10_000, maxPixels: 50_000_000 };
const CREATED = new Date('2024-04-01T09:30:00Z');
const MODIFIED = new Date('2024-05-02T18:00:00Z');

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doc-metadata-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

function request(path: string, name: string): ExtractRequest {
  return { path, name, size: 0, limits: LIMITS, ocrLangs: 'eng', wantThumbnail: false };
}

describe('Excel 97-2003 (.xls)', () => {
  test('cells of every sheet come out row by row under the sheet name, with the summary metadata', async () => {
    const xls = buildXls(
      [
        { name: '売上', rows: [['品目', '数量', '納品日'], ['りんご', 12, new Date('2024-03-15T00:00:00Z')], ['Widget', 3.5]] },
        { name: 'Notes', rows: [['Quarterly figures, unaudited']] },
      ],
      { summary: { title: '四半期売上', author: '山田 太郎; Jane Doe', keywords: 'sales, 2024', created: CREATED, modified: MODIFIED, application: 'Microsoft Excel' } },
    );
    const path = await file('sales.xls', xls);
    assert.equal(await detectKind(path, 'sales.xls'), 'xls');
    const r = await extractDocument(path, 'xls', LIMITS);
    assert.equal(r.status, 'ok', r.error);
    assert.equal(r.pages, 2, 'pages counts the sheets');
    assert.match(r.text, /売上\n品目\t数量\t納品日\nりんご\t12\t2024-03-15\nWidget\t3\.5/, 'a date cell reads as a date, not as its serial number');
    assert.match(r.text, /Notes\nQuarterly figures, unaudited/);
    assert.deepEqual(r.metadata, {
      title: '四半期売上',
      authors: ['山田 太郎', 'Jane Doe'],
      keywords: ['sales', '2024'],
      created: CREATED.toISOString(),
      modified: MODIFIED.toISOString(),
      application: 'Microsoft Excel',
    });
  });

  test('a password-protected workbook is encrypted, and its summary metadata is still kept', async () => {
    const xls = buildXls([{ name: 'Secret', rows: [['salary', 100]] }], { encrypted: true, summary: { title: 'Payroll 2024', author: 'HR' } });
    const r = await extractDocument(await file('payroll.xls', xls), 'xls', LIMITS);
    assert.equal(r.status, 'encrypted');
    assert.equal(r.text, '');
    assert.match(r.error ?? '', /password/);
    assert.equal(r.metadata?.title, 'Payroll 2024');
    assert.deepEqual(r.metadata?.authors, ['HR']);
  });

  test('a damaged .xls fails with a reason, without throwing', async () => {
    const r = await extractDocument(await file('bad.xls', Buffer.concat([Buffer.from('d0cf11e0a1b11ae1', 'hex'), Buffer.alloc(600, 7)])), 'xls', LIMITS);
    assert.equal(r.status, 'failed');
    assert.match(r.error ?? '', /OLE2|compound|Excel/i);
  });
});

describe('PowerPoint 97-2003 (.ppt)', () => {
  test('slide text and comments come out, slides are counted, metadata kept', async () => {
    const ppt = buildPpt(['Roadmap 2025\nPhase one', '次の四半期の計画'], {
      comment: 'Check the dates with finance',
      summary: { title: 'Roadmap', subject: 'Planning', author: 'Suzuki', created: CREATED, application: 'Microsoft PowerPoint' },
    });
    const path = await file('roadmap.ppt', ppt);
    assert.equal(await detectKind(path, 'roadmap.ppt'), 'ppt');
    const r = await extractDocument(path, 'ppt', LIMITS);
    assert.equal(r.status, 'ok', r.error);
    assert.equal(r.pages, 2);
    assert.match(r.text, /Roadmap 2025\nPhase one/);
    assert.match(r.text, /次の四半期の計画/);
    assert.match(r.text, /Check the dates with finance/);
    assert.doesNotMatch(r.text, /Reviewer/, 'the comment author is not content');
    assert.deepEqual(r.metadata, { title: 'Roadmap', subject: 'Planning', authors: ['Suzuki'], created: CREATED.toISOString(), application: 'Microsoft PowerPoint' });
  });

  test('master text is kept, but not the title/body prompts, whatever their language', async () => {
    const ppt = buildPpt(['本文のスライド'], { master: { prompt: 'マスター タイトルの書式設定', footer: '社外秘 ACME株式会社' } });
    const r = await extractDocument(await file('master.ppt', ppt), 'ppt', LIMITS);
    assert.equal(r.status, 'ok', r.error);
    assert.match(r.text, /社外秘 ACME株式会社/);
    assert.doesNotMatch(r.text, /マスター タイトル/);
    assert.match(r.text, /本文のスライド/);
  });

  test('a password-protected presentation is encrypted with its metadata', async () => {
    const r = await extractDocument(await file('locked.ppt', buildPpt(['hidden'], { encrypted: true, summary: { title: 'Board deck' } })), 'ppt', LIMITS);
    assert.equal(r.status, 'encrypted');
    assert.equal(r.metadata?.title, 'Board deck');
  });
});

describe('OOXML and PDF metadata', () => {
  test('docx core properties: title, several authors, keywords, dates as ISO, application', async () => {
    const docx = buildDocx(['契約書の本文です。'], {
      title: '業務委託契約書', creator: '佐藤; Tanaka', subject: '契約', keywords: '契約, 委託', created: '2023-11-05T01:02:03Z', modified: '2024-01-10T00:00:00Z', application: 'Microsoft Office Word',
    });
    const r = await extractDocument(await file('contract.docx', docx), 'docx', LIMITS);
    assert.equal(r.status, 'ok', r.error);
    assert.match(r.text, /契約書の本文です。/);
    assert.equal(r.metadata?.title, '業務委託契約書');
    assert.deepEqual(r.metadata?.authors, ['佐藤', 'Tanaka']);
    assert.equal(r.metadata?.subject, '契約');
    assert.deepEqual(r.metadata?.keywords, ['契約', '委託']);
    assert.equal(r.metadata?.created, '2023-11-05T01:02:03.000Z');
    assert.equal(r.metadata?.modified, '2024-01-10T00:00:00.000Z');
    assert.equal(r.metadata?.application, 'Microsoft Office Word');
  });

  test('a password-protected docx (OLE2 wrapper) is encrypted, through the whole extract worker', async () => {
    const path = await file('locked.docx', buildEncryptedOoxml({ summary: { title: 'Locked contract' } }));
    const r = await extract(request(path, 'locked.docx'));
    assert.equal(r.status, 'encrypted');
    assert.equal(r.contentType, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    assert.equal(r.metadata?.title, 'Locked contract');
  });

  test('PDF: XMP authors list and Info dates; XMP wins where both speak', async () => {
    const xmp = Buffer.from(`<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">Annual Report 2024</rdf:li></rdf:Alt></dc:title><dc:creator><rdf:Seq><rdf:li>Alice Smith</rdf:li><rdf:li>Bob Jones</rdf:li></rdf:Seq></dc:creator><xmp:CreatorTool>Writer 7</xmp:CreatorTool></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`);
    const content = Buffer.from('BT /F1 12 Tf 72 720 Td (Revenue grew in every region.) Tj ET');
    const pdf = makePdf([
      '<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R >>',
      '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
      '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
      pdfStream(content),
      '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
      pdfStream(xmp, '/Type /Metadata /Subtype /XML'),
      "<< /Title (Old title) /Author (Someone Else) /Subject (Finance) /Keywords (report; annual) /CreationDate (D:20240131120000+09'00') /ModDate (D:20240201) /Producer (pdfTeX) >>",
    ], '/Info 7 0 R');
    const r = await extract(request(await file('report.pdf', pdf), 'report.pdf'));
    assert.equal(r.status, 'ok', r.error);
    assert.match(r.text, /Revenue grew/);
    assert.deepEqual(r.metadata, {
      title: 'Annual Report 2024',
      authors: ['Alice Smith', 'Bob Jones'],
      subject: 'Finance',
      keywords: ['report', 'annual'],
      created: '2024-01-31T03:00:00.000Z',
      modified: '2024-02-01T00:00:00.000Z',
      application: 'Writer 7',
    });
  });
});

test('Excel number formats: which format codes are dates', async () => {
  const { isDateFormat } = await import('../src/workers/extract/legacy-excel.ts');
  for (const code of ['yyyy/mm/dd', 'm/d/yy h:mm', '[$-411]ggge"年"m"月"d"日"', 'hh:mm:ss', 'd-mmm-yy', 'mm:ss.0']) assert.equal(isDateFormat(code), true, code);
  for (const code of ['0.00', '#,##0', '0%', '"days"0', '[Red]#,##0', 'General', '@']) assert.equal(isDateFormat(code), false, code);
});
