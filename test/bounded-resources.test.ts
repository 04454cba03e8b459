// Bounded resources (issue 6): under a sustained backlog the worker process's RSS, open file handles
// and temp-dir size stay flat. The real worker (`src/cli.ts run`) works through 800 small documents
// (text, plus a few office files and PDFs when the shared corpus is there) while this test samples
// /proc/PID/status (VmRSS), /proc/PID/fd and the bytes in its private TMPDIR. The figures are printed;
// the assertions are bounds generous enough for noise and tight enough that a per-document leak
// (one fd, one temp file, ~100 KB of memory per document) breaks them.
import { DEFAULTS } from '../src/config.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSqsS3Fixture } from './helpers/fauxqs.ts';
import {
  LANGDATA_CACHE, OWNER_LOCK, bytesUnder, filesUnder, indexCount, killWorker, processFigures, queueEmpty, spawnWorker, until, type WorkerProcess,
} from './helpers/worker-process.ts';

const corpus = fileURLToPath(new URL('../../shared/corpus/', import.meta.url));
const DOCS = 800;
const MiB = 1024 * 1024;
const POOL_SIZE = 2;
/** Each pool thread's heap limit (MAX_WORKER_MEMORY_MB; the pool never goes below 128). */
const THREAD_MB = 128;

/** Downloaded files in the temp dir (not the OCR language-data cache, which holds symlinks only). */
/** Downloaded documents: not the language-data cache, nor the lock file beside the live worker's dir. */
function docFiles(dir: string): string[] {
  return filesUnder(dir).filter((f) => !LANGDATA_CACHE.test(f) && !OWNER_LOCK.test(f));
}

type Sample = { done: number; rss: number; fds: number; tmpBytes: number; tmpFiles: number };

async function someCorpusFiles(): Promise<string[]> {
  const out: string[] = [];
  for (const [sub, re] of [['tika', /\.(docx|xlsx|pptx|odt|rtf|html|csv)$/i], ['pdfjs', /^(tracemonkey|issue840|javauninstall-7r|file_pdfjs_test)\.pdf$/]] as const) {
    const d = join(corpus, sub);
    if (!existsSync(d)) continue;
    for (const f of (await readdir(d)).sort()) {
      if (re.test(f) && (await stat(join(d, f))).size < 1_100_000) out.push(join(d, f));
      if (out.length >= 12 && sub === 'tika') break;
    }
  }
  return out;
}

