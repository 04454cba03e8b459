// The memory governor: its budget (MEMORY_LIMIT_MB, cgroup v2/v1, default), the process tree it
// measures, and what the pool does at its marks — hold new documents back over the soft mark, end
// the heaviest document's thread over the hard mark, retry it once alone in lean mode, then index it
// by name as too_large ("memory") — while no other document is lost.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupLimitBytes, loadConfig, memoryConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';
import { isUnexecutedFork, MemoryGovernor, processTreeRss, residentBytes } from '../src/pool/memory-governor.ts';
import { expectedDocumentBytes, HEAVY_FILE_BYTES, PoolExtractor } from '../src/pool/extract-pool.ts';
import { MemoryGauge } from '../src/workers/memory-gauge.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { noTelemetry, type GovernorAction, type Telemetry } from '../src/telemetry/telemetry.ts';
import type { ExtractLimits, ExtractRequest } from '../src/types.ts';
import { makePdf, pdfStream } from './helpers/make-pdf.ts';

const MiB = 1024 * 1024;

describe('memory budget from the configuration', () => {
  test('MEMORY_LIMIT_MB wins, is validated, and names the bad value', () => {
    assert.equal(loadConfig({ MEMORY_LIMIT_MB: '900' }).memory.budgetBytes, 900 * MiB);
    assert.equal(loadConfig({ MEMORY_LIMIT_MB: '900' }).memory.source, 'MEMORY_LIMIT_MB');
    assert.throws(() => loadConfig({ MEMORY_LIMIT_MB: 'lots' }), (e: unknown) => e instanceof ConfigError && /MEMORY_LIMIT_MB: must be an integer 128\.\.\d+, got "lots"/.test(e.message));
    assert.throws(() => loadConfig({ MEMORY_LIMIT_MB: '64' }), /MEMORY_LIMIT_MB/);
    assert.throws(() => loadConfig({ MEMORY_SOFT_PERCENT: '90', MEMORY_HARD_PERCENT: '80' }), /MEMORY_HARD_PERCENT: must be above MEMORY_SOFT_PERCENT \(90\), got 80/);
    assert.throws(() => loadConfig({ MAX_PAGE_IMAGE_BYTES: '10' }), /MAX_PAGE_IMAGE_BYTES/);
  });

  test('without MEMORY_LIMIT_MB: the cgroup limit less headroom, else 500 MB', () => {
    const gib = 1024 * MiB;
    assert.deepEqual(pick(memoryConfig({}, () => 2 * gib)), { budgetBytes: Math.floor(2 * gib * 0.9), source: 'cgroup' });
    // Small limits keep at least 64 MB of headroom (but never less than half the limit as budget).
    assert.deepEqual(pick(memoryConfig({}, () => 512 * MiB)), { budgetBytes: 448 * MiB, source: 'cgroup' });
    assert.deepEqual(pick(memoryConfig({}, () => undefined)), { budgetBytes: 500 * MiB, source: 'default' });
  });

  test('cgroup v2 memory.max, then v1 memory.limit_in_bytes; "max" and 2^63 mean no limit', () => {
    const files = (m: Record<string, string>) => (f: string) => m[f];
    assert.equal(cgroupLimitBytes(files({ '/sys/fs/cgroup/memory.max': '1073741824\n' })), 1024 * MiB);
    assert.equal(cgroupLimitBytes(files({ '/sys/fs/cgroup/memory.max': 'max\n', '/sys/fs/cgroup/memory/memory.limit_in_bytes': '536870912\n' })), 512 * MiB);
    assert.equal(cgroupLimitBytes(files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n' })), undefined);
    assert.equal(cgroupLimitBytes(files({})), undefined);
  });
});

function pick(m: { budgetBytes: number; source: string }) {
  return { budgetBytes: m.budgetBytes, source: m.source };
}

test('the process tree RSS counts child processes (and their children)', { skip: process.platform !== 'linux' && 'needs /proc' }, async () => {
  const before = processTreeRss();
  // A child that starts a grandchild holding 120 MB of touched memory.
  const script = `const { spawn } = require('node:child_process');
    const g = spawn(process.execPath, ['-e', 'globalThis.b = Buffer.alloc(120e6, 1); console.log("ready"); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'inherit', 'inherit'] });
    process.on('SIGTERM', () => { g.kill(); process.exit(0); });
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    const tree = processTreeRss();
    assert.ok(residentBytes(child.pid!) > 10 * MiB, 'the child itself is measured');
    assert.ok(tree - before > 120 * MiB, `tree grew by ${Math.round((tree - before) / MiB)} MB with a 120 MB grandchild`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});

test('a child between fork and exec (same executable and command line as its parent) is not counted again', { skip: process.platform !== 'linux' && 'needs /proc' }, async () => {
  // The parent holds 120 MB and starts a copy of itself (same argv: what a fork looks like before exec),
  // which holds 60 MB of its own; the sampler counts the parent alone.
  const script = `const { spawn } = require('node:child_process');
    globalThis.b = Buffer.alloc((process.env.TWIN ? 60 : 120) * 1048576, 1);
    if (process.env.TWIN) { setInterval(() => {}, 1000); } else {
      const t = spawn(process.execPath, process.argv.slice(1).length ? ['-e', process.argv[1]] : process.execArgv, { env: { ...process.env, TWIN: '1' }, stdio: 'ignore' });
      setTimeout(() => console.log(t.pid), 1500);
      process.on('SIGTERM', () => { t.kill(); process.exit(0); });
      setInterval(() => {}, 1000);
    }`;
  const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const twin = Number(await new Promise<string>((resolve) => parent.stdout!.once('data', (d) => resolve(String(d).trim()))));
    assert.ok(residentBytes(twin) > 60 * MiB, 'the look-alike child holds memory');
    assert.equal(isUnexecutedFork(parent.pid!, twin), true);
    const tree = processTreeRss(parent.pid!);
    assert.ok(Math.abs(tree - residentBytes(parent.pid!)) < 5 * MiB, `tree ${Math.round(tree / MiB)} MB is the parent's ${Math.round(residentBytes(parent.pid!) / MiB)} MB`);
  } finally {
    parent.kill('SIGTERM');
    await new Promise((r) => parent.once('exit', r));
  }
});

/** Telemetry that counts governor actions. */
function countingTelemetry(): Telemetry & { actions: Record<string, number> } {
  const actions: Record<string, number> = {};
  return { ...noTelemetry, actions, memoryAction: (a: GovernorAction) => void (actions[a] = (actions[a] ?? 0) + 1) };
}

test('an OCR child starts when the budget has room for what it will hold: it makes room from idle sessions and threads, waits while other children work, and past that runs only short of the budget', async () => {
  let rss = 300 * MiB;
  const g = new MemoryGovernor({ budgetBytes: 500 * MiB, softShare: 0.75, hardShare: 0.9, sampleMs: 1_000_000, telemetry: countingTelemetry(), logger: silentLogger, sample: () => rss });
  const ended: string[] = [];
  let idleThreads = 0;
  g.start({ heaviest: async () => undefined, idleThread: () => (idleThreads > 0 ? { name: '(idle)', end: () => (idleThreads--, ended.push('(idle)')) } : undefined) });
  const children = (running: Array<{ pid: number; expectedBytes: number }>, closeIdleSessions = () => false) => ({ running: () => running, closeIdleSessions });
  try {
    assert.equal(await g.admitChild({ expectedBytes: 100 * MiB }, children([]), 0), undefined, '300 + 100 MB fits under the hard mark (450)');

    rss = 420 * MiB;
    g.check();
    let sessionsClosed = 0;
    const idleSession = children([], () => ((sessionsClosed++, (rss = 340 * MiB)), true));
    assert.equal(await g.admitChild({ expectedBytes: 100 * MiB }, idleSession, 60_000, 5), undefined);
    assert.equal(sessionsClosed, 1, 'an idle OCR session was ended to make room');

    // Another child at work, expected to grow by 80 MB more: 300 + 80 + 100 MB does not fit, so it waits.
    rss = 300 * MiB;
    g.check();
    const busy = children([{ pid: process.pid, expectedBytes: residentBytes(process.pid) + 80 * MiB }]);
    let admitted = false;
    const waiting = g.admitChild({ expectedBytes: 100 * MiB }, busy, 60_000, 5).then((r) => ((admitted = true), r));
    await sleep(50);
    assert.equal(admitted, false, 'it waits while the other child works');
    rss = 200 * MiB;
    assert.equal(await waiting, undefined, 'room again: it starts');

    // An idle pool thread is ended for it at once, whatever the soft mark's pace.
    rss = 420 * MiB;
    idleThreads = 2;
    g.check();
    await sleep(10);
    assert.deepEqual(ended, ['(idle)'], 'over the soft mark one idle thread is ended (then one per 10 s)');
    await sleep(1_100); // the governor lets an ended thread's memory settle for a second
    const started = g.admitChild({ expectedBytes: 100 * MiB }, children([]), 60_000, 5);
    await sleep(50);
    assert.deepEqual(ended, ['(idle)', '(idle)'], 'a waiting child has the next idle thread ended at once');
    rss = 300 * MiB;
    assert.equal(await started, undefined);

    // Nothing left to free and nothing to wait for: it does not wait; within the budget it runs, past it not.
    rss = 420 * MiB;
    g.check();
    const t0 = Date.now();
    assert.equal(await g.admitChild({ expectedBytes: 50 * MiB }, children([]), 60_000, 5), undefined, '470 MB is short of midway between the hard mark and the budget (475): it runs');
    assert.match((await g.admitChild({ expectedBytes: 70 * MiB }, children([]), 60_000, 5)) ?? '', /^memory:/, '490 MB would leave too little for the other threads: it does not');
    const refused = await g.admitChild({ expectedBytes: 100 * MiB }, children([]), 60_000, 5);
    assert.ok(Date.now() - t0 < 5_000, 'no waiting for what cannot come');
    assert.match(refused ?? '', /^memory: an OCR process for this page \(about 100 MB\) would take the process too close to its memory budget \(420 of 500 MB in use\)/);

    // A long-lived session's child (here: this process) already holds what it has: only the rest is needed.
    rss = 380 * MiB;
    g.check();
    assert.ok(residentBytes(process.pid) > 80 * MiB);
    assert.equal(await g.admitChild({ expectedBytes: residentBytes(process.pid) + 50 * MiB, pid: process.pid }, children([{ pid: process.pid, expectedBytes: 0 }]), 0), undefined, '380 + 50 MB more');
  } finally {
    g.stop();
  }
});

test('each sample is published to the pool threads: the hard mark as their ceiling and what the child processes hold', () => {
  // The fake tree holds this process plus 80 MB of children.
  const g = new MemoryGovernor({ budgetBytes: 500 * MiB, softShare: 0.75, hardShare: 0.85, sampleMs: 1_000_000, telemetry: countingTelemetry(), logger: silentLogger, sample: () => process.memoryUsage.rss() + 80 * MiB });
  const gauge = new MemoryGauge(MemoryGauge.buffer());
  assert.equal(gauge.headroomBytes(100 * MiB), Infinity, 'nothing published: no limit');
  g.publishTo(gauge);
  g.check();
  // A thread reading 300 MB of process RSS has the hard mark less that and the children left.
  const room = gauge.headroomBytes(300 * MiB);
  assert.ok(Math.abs(room - (425 - 300 - 80) * MiB) < 2 * MiB, `headroom ${(room / MiB).toFixed(1)} MB`);
});

test('over the soft mark an OCR process waiting for its next page is ended first, before any pool thread', async () => {
  let rss = 100 * MiB;
  const g = new MemoryGovernor({ budgetBytes: 1000 * MiB, softShare: 0.5, hardShare: 0.8, sampleMs: 1_000_000, telemetry: countingTelemetry(), logger: silentLogger, sample: () => rss });
  const ended: string[] = [];
  let idleOcr = 1;
  g.start({
    heaviest: async () => ({ name: 'big.pdf', end: () => ended.push('big.pdf') }),
    idleThread: () => ({ name: '(idle)', end: () => ended.push('(idle)') }),
    idleOcr: () => (idleOcr > 0 ? { name: 'idle OCR process', end: () => (idleOcr--, ended.push('ocr')) } : undefined),
  });
  try {
    rss = 600 * MiB;
    g.check();
    await sleep(10);
    assert.deepEqual(ended, ['ocr']);
  } finally {
    g.stop();
  }
});

test('the governor samples; over the soft mark it pauses and ends an idle thread; over the hard mark the heaviest document, once per settle period', async () => {
  let rss = 100 * MiB;
  const telemetry = countingTelemetry();
  const g = new MemoryGovernor({ budgetBytes: 1000 * MiB, softShare: 0.5, hardShare: 0.8, sampleMs: 1_000_000, telemetry, logger: silentLogger, sample: () => rss });
  const ended: string[] = [];
  let resumed = 0;
  g.onResume(() => resumed++);
  let idleThreads = 1;
  g.start({
    heaviest: async (_minGrowth: number) => ({ name: 'big.pdf', end: () => ended.push('big.pdf') }),
    idleThread: () => (idleThreads > 0 ? { name: '(idle)', end: () => (idleThreads--, ended.push('(idle)')) } : undefined),
  });
  try {
    assert.equal(g.paused, false);
    rss = 600 * MiB;
    g.check();
    assert.equal(g.paused, true);
    g.notePaused('a.pdf');
    g.notePaused('b.pdf');
    assert.equal(telemetry.actions.paused, 1, 'one paused action per pause');
    await sleep(10);
    assert.deepEqual(ended, ['(idle)'], 'over the soft mark only an idle thread is ended');
    g.check();
    await sleep(10);
    assert.deepEqual(ended, ['(idle)'], 'no document is ended under the hard mark');
    rss = 900 * MiB;
    g.check();
    await sleep(10);
    g.check();
    await sleep(10);
    assert.deepEqual(ended, ['(idle)', 'big.pdf'], 'ended once, then waits for the memory to be given back');
    assert.equal(telemetry.actions.thread_ended, 2);
    rss = 200 * MiB;
    g.check();
    assert.equal(g.paused, false);
    assert.equal(resumed, 1);
    assert.equal(g.peakBytes, 900 * MiB);
  } finally {
    g.stop();
  }
});

// ---- the pool under a real governor, measuring this process ----

const workerFile = fileURLToPath(new URL('./helpers/hoarding-extract-worker.ts', import.meta.url));
const limits: ExtractLimits = { maxOcrPages: 5, maxChars: 100_000, docTimeoutMs: 60_000, pageTimeoutMs: 30_000, maxPixels: 100_000_000 };

/** A one-page PDF with a line of text, in `dir`. */
function writeTextPdf(dir: string): string {
  const file = path.join(dir, 'text.pdf');
  writeFileSync(file, makePdf([
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents 4 0 R >>',
    pdfStream(Buffer.from('BT /F1 12 Tf 72 700 Td (The governor keeps this document.) Tj ET')),
  ]));
  return file;
}

describe('the pool under the memory governor', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'governor-test-'));
  const textPdf = writeTextPdf(dir);
  const doc = (name: string): ExtractRequest => ({ path: textPdf, name, size: 1000, limits, ocrLangs: 'eng', wantThumbnail: false });
  const telemetry = countingTelemetry();
  let pool: PoolExtractor;
  let governor: MemoryGovernor;
  after(async () => {
    await pool?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a document that keeps growing is ended, retried alone in lean mode, then indexed as too_large; the others finish', async () => {
    // The governor sees this process's RSS above where it stands once the pool is warm: a budget of
    // 300 MB for documents, the hard mark at 200 MB.
    let base = Infinity;
    const sample = () => Math.max(0, processTreeRss() - base);
    governor = new MemoryGovernor({ budgetBytes: 300 * MiB, softShare: 0.5, hardShare: 2 / 3, sampleMs: 25, telemetry, logger: silentLogger, sample });
    pool = new PoolExtractor({ threads: 2, ocrLangs: 'eng', recycleAfterPages: 100, maxWorkerMemoryMb: 128, workerFile, governor });
    await pool.ready;
    await Promise.all([pool.extract(doc('warm-1.pdf')), pool.extract(doc('warm-2.pdf'))]);
    base = processTreeRss();
    const [always, once, ...plain] = await Promise.all([
      pool.extract(doc('hoard-always-1.pdf')),
      pool.extract(doc('hoard-once-1.pdf')),
      ...['a.pdf', 'b.pdf', 'c.pdf'].map((n) => pool.extract(doc(n))),
    ]);
    assert.equal(always.status, 'too_large');
    assert.match(always.error ?? '', /memory/);
    assert.equal(once.status, 'ok', once.error);
    assert.match(once.error ?? '', /^memory: read again alone in lean mode/);
    assert.match(once.text, /governor keeps this document/, 'the lean retry read the file for real');
    for (const r of plain) {
      assert.equal(r.status, 'ok', r.error);
      assert.match(r.text, /governor keeps this document/);
    }
    assert.ok((telemetry.actions.thread_ended ?? 0) >= 3, `thread_ended ${telemetry.actions.thread_ended}`);
    // At least the two hoarders; on a loaded machine a thread's heap may not answer in time and an innocent document can be the one ended (it comes back whole in lean mode).
    assert.ok((telemetry.actions.lean_retry ?? 0) >= 2, `lean_retry ${telemetry.actions.lean_retry}`);
    assert.equal(telemetry.actions.gave_up, 1);
    // Alone too (the lean retry), a document is ended at the hard mark: the peak stays under the budget.
    assert.ok(governor.peakBytes < governor.budgetBytes, `peak ${Math.round(governor.peakBytes / MiB)} MB, budget ${Math.round(governor.budgetBytes / MiB)} MB`);
    // The threads were replaced and the pool still works.
    const again = await pool.extract(doc('d.pdf'));
    assert.equal(again.status, 'ok', again.error);
    assert.equal(pool.stats().threads, 2);
  });
});

