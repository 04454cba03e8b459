// Mail and archives: an .eml with a PDF attachment, an Outlook .msg, a .zip holding a .docx, nested
// archives up to depth 2, zip bombs inside containers, password-protected archives and DocuWorks files.
// Every file is built here; each goes through the whole extract worker (detection included).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import extract from '../src/workers/extract-worker.ts';
import type { ExtractLimits, ExtractResult } from '../src/types.ts';
import { buildDocx, buildEml, buildMsg, buildXls } from './helpers/make-office.ts';
import { makePdf, pdfStream } from './helpers/make-pdf.ts';

const LIMITS: ExtractLimits = { maxOcrPages: 0, maxChars: 100_000, docTimeoutMs: 30_000, pageTimeoutMs: 10_000, maxPixels: 50_000_000 };

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'containers-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(name: string, bytes: Uint8Array, limits = LIMITS): Promise<ExtractResult> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return extract({ path, name, size: bytes.length, limits, ocrLangs: 'eng', wantThumbnail: false });
}

function textPdf(line: string): Buffer {
  const content = Buffer.from(`BT /F1 12 Tf 72 720 Td (${line}) Tj ET`);
  return makePdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    pdfStream(content),
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ]);
}

describe('e-mail', () => {
  test('an .eml with a PDF attachment: headers as metadata and text, the body, and the PDF text folded in', async () => {
    const eml = buildEml({
      from: '"Tanaka Ichiro" <tanaka@example.co.jp>', to: 'sales@example.com', cc: 'Sato <sato@example.co.jp>',
      subject: '見積書の送付', date: 'Tue, 05 Mar 2024 10:15:00 +0900', body: 'いつもお世話になっております。見積書を添付します。',
      attachments: [{ name: 'quote-2024.pdf', contentType: 'application/pdf', bytes: textPdf('Quotation total 1,200,000 JPY') }],
    });
    const r = await run('quote.eml', eml);
    assert.equal(r.contentType, 'message/rfc822');
    assert.equal(r.status, 'ok', r.error);
    assert.match(r.text, /^Subject: 見積書の送付\nFrom: Tanaka Ichiro <tanaka@example\.co\.jp>\nTo: sales@example\.com, Sato <sato@example\.co\.jp>/);
    assert.match(r.text, /見積書を添付します。/);
    assert.match(r.text, /=== quote-2024\.pdf ===\nQuotation total 1,200,000 JPY/);
    assert.deepEqual(r.metadata, {
      title: '見積書の送付',
      authors: ['Tanaka Ichiro <tanaka@example.co.jp>'],
      recipients: ['sales@example.com', 'Sato <sato@example.co.jp>'],
      created: '2024-03-05T01:15:00.000Z',
    });
  });

  test('an Outlook .msg: sender, recipient, date, body and a spreadsheet attachment', async () => {
    const msg = buildMsg({
      subject: 'Quarterly numbers', body: 'Please see the attached sheet.', senderName: 'Alice Sender', senderEmail: 'alice@example.com',
      to: 'Bob', toEmail: 'bob@example.com', sent: new Date('2024-03-04T05:06:07Z'),
      attachments: [{ name: 'q1.xls', bytes: buildXls([{ name: 'Q1', rows: [['Revenue', 1500]] }]) }],
    });
    const r = await run('numbers.msg', msg);
    assert.equal(r.contentType, 'application/vnd.ms-outlook');
    assert.equal(r.status, 'ok', r.error);
    assert.match(r.text, /Subject: Quarterly numbers\nFrom: Alice Sender <alice@example\.com>\nTo: Bob <bob@example\.com>/);
    assert.match(r.text, /Please see the attached sheet\./);
    assert.match(r.text, /=== q1\.xls ===\nQ1\nRevenue\t1500/);
    assert.equal(r.metadata?.created, '2024-03-04T05:06:07.000Z');
    assert.deepEqual(r.metadata?.authors, ['Alice Sender <alice@example.com>']);
  });

  test('a mail whose attachment is password-protected is partial and names it', async () => {
    const eml = buildEml({
      from: 'a@example.com', to: 'b@example.com', subject: 'locked', date: 'Tue, 05 Mar 2024 10:15:00 +0000', body: 'see attachment',
      attachments: [{ name: 'secret.xls', contentType: 'application/vnd.ms-excel', bytes: buildXls([{ name: 'S', rows: [['x']] }], { encrypted: true }) }],
    });
    const r = await run('locked.eml', eml);
    assert.equal(r.status, 'partial');
    assert.match(r.error ?? '', /secret\.xls: the workbook is password-protected/);
    assert.match(r.text, /see attachment/);
  });
});

