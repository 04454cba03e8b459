// The native engine's child processes belong to the main thread: a pool thread that is ended mid-page
// (document deadline, memory governor) leaves no tesseract behind — neither running nor a zombie.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { PoolExtractor } from '../src/pool/extract-pool.ts';
import type { ExtractLimits } from '../src/types.ts';
import { nativeSkip } from './helpers/ocr-engines.ts';

const limits: ExtractLimits = { maxOcrPages: 5, maxChars: 1_000_000, docTimeoutMs: 120_000, pageTimeoutMs: 60_000, maxPixels: 100_000_000 };

/** Child processes of this process (any thread), with their state letter (Z = zombie). */
function children(): Array<{ pid: number; name: string; state: string }> {
  const out: Array<{ pid: number; name: string; state: string }> = [];
  for (const tid of readdirSync(`/proc/${process.pid}/task`)) {
    let list = '';
    try {
      list = readFileSync(`/proc/${process.pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const pid of list.trim().split(/\s+/).filter(Boolean).map(Number)) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const m = /^\d+ \((.*)\) (\S)/.exec(stat);
        out.push({ pid, name: m?.[1] ?? '?', state: m?.[2] ?? '?' });
      } catch {
        // Gone between the two reads.
      }
    }
  }
  return out;
}

describe('native OCR children are owned by the main thread', { skip: nativeSkip() }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocr-spawner-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a pool thread ended mid-page leaves no tesseract process, running or zombie; the pool reads the next page', async () => {
    // A dense page: many lines of text, long enough to read that the abort lands mid-page.
    const lines = Array.from({ length: 60 }, (_, i) => `<text x="60" y="${80 + i * 52}" font-family="sans-serif" font-size="34">Line ${i} of the quarterly harbour project invoice, payment due in thirty days</text>`).join('');
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1654" height="3300"><rect width="100%" height="100%" fill="white"/>${lines}</svg>`;
    const big = path.join(dir, 'big.png');
    await sharp(Buffer.from(svg)).flatten({ background: '#fff' }).png().withMetadata({ density: 200 }).toFile(big);
    const small = path.join(dir, 'small.png');
    await sharp(Buffer.from(svg.replace('height="3300"', 'height="300"'))).flatten({ background: '#fff' }).png().withMetadata({ density: 200 }).toFile(small);

    const pool = new PoolExtractor({ threads: 1, ocrLangs: 'eng+jpn', recycleAfterPages: 100, maxWorkerMemoryMb: 200, ocrEngine: 'native', warmUp: false });
    try {
      assert.equal(pool.ocr.kind, 'native');
      const ac = new AbortController();
      const running = pool.extract({ path: big, name: 'big.png', size: 0, limits, ocrLangs: 'eng+jpn', wantThumbnail: false }, ac.signal);
      // Wait until tesseract runs, then end the document (as a deadline or the governor would).
      let seen: number[] = [];
      for (let i = 0; i < 200 && seen.length === 0; i++) {
        await sleep(50);
        seen = pool.ocrChildPids();
      }
      assert.ok(seen.length === 1, 'tesseract ran as a child of the main thread');
      ac.abort(new Error('ended by the test'));
      await assert.rejects(running);
      let left = children().filter((c) => c.name === 'tesseract');
      for (let i = 0; i < 40 && left.length; i++) {
        await sleep(100);
        left = children().filter((c) => c.name === 'tesseract');
      }
      assert.deepEqual(left, [], 'no tesseract process left behind (running or zombie)');

      const r = await pool.extract({ path: small, name: 'small.png', size: 0, limits, ocrLangs: 'eng+jpn', wantThumbnail: false });
      assert.equal(r.status, 'ok', r.error);
      assert.match(r.text, /harbour project/);
      assert.equal(pool.ocrChildPids().length, 1, 'the thread\'s page-reading tesseract stays for its next page, owned by the main thread');
    } finally {
      await pool.close();
    }
    let left = children().filter((c) => c.name === 'tesseract');
    for (let i = 0; i < 40 && left.length; i++) {
      await sleep(100);
      left = children().filter((c) => c.name === 'tesseract');
    }
    assert.deepEqual(left, [], 'closing the pool ends the long-lived tesseract');
    // Its page files lived in a locked private dir of this process under TMPDIR: gone with the pool.
    const ours = () => readdirSync(os.tmpdir()).filter((e) => e.startsWith(`filesearch-${process.pid}-`));
    for (let i = 0; i < 40 && ours().length; i++) await sleep(50);
    assert.deepEqual(ours(), [], 'no page files or dir left behind');
  });
});