test('a document from a big file is weighed before it starts: a second big one waits for room, an ordinary one runs beside it', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'governor-heavy-'));
  const file = writeTextPdf(dir);
  const telemetry = countingTelemetry();
  let rss = 100 * MiB;
  // Soft mark at 200 MB: a 20 MB file is expected to add 72 MB.
  const governor = new MemoryGovernor({ budgetBytes: 400 * MiB, softShare: 0.5, hardShare: 0.9, sampleMs: 25, telemetry, logger: silentLogger, sample: () => rss });
  const pool = new PoolExtractor({ threads: 2, ocrLangs: 'eng', recycleAfterPages: 100, maxWorkerMemoryMb: 128, workerFile, governor });
  const req = (name: string, size: number): ExtractRequest => ({ path: file, name, size, limits, ocrLangs: 'eng', wantThumbnail: false });
  const span = (r: { text: string; status: string; error?: string }) => {
    assert.equal(r.status, 'ok', r.error);
    const [start, end] = r.text.split(' ').map(Number);
    return { start: start!, end: end! };
  };
  const overlap = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;
  try {
    await pool.ready;
    assert.equal(expectedDocumentBytes(HEAVY_FILE_BYTES - 1), 0, 'an ordinary file is not weighed');
    assert.equal(expectedDocumentBytes(20 * MiB), 72 * MiB);

    // 100 + 72 + 72 > 200: the second big document starts when the first is done.
    const [a, b] = (await Promise.all([pool.extract(req('slow-big-a.pdf', 20 * MiB)), pool.extract(req('slow-big-b.pdf', 20 * MiB))])).map(span);
    assert.ok(!overlap(a!, b!), `the two big documents ran at once: ${JSON.stringify([a, b])}`);
    assert.equal(telemetry.actions.paused, 1, 'the wait is logged and counted once');

    // An ordinary document is not held back by a big one running.
    const [c, d] = (await Promise.all([pool.extract(req('slow-big-c.pdf', 20 * MiB)), pool.extract(req('slow-small.pdf', 1000))])).map(span);
    assert.ok(overlap(c!, d!), `the ordinary document waited for the big one: ${JSON.stringify([c, d])}`);

    // With room for both (0 + 72 + 72 <= 200) two big documents run at once.
    rss = 0;
    await sleep(100);
    const [e, f] = (await Promise.all([pool.extract(req('slow-big-e.pdf', 20 * MiB)), pool.extract(req('slow-big-f.pdf', 20 * MiB))])).map(span);
    assert.ok(overlap(e!, f!), `two big documents that fit were run one after the other: ${JSON.stringify([e, f])}`);
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
