import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PoolExtractor } from '../src/pool/extract-pool.ts';
import type { ExtractLimits, ExtractRequest } from '../src/types.ts';

const corpus = new URL('../../shared/corpus/', import.meta.url).pathname;
const scan = path.join(corpus, 'ocr', 'phototest.tif');
const skip = existsSync(scan) ? false : 'shared corpus absent (../shared/corpus/ocr)';
const workerFile = fileURLToPath(new URL('./helpers/misbehaving-worker.ts', import.meta.url));

const limits: ExtractLimits = { maxOcrPages: 5, maxChars: 100_000, docTimeoutMs: 30_000, pageTimeoutMs: 30_000, maxPixels: 100_000_000 };
/** A real file under a name that tells the test worker how to behave. */
const doc = (name: string, l: Partial<ExtractLimits> = {}): ExtractRequest => ({ path: scan, name, size: 0, limits: { ...limits, ...l }, ocrLangs: 'eng', wantThumbnail: false });

describe('extract pool isolation', { skip }, () => {
  const pool = new PoolExtractor({ threads: 2, ocrLangs: 'eng', recycleAfterPages: 100, maxWorkerMemoryMb: 128, deadlineGraceMs: 200, workerFile });
  after(() => pool.close());

  test('warm-up starts every thread and loads its modules (the OCR engine starts on the first OCR page)', async () => {
    assert.equal(pool.stats().warm, false);
    await pool.ready;
    const s = pool.stats();
    assert.equal(s.warm, true);
    assert.equal(s.threads, 2);
  });

  test('a hung document costs its thread only: the others finish and the thread is replaced', async () => {
    const hung = pool.extract(doc('hang-1.tif', { docTimeoutMs: 1_500 }));
    const others = [pool.extract(doc('a.tif')), pool.extract(doc('b.tif')), pool.extract(doc('c.tif'))];
    const results = await Promise.all(others);
    for (const r of results) {
      assert.equal(r.status, 'ok', r.error);
      assert.match(r.text, /quick brown dog/);
    }
    const h = await hung;
    assert.equal(h.status, 'failed');
    assert.match(h.error ?? '', /deadline of 1500 ms exceeded; its extract thread was stopped/);
    const after = await pool.extract(doc('d.tif'));
    assert.equal(after.status, 'ok', after.error);
    assert.equal(pool.stats().threads, 2);
  });

  test('a thread that exits or runs out of heap fails only its document', async () => {
    const [exited, fine, oom] = await Promise.all([pool.extract(doc('exit-1.tif')), pool.extract(doc('e.tif')), pool.extract(doc('oom-1.tif'))]);
    assert.equal(exited.status, 'failed');
    assert.match(exited.error ?? '', /extract thread crashed/);
    assert.equal(oom.status, 'failed');
    assert.match(oom.error ?? '', /extract thread crashed/);
    assert.equal(fine.status, 'ok', fine.error);
    const again = await pool.extract(doc('f.tif'));
    assert.equal(again.status, 'ok', again.error);
    assert.ok(pool.stats().completed >= 8);
  });

  test('a caller abort rejects the waiting or running task instead of returning a status', async () => {
    const ac = new AbortController();
    const p = pool.extract(doc('hang-2.tif', { docTimeoutMs: 60_000 }), ac.signal);
    setTimeout(() => ac.abort(new Error('shutting down')), 200);
    await assert.rejects(p, /shutting down/);
    const r = await pool.extract(doc('g.tif'));
    assert.equal(r.status, 'ok', r.error);
  });
});

describe('idle pool threads (POOL_IDLE_SECONDS)', { skip }, () => {
  // Made once the suite above has closed its pool: both would share the process's one OCR spawner.
  let pool: PoolExtractor;
  before(() => {
    pool = new PoolExtractor({ threads: 2, ocrLangs: 'eng', recycleAfterPages: 100, maxWorkerMemoryMb: 128, idleSeconds: 1, workerFile });
  });
  after(() => pool.close());

  /** Waits until the pool has `n` threads; false after `ms`. */
  async function threadsBecome(n: number, ms: number): Promise<boolean> {
    for (const t0 = Date.now(); Date.now() - t0 < ms; await new Promise((r) => setTimeout(r, 50))) if (pool.stats().threads === n) return true;
    return false;
  }

  test('end once idle, so a worker at rest holds none, and the next document starts one again', async () => {
    await pool.ready;
    const r = await pool.extract(doc('idle-a.tif'));
    assert.equal(r.status, 'ok', r.error);
    assert.ok(await threadsBecome(0, 5_000), `threads still alive: ${pool.stats().threads}`);
    const [again, other] = await Promise.all([pool.extract(doc('idle-b.tif')), pool.extract(doc('idle-c.tif'))]);
    assert.equal(again.status, 'ok', again.error);
    assert.match(again.text, /quick brown dog/);
    assert.equal(other.status, 'ok', other.error);
    assert.ok(pool.stats().threads >= 1 && pool.stats().threads <= 2, `threads: ${pool.stats().threads}`);
    assert.equal(pool.stats().warm, true);
  });
});