test('a child that ends after the spawner is released (shutdown) is not answered on the closed channel', async () => {
  const { OcrSpawner } = await import('../src/workers/ocr/spawner.ts');
  const { BroadcastChannel } = await import('node:worker_threads');
  const failures: unknown[] = [];
  const onFailure = (e: unknown) => failures.push(e);
  process.on('unhandledRejection', onFailure);
  process.on('uncaughtException', onFailure);
  const spawner = OcrSpawner.acquire();
  const requests = new BroadcastChannel('filesearch:ocr-spawn');
  const replies = new BroadcastChannel('filesearch:ocr-spawn:99999');
  try {
    const job = (args: string[]) => ({ bin: process.execPath, args, input: new Uint8Array(), timeoutMs: 10_000, env: {} });
    // A first job opens the thread's reply channel.
    const first = new Promise((resolve) => (replies.onmessage = resolve));
    requests.postMessage({ id: 1, thread: 99999, job: job(['-e', '0']) });
    await first;
    // A second job is still running when the spawner is released and closes that channel.
    requests.postMessage({ id: 2, thread: 99999, job: job(['-e', 'setTimeout(() => {}, 5000)']) });
    for (let i = 0; i < 100 && spawner.pids.length === 0; i++) await sleep(20);
    assert.equal(spawner.pids.length, 1, 'the second job runs');
    spawner.release();
    await sleep(500);
    assert.deepEqual(failures, []);
  } finally {
    requests.close();
    replies.close();
    process.off('unhandledRejection', onFailure);
    process.off('uncaughtException', onFailure);
  }
});

test('a child waits for its memory admission: started once admitted, never started when refused or cancelled meanwhile', async () => {
  const { OcrSpawner } = await import('../src/workers/ocr/spawner.ts');
  const { BroadcastChannel } = await import('node:worker_threads');
  const spawner = OcrSpawner.acquire();
  const requests = new BroadcastChannel('filesearch:ocr-spawn');
  const replies = new BroadcastChannel('filesearch:ocr-spawn:99998');
  const answers: Array<{ id: number; result: { stdout: string; error?: string } }> = [];
  replies.onmessage = (e: unknown) => answers.push((e as { data: (typeof answers)[number] }).data);
  const asked: Array<{ bytes: number; maxWaitMs: number; open: (r: string | undefined) => void }> = [];
  spawner.setAdmission((want, _running, maxWaitMs) => new Promise((open) => asked.push({ bytes: want.expectedBytes, maxWaitMs, open })));
  try {
    const job = (out: string) => ({ bin: process.execPath, args: ['-e', `process.stdout.write(${JSON.stringify(out)})`], input: new Uint8Array(), timeoutMs: 10_000, env: {}, expectedBytes: 90 * 1024 * 1024 });
    for (const [id, out] of [[1, 'one'], [2, 'two'], [3, 'three']] as const) requests.postMessage({ id, thread: 99998, job: job(out) });
    for (let i = 0; i < 100 && asked.length < 3; i++) await sleep(10);
    assert.deepEqual(asked.map((a) => [a.bytes, a.maxWaitMs]), [[90 * 1024 * 1024, 5_000], [90 * 1024 * 1024, 5_000], [90 * 1024 * 1024, 5_000]], 'each asks with what it will hold and half its deadline');
    await sleep(100);
    assert.equal(spawner.pids.length, 0, 'nothing starts before it is admitted');
    requests.postMessage({ cancel: 3, thread: 99998 });
    await sleep(50);
    asked[0]!.open(undefined);
    asked[1]!.open('memory: no room');
    asked[2]!.open(undefined);
    for (let i = 0; i < 200 && answers.length < 2; i++) await sleep(20);
    await sleep(300);
    assert.deepEqual(answers.map((a) => [a.id, a.result.stdout, a.result.error]).sort(), [[1, 'one', undefined], [2, '', 'memory: no room']], 'the admitted one ran, the refused one did not, the cancelled one neither started nor answered');
  } finally {
    spawner.setAdmission(undefined);
    spawner.release();
    requests.close();
    replies.close();
  }
});
