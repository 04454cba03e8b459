import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { contentTypeOf, detectKind, detectKindFromBytes } from '../src/workers/extract/detect.ts';
import { u16le, u32le } from './helpers/make-office.ts';

const shared = new URL('../../shared/corpus/', import.meta.url).pathname;
const tika = path.join(shared, 'tika');
const haveCorpus = existsSync(tika);

describe('detectKind', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'detect-test-'));
  const write = (name: string, data: string | Uint8Array) => {
    const p = path.join(dir, name);
    writeFileSync(p, data);
    return p;
  };
  test.after(() => rmSync(dir, { recursive: true, force: true }));

  test('magic bytes beat a lying extension', async () => {
    assert.equal(await detectKind(write('a.txt', '%PDF-1.7\n%\u00e2\n1 0 obj'), 'a.txt'), 'pdf');
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    assert.equal(await detectKind(write('b.docx', png), 'b.docx'), 'image');
    assert.equal(await detectKind(write('c.pdf', '{\\rtf1\\ansi hello}'), 'c.pdf'), 'rtf');
    assert.equal(await detectKind(write('d.bin', '<!DOCTYPE html><html><body>x</body></html>'), 'd.bin'), 'html');
  });

  test('text content is refined by a text-family extension or content type only', async () => {
    const p = write('notes', '# title\n\nsome text\n');
    assert.equal(await detectKind(p, 'notes.md'), 'markdown');
    assert.equal(await detectKind(p, 'data.csv'), 'csv');
    assert.equal(await detectKind(p, 'notes', 'text/csv; charset=utf-8'), 'csv');
    assert.equal(await detectKind(p, 'report.docx'), 'text');
    // Shift_JIS bytes are text too (no NULs, few control bytes).
    assert.equal(await detectKind(write('sjis', Buffer.from([0x93, 0xfa, 0x96, 0x7b, 0x8c, 0xea, 0x0a])), 'sjis.txt'), 'text');
  });

  test('unrecognised binary falls back to the extension, then the content type, else unknown', async () => {
    const junk = new Uint8Array(256).map((_, i) => (i * 7) % 256);
    const p = write('junk', junk);
    assert.equal(await detectKind(p, 'junk.xdw'), 'docuworks', 'DocuWorks has no reader: the name decides, and the file is marked to open in DocuWorks');
    assert.equal(await detectKind(p, 'broken.pdf'), 'pdf');
    assert.equal(await detectKind(p, 'x', 'application/vnd.ms-excel'), 'xls');
    assert.equal(await detectKind(p, 'x'), 'unknown');
  });

  test('image content types come from the bytes', () => {
    assert.equal(contentTypeOf('image', 'a.jpg', 'png'), 'image/png');
    assert.equal(contentTypeOf('image', 'a.tif'), 'image/tiff');
    assert.equal(contentTypeOf('docx', 'x'), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
    assert.equal(detectKindFromBytes(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'), 'x.txt'), 'image');
  });

  test('office containers are told apart by their entries when renamed', { skip: haveCorpus ? false : 'shared corpus absent (../shared/corpus/tika)' }, async () => {
    const cases: Array<[string, string]> = [
      ['testWORD_various.docx', 'docx'], ['testEXCEL.xlsx', 'xlsx'], ['testPPT_various.pptx', 'pptx'],
      ['testOpenOffice2.odt', 'odt'], ['testFooter.ods', 'ods'], ['testMasterFooter.odp', 'odp'],
      ['testWORD.doc', 'doc'], ['testEXCEL.xls', 'xls'], ['testPPT.ppt', 'ppt'],
      ['testPDF_Version.7.x.pdf', 'pdf'], ['testJPEG.jpg', 'image'], ['testTIFF_multipage.tif', 'image'],
    ];
    for (const [file, kind] of cases) {
      const renamed = path.join(dir, `${file}.bin`);
      copyFileSync(path.join(tika, file), renamed);
      assert.equal(await detectKind(renamed, 'upload.bin'), kind, file);
      assert.equal(await detectKind(path.join(tika, file), file), kind, `${file} by its own name`);
    }
    // A password-protected docx is an OLE2 wrapper: its name decides, and its parser reports the password.
    assert.equal(await detectKind(path.join(tika, 'protected_upper_case.docx'), 'protected_upper_case.docx'), 'docx');
    // An .odt that is really text is text.
    assert.equal(await detectKind(path.join(tika, 'testODTnotaZipFile.odt'), 'testODTnotaZipFile.odt'), 'text');
  });

  test('a plain zip is an archive, not an office file', async () => {
    // Stored entry "a.txt" with content "hi" plus central directory and EOCD.
    const name = Buffer.from('a.txt');
    const local = Buffer.concat([Buffer.from([0x50, 0x4b, 3, 4, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.alloc(4), u32le(2), u32le(2), u16le(name.length), u16le(0), name, Buffer.from('hi')]);
    const central = Buffer.concat([Buffer.from([0x50, 0x4b, 1, 2, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.alloc(4), u32le(2), u32le(2), u16le(name.length), u16le(0), u16le(0), u16le(0), u16le(0), u32le(0), u32le(0), name]);
    const eocd = Buffer.concat([Buffer.from([0x50, 0x4b, 5, 6]), u16le(0), u16le(0), u16le(1), u16le(1), u32le(central.length), u32le(local.length), u16le(0)]);
    const p = write('plain.zip', Buffer.concat([local, central, eocd]));
    assert.equal(await detectKind(p, 'plain.zip'), 'zip', 'a plain zip is an archive whose entries are read');
    assert.equal(await detectKind(p, 'claims.docx'), 'docx', 'a zip named .docx goes to the docx parser, which says what is wrong');
  });
});