describe('zip archives', () => {
  test('a .zip holding a .docx (and a text file): each entry read and folded in under its name', async () => {
    const zip = zipSync({
      'contracts/業務委託契約書.docx': buildDocx(['第一条 本契約は業務の委託について定める。']),
      'readme.txt': strToU8('Signed copies are in the cabinet.'),
      'empty-dir/': new Uint8Array(),
    });
    const r = await run('contracts.zip', zip);
    assert.equal(r.contentType, 'application/zip');
    assert.equal(r.status, 'ok', r.error);
    assert.match(r.text, /=== contracts\/業務委託契約書\.docx ===\n第一条 本契約は業務の委託について定める。/);
    assert.match(r.text, /=== readme\.txt ===\nSigned copies are in the cabinet\./);
    assert.equal(r.pages, 2, 'pages counts the files of the archive');
  });

  test('nesting: a zip in a zip is read; a zip one level deeper is only named', async () => {
    const level2 = zipSync({ 'deep.txt': strToU8('too deep to read') });
    const level1 = zipSync({ 'inner.txt': strToU8('inner words'), 'level2.zip': level2 });
    const r = await run('outer.zip', zipSync({ 'level1.zip': level1 }));
    assert.equal(r.status, 'ok', r.error);
    assert.match(r.text, /inner words/);
    assert.match(r.text, /=== level2\.zip ===/);
    assert.doesNotMatch(r.text, /too deep to read/);
  });

  test('a zip bomb is refused by the guard before anything is inflated', async () => {
    const bomb = Buffer.from(zipSync({ 'a.bin': new Uint8Array(1024), 'b.txt': strToU8('fine') }, { level: 9 }));
    // Declare 3 GiB for a.bin in the central directory.
    bomb.writeUInt32LE(0xc0000000, bomb.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])) + 24);
    const r = await run('bomb.zip', bomb);
    assert.equal(r.status, 'failed');
    assert.match(r.error ?? '', /refused: zip archive declares more than/);
    assert.equal(r.text, '');
  });

  test('an entry that lies about its size stops at the inflate bound and the rest is still read', async () => {
    const zip = Buffer.from(zipSync({ 'big.txt': new Uint8Array(8 * 1024 * 1024).fill(0x41), 'ok.txt': strToU8('still here') }, { level: 9 }));
    // Rewrite big.txt's declared size in the central directory to 100 bytes: the guard sees nothing odd.
    const cd = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt32LE(100, cd + 24);
    const r = await run('liar.zip', zip);
    assert.equal(r.status, 'partial');
    assert.match(r.error ?? '', /big\.txt: the entry inflates past the 100 bytes it declares/);
    assert.match(r.text, /=== ok\.txt ===\nstill here/);
    assert.doesNotMatch(r.text, /AAAA/, 'nothing of the lying entry was kept');
  });

  test('a zip whose entries are all password-protected is encrypted, with the entry names as text', async () => {
    const zip = Buffer.from(zipSync({ 'salaries.xlsx': strToU8('x'.repeat(100)) }, { level: 0 }));
    // Set the "encrypted" flag bit in the local and central headers.
    zip.writeUInt16LE(zip.readUInt16LE(6) | 1, 6);
    const cd = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    zip.writeUInt16LE(zip.readUInt16LE(cd + 8) | 1, cd + 8);
    const r = await run('locked.zip', zip);
    assert.equal(r.status, 'encrypted');
    assert.match(r.text, /salaries\.xlsx/);
  });

  test('Shift_JIS entry names (Japanese Windows zips) are decoded', async () => {
    const zip = Buffer.from(zipSync({ 'AAAA.txt': strToU8('本文') }));
    // 請求 in Shift_JIS is 90 bf 8b 81: put it in place of "AAAA" (no UTF-8 flag set).
    for (let i = zip.indexOf('AAAA'); i >= 0; i = zip.indexOf('AAAA', i + 1)) Buffer.from('90bf8b81', 'hex').copy(zip, i);
    const r = await run('sjis.zip', zip);
    assert.match(r.text, /=== 請求\.txt ===\n本文/);
  });
});

describe('DocuWorks', () => {
  test('.xdw and .xbd are metadata-only, marked to open in DocuWorks', async () => {
    for (const name of ['図面.xdw', 'binder.xbd']) {
      const r = await run(name, Buffer.from([0x58, 0x44, 0x57, 0x46, 0, 1, 2, 3]));
      assert.equal(r.status, 'unsupported', name);
      assert.equal(r.metadata?.openWith, 'DocuWorks', name);
      assert.match(r.error ?? '', /open them in DocuWorks/);
    }
  });
});
