// `index DIR` walks the whole tree or says why it did not (issue 16): unreadable folders, missing paths
// and names that are not UTF-8 are reported and skipped, the rest is indexed, and the exit code says
// whether every file got its document. Two runs over the same files at once lose nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, writeFileSync, rmSync, unlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { documentId } from '../src/ids.ts';

const root = new URL('..', import.meta.url).pathname;
/** chmod 000 does not stop root: run the CLI as nobody then. */
const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
const ENV = { ...process.env, POOL_SIZE: '1', LOG_LEVEL: 'warn' };

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['src/cli.ts', ...args], { cwd: root, env: { ...ENV, ...env }, encoding: 'utf8', timeout: 120_000, ...asUser });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function cliAsync(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['src/cli.ts', ...args], { cwd: root, env: ENV, ...asUser });
    let out = '';
    let err = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    c.on('exit', (code) => resolve({ code, out, err }));
  });
}

/** A folder anyone can write, so the CLI run as nobody can create its database there. */
async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fsw-walk-'));
  chmodSync(dir, 0o777);
  return dir;
}

function rows(db: string): Array<{ key: string; status: string }> {
  const d = new DatabaseSync(db, { readOnly: true });
  try {
    return d.prepare('SELECT key, status FROM documents ORDER BY key').all() as Array<{ key: string; status: string }>;
  } finally {
    d.close();
  }
}

function makeFiles(dir: string, n: number, prefix = 'f'): string[] {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = join(dir, `${prefix}${String(i).padStart(3, '0')}.txt`);
    writeFileSync(p, `file ${i} of ${prefix} ${'words '.repeat(20)}`, { mode: 0o644 });
    files.push(p);
  }
  return files;
}

test('an unreadable folder and a missing path are reported and skipped; everything else is indexed; exit 1 with the count', async () => {
  const dir = await workDir();
  try {
    const tree = join(dir, 'tree');
    makeFiles(join(tree, 'a'), 25);
    makeFiles(join(tree, 'c'), 25);
    makeFiles(join(tree, 'b-locked'), 3);
    chmodSync(join(tree, 'b-locked'), 0o000);
    chmodSync(tree, 0o755);
    const single = join(dir, 'single.txt');
    writeFileSync(single, 'a single file', { mode: 0o644 });
    const db = join(dir, 'index.db');
    const r = cli(['index', single, join(dir, 'nope'), tree, '--db', db]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /skipped .*b-locked: permission denied/);
    assert.match(r.err, /skipped .*nope: no such file or folder/);
    assert.match(r.err, /2 path\(s\) could not be indexed/);
    assert.equal(rows(db).length, 51, 'the 50 readable files in the tree and the single file are indexed');

    chmodSync(join(tree, 'b-locked'), 0o755);
    const again = cli(['index', single, tree, '--db', db]);
    assert.equal(again.code, 0, `everything readable now: exit 0 (${again.err})`);
    assert.equal(rows(db).length, 54);
  } finally {
    chmodSync(dir, 0o755);
    await rm(dir, { recursive: true, force: true });
  }
});

test('a file name that is not valid UTF-8 is reported, not skipped silently', async () => {
  const dir = await workDir();
  try {
    const tree = join(dir, 'tree');
    makeFiles(tree, 2);
    const bad = Buffer.concat([Buffer.from(join(tree, 'bad-')), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]);
    writeFileSync(bad, 'latin-1 name');
    if (process.getuid?.() === 0) chownSync(bad, 65534, 65534);
    const db = join(dir, 'index.db');
    const r = cli(['index', tree, '--db', db]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /bad-.*: file name is not valid UTF-8/);
    assert.equal(rows(db).length, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a re-run removes the documents of files that are gone; --strict makes failed documents exit 1', async () => {
  const dir = await workDir();
  try {
    const tree = join(dir, 'tree');
    const files = makeFiles(tree, 4);
    const db = join(dir, 'index.db');
    assert.equal(cli(['index', tree, '--db', db]).code, 0);
    // Thumbnails beside the database (text files make none: these stand in for a PDF's and a scan's).
    const thumbs = join(dir, 'thumbnails');
    mkdirSync(thumbs, { recursive: true, mode: 0o777 });
    chmodSync(thumbs, 0o777);
    for (const f of [files[0]!, files[1]!]) writeFileSync(join(thumbs, `${documentId('', f)}.webp`), 'webp');
    unlinkSync(files[1]!);
    const r = cli(['index', tree, '--db', db]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /1 removed \(files gone\)/);
    assert.deepEqual(rows(db).map((x) => x.key), [files[0], files[2], files[3]]);
    assert.deepEqual(readdirSync(thumbs), [`${documentId('', files[0]!)}.webp`], 'the gone file took its thumbnail along');

    // An empty PDF cannot be parsed: a failed document, exit 0 normally and 1 with --strict.
    writeFileSync(join(tree, 'broken.pdf'), '%PDF-1.7\nnot really a pdf', { mode: 0o644 });
    const lax = cli(['index', tree, '--db', join(dir, 'lax.db')]);
    assert.equal(lax.code, 0, lax.err);
    assert.match(lax.out, /failed 1/);
    const strict = cli(['index', tree, '--db', join(dir, 'strict.db'), '--strict']);
    assert.equal(strict.code, 1, strict.err);
    assert.match(strict.err, /--strict: 1 document\(s\) failed or partial/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('two `index` runs over the same 300 files at once, small batches: every file indexed once, both exit 0', async () => {
  const dir = await workDir();
  try {
    const tree = join(dir, 'tree');
    makeFiles(tree, 300);
    const db = join(dir, 'index.db');
    const [a, b] = await Promise.all([cliAsync(['index', tree, '--db', db]), cliAsync(['index', tree, '--db', db])]);
    assert.equal(a.code, 0, a.err);
    assert.equal(b.code, 0, b.err);
    assert.doesNotMatch(a.err + b.err, /locked/i);
    const r = rows(db);
    assert.equal(r.length, 300);
    assert.ok(r.every((x) => x.status === 'ok'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
