// The README's first command on a fresh clone: `npm start -- index examples`, then search and dump —
// run as a person would, through the CLI, with the real extract pool (pdf.js, OCR, office).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METADATA_FIELD_NAMES } from '../src/types.ts';

const root = new URL('..', import.meta.url).pathname;

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['src/cli.ts', ...args], {
    cwd: root,
    env: { ...process.env, POOL_SIZE: '2', LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('index examples, then search finds words from the text PDF, the scan (OCR), the Japanese notes and the Word file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fsw-cli-'));
  const db = join(dir, 'index.db');
  try {
    const first = cli(['index', 'examples', '--db', db]);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /indexed \d+ document\(s\)/);

    const docs = cli(['dump', '--db', db]).out.trim().split('\n').map((l) => JSON.parse(l));
    const byName = new Map(docs.map((d) => [d.name, d]));
    for (const d of docs) {
      for (const field of ['id', 'source', 'name', 'contentType', 'size', 'status', 'error', 'text', 'pages', 'thumbnail', ...METADATA_FIELD_NAMES]) assert.ok(field in d, `${d.name} has ${field}`);
    }
    assert.equal(byName.get('会議メモ.md')?.language, 'ja');
    assert.equal(byName.get('tracemonkey.pdf')?.language, 'en');
    assert.match(byName.get('office.docx')?.created ?? '', /^\d{4}-\d{2}-\d{2}T/, 'dates come out as ISO 8601');
    assert.equal(byName.get('scanned-page.tif')?.ocrPages, 1, 'the scan was OCR-read');
    assert.equal(byName.get('tracemonkey.pdf')?.ocrPages, 0, 'a born-digital PDF is never OCR-read');
    assert.equal(byName.get('tracemonkey.pdf')?.status, 'ok');
    assert.equal(byName.get('tracemonkey.pdf')?.pages, 14);
    assert.ok(byName.get('scanned-page.tif')?.thumbnail, 'a thumbnail was made for the scan');
    const thumbs = await readdir(join(dir, 'thumbnails'));
    assert.ok(thumbs.some((f) => f.endsWith('.webp')));

    const search = (q: string) => cli(['search', q, '--db', db, '--json']).out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).name as string);
    assert.ok(search('quick brown').includes('scanned-page.tif'), 'OCR text is searchable');
    assert.ok(search('会議').includes('会議メモ.md'), 'Japanese is searchable by a two-character word');
    assert.ok(search('サムネイル').includes('会議メモ.md'));
    assert.ok(search('Just-in-Time').includes('tracemonkey.pdf'), 'the PDF text layer is searchable');
    assert.ok(search('あいうえお').includes('japanese-sjis.pdf'), 'Japanese CMap text comes out of pdf.js');
    const office = byName.get('office.docx');
    assert.equal(office?.status, 'ok');
    assert.ok(office.text.length > 20, 'the Word file has text');

    const human = cli(['search', 'quick brown', '--db', db]);
    assert.match(human.out, /scanned-page\.tif/);
    assert.match(human.out, /\[/, 'snippets mark the match');

    const again = cli(['index', 'examples', '--db', db]);
    assert.equal(again.code, 0);
    assert.match(again.out, /indexed 0 document\(s\).*; \d+ unchanged/, 're-running skips unchanged files');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a bad configuration value stops the CLI once with a message naming it', () => {
  const r = cli(['search', 'x'], { QUEUE_BATCH_SIZE: '12' });
  assert.equal(r.code, 78);
  assert.match(r.err, /QUEUE_BATCH_SIZE: must be an integer 1\.\.10, got "12"/);
  assert.doesNotMatch(r.err, /at .*\.ts:\d+/, 'no stack trace');
});