test('RSS, open file descriptors and temp-dir size stay flat through a sustained backlog', async (t) => {
  if (!existsSync('/proc/self/fd')) return t.skip('needs /proc (Linux) to read a process\'s RSS and open fds');
  const fx = await startSqsS3Fixture({ maxReceiveCount: 5, visibilityTimeout: 10 });
  const work = await mkdtemp(join(tmpdir(), 'fsw-bounded-'));
  const tmp = join(work, 'tmp');
  await mkdir(tmp, { mode: 0o700 });
  const dbPath = join(work, 'index.db');
  let w: WorkerProcess | undefined;
  try {
    const files = await someCorpusFiles();
    for (let i = 0; i < DOCS; i++) {
      const n = String(i).padStart(4, '0');
      // One document in ten is a real office file or PDF: the pool, its parsers and their temp files are exercised.
      const file = files.length && i % 10 === 3 ? files[(i / 10 | 0) % files.length]! : undefined;
      const key = file ? `mixed/${n}-${file.split('/').pop()}` : `text/${n}.txt`;
      await fx.putObject(key, file ? { path: file } : `backlog document ${n} ${'content '.repeat(200)}`);
      await fx.sendS3Event('upsert', key);
    }
    w = await spawnWorker({ fx, dbPath, tmpDir: tmp, env: { POOL_SIZE: String(POOL_SIZE), MAX_WORKER_MEMORY_MB: String(THREAD_MB) } });
    const samples: Sample[] = [];
    const sampler = setInterval(() => {
      const f = w?.running ? processFigures(w.pid) : undefined;
      if (!f) return;
      samples.push({ done: indexCount(dbPath), rss: f.rssBytes, fds: f.fds, tmpBytes: bytesUnder(tmp), tmpFiles: docFiles(tmp).length });
    }, 250);
    try {
      await until('the backlog is worked off', async () => {
        if (!w!.running) throw new Error(`worker exited: ${JSON.stringify(await w!.exited)} ${w!.stderr.join('')}`);
        return indexCount(dbPath) === DOCS && (await queueEmpty(fx));
      }, 180_000, 250);
      // A few more samples once idle: what is still held after the work is done.
      await new Promise((r) => setTimeout(r, 1_500));
    } finally {
      clearInterval(sampler);
    }
    const idle = processFigures(w.pid)!;
    const idleTmp = docFiles(tmp);
    w.kill('SIGTERM');
    assert.deepEqual(await w.waitExit(30_000), { code: 0, signal: null });

    const warm = samples.find((s) => s.done >= DOCS * 0.1);
    assert.ok(warm, 'sampled after the first 10 % of the backlog');
    const after = samples.filter((s) => s.done >= warm.done);
    const max = (k: keyof Sample, xs = after) => Math.max(...xs.map((s) => s[k]));
    const at = (share: number) => samples.find((s) => s.done >= DOCS * share) ?? samples.at(-1)!;
    const row = (label: string, s: Sample) => `${label.padEnd(10)} done ${String(s.done).padStart(4)}  rss ${(s.rss / MiB).toFixed(0).padStart(4)} MiB  fds ${String(s.fds).padStart(4)}  tmp ${String(s.tmpFiles).padStart(3)} files ${(s.tmpBytes / 1024).toFixed(0).padStart(6)} KiB`;
    console.log([
      `# bounded-resources: ${DOCS} documents (${files.length} corpus files mixed in), ${samples.length} samples`,
      `#   ${row('at 10 %', warm)}`,
      `#   ${row('at 50 %', at(0.5))}`,
      `#   ${row('at 90 %', at(0.9))}`,
      `#   ${row('end', samples.at(-1)!)}`,
      `#   max after 10 %: rss ${(max('rss') / MiB).toFixed(0)} MiB, fds ${max('fds')}, tmp ${max('tmpFiles')} files / ${(max('tmpBytes') / 1024).toFixed(0)} KiB`,
      `#   idle after the backlog: rss ${(idle.rssBytes / MiB).toFixed(0)} MiB, fds ${idle.fds}, tmp files ${idleTmp.length}`,
    ].join('\n'));

    // fds: the pool, sockets and the database are opened early; a leak of one per document would add ~700.
    assert.ok(max('fds') <= warm.fds + 40, `open fds stayed flat: ${warm.fds} at 10 %, max ${max('fds')} after`);
    assert.ok(idle.fds <= warm.fds + 20, `and drop back when idle: ${idle.fds}`);
    // RSS: V8 grows the main heap for a while and each pool thread may grow to its heap limit. On top of
    // the figure at 10 %, that plus 200 MiB is far above the noise and far below what ~700 leaked
    // documents would cost.
    const allowance = POOL_SIZE * THREAD_MB * MiB + 200 * MiB;
    assert.ok(max('rss') <= warm.rss + allowance, `RSS stayed bounded: ${(warm.rss / MiB).toFixed(0)} MiB at 10 %, max ${(max('rss') / MiB).toFixed(0)} MiB after (allowed +${(allowance / MiB).toFixed(0)} MiB)`);
    // Temp dir: only the files of documents in flight (downloads, the extract queue, the extract
    // workers), never a pile.
    const inFlightBound = DEFAULTS.DOWNLOAD_CONCURRENCY + DEFAULTS.QUEUE_CAPACITY + POOL_SIZE + 1;
    assert.ok(max('tmpFiles', samples) <= inFlightBound, `temp files stayed bounded: max ${max('tmpFiles', samples)} <= ${inFlightBound}`);
    assert.ok(max('tmpBytes', samples) <= 64 * MiB, `temp bytes stayed bounded: max ${(max('tmpBytes', samples) / MiB).toFixed(1)} MiB`);
    assert.deepEqual(idleTmp, [], 'no temp file is left once the backlog is done');
  } finally {
    await killWorker(w);
    await fx.stop();
    await rm(work, { recursive: true, force: true });
  }
});
