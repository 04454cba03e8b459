// Crash and restart (issue 6): the real worker as a child process against fauxqs in this process, a
// backlog over a mixed corpus (generated text, text PDFs, office files), a few poison messages and a
// few objects removed while the run goes on. The worker is SIGKILLed at random moments several times
// and restarted; a last worker drains the queue and is stopped with SIGTERM. Then the run is judged:
// every object indexed exactly once by id, removed objects absent, the queue empty, the DLQ holding
// exactly the poison messages, no temp files left in the private TMPDIR.
// Used by test/crash-restart.test.ts (small, in CI) and scripts/chaos.ts (thousands of messages).
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { documentId } from '../../src/ids.ts';
import { startSqsS3Fixture, type SqsS3Fixture } from './fauxqs.ts';
import {
  indexCount, indexRows, killWorker, queueEmpty, spawnWorker, tempLeftovers, until, type WorkerProcess,
} from './worker-process.ts';

export type ChaosOptions = {
  /** Messages sent in all (upserts + removes + poison). */
  messages: number;
  /** SIGKILLs during the run. */
  kills: number;
  /** Poison (malformed) messages among them. */
  poison: number;
  /** Objects deleted (with a remove event) while the run goes on. */
  removes: number;
  /** Share of upserts that are corpus files (the rest are generated text), 0..1. */
  corpusShare: number;
  /** The shared corpus folder; without it only generated text is used. */
  corpusDir?: string;
  /** A kill comes this long after the worker has indexed something new, ms (random in the range). */
  killAfterMs: [number, number];
  /** Give up waiting for the final drain after this long, ms. */
  drainTimeoutMs: number;
  seed: number;
  env?: Record<string, string>;
  /** Workers running side by side on the same queue, TMPDIR and index (default 1); each kill hits one. */
  workers?: number;
  /** A command each worker runs under, e.g. unshare for a PID namespace of its own. */
  wrap?: string[];
  log?: (line: string) => void;
};

export type ChaosReport = {
  messages: number;
  objects: number;
  removed: number;
  poison: number;
  corpusFiles: number;
  kills: Array<{ atMs: number; indexedBefore: number; inFlight: number }>;
  finalExit: { code: number | null; signal: string | null };
  indexed: number;
  /** Ids with more than one row (must be none). */
  duplicated: string[];
  /** Objects that should be indexed and are not. */
  missing: string[];
  /** Rows for keys that were never uploaded. */
  unexpected: string[];
  /** Removed objects still in the index. */
  removedPresent: string[];
  queue: { visible: number; inFlight: number; delayed: number };
  /** DLQ bodies that are not poison, and poison bodies that are not in the DLQ. */
  dlqUnexpected: string[];
  dlqMissing: string[];
  leftoverTemp: string[];
  /** Times a live worker found its temp dir removed by someone else (must be 0). */
  tempDirLost: number;
  statuses: Record<string, number>;
  durationMs: number;
  ok: boolean;
};

/** mulberry32: a seeded PRNG so a failing run can be replayed with the same choices. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OFFICE = /\.(docx|xlsx|pptx|odt|ods|odp|rtf|html|txt|csv|md|doc)$/i;

/** Text PDFs and office files from the corpus, small enough to keep the run about crashes, not CPU. */
async function corpusFiles(dir: string | undefined): Promise<string[]> {
  if (!dir || !existsSync(dir)) return [];
  const out: string[] = [];
  for (const [sub, re, max] of [['pdfjs', /\.pdf$/i, 120_000], ['tika', OFFICE, 300_000]] as const) {
    const d = join(dir, sub);
    if (!existsSync(d)) continue;
    for (const name of (await readdir(d)).sort()) {
      if (!re.test(name) || /bomb/i.test(name)) continue;
      const s = await stat(join(d, name));
      if (s.isFile() && s.size > 0 && s.size <= max) out.push(join(d, name));
    }
  }
  return out;
}

const POISON_BODIES = [
  'this is not json {',
  '{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put"}]}',
  '[1,2,3]',
  '{"Records":"not a list"}',
  '"just a string"',
];

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const t0 = Date.now();
  const log = o.log ?? (() => {});
  const rand = prng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  // A message may be held by a killed worker (or swallowed by its dead long poll) at each kill: keep
  // maxReceiveCount above that so only real poison reaches the DLQ.
  const maxReceiveCount = o.kills + 4;
  const fx = await startSqsS3Fixture({ maxReceiveCount, visibilityTimeout: 10 });
  const work = await mkdtemp(join(tmpdir(), 'fsw-chaos-'));
  const tmp = join(work, 'tmp');
  const dbPath = join(work, 'index.db');
  await mkdir(tmp, { mode: 0o700 });
  const pool: WorkerProcess[] = [];
  const everyWorker: WorkerProcess[] = [];
  const size = o.workers ?? 1;
  const fill = async () => {
    while (pool.length < size) {
      const w = await spawnWorker({ fx, dbPath, tmpDir: tmp, env: o.env, ...(o.wrap ? { wrap: o.wrap } : {}) });
      pool.push(w);
      everyWorker.push(w);
    }
  };
  try {
    const corpus = await corpusFiles(o.corpusDir);
    const upserts = o.messages - o.poison - o.removes;
    if (upserts < o.removes) throw new RangeError(`chaos: ${o.messages} messages leave too few upserts for ${o.removes} removes`);
    const keys: string[] = [];
    const usedCorpus = new Set<string>();
    log(`chaos: seed ${o.seed}; uploading ${upserts} objects (${corpus.length} corpus files to draw from)`);
    for (let i = 0; i < upserts; i++) {
      const n = String(i).padStart(5, '0');
      if (corpus.length && rand() < o.corpusShare) {
        const file = pick(corpus);
        usedCorpus.add(file);
        const key = `corpus/${n}/${basename(file)}`;
        await fx.putObject(key, { path: file });
        keys.push(key);
      } else {
        const key = `text/${n}/note ${n}+${i % 7 === 0 ? '日本語' : 'en'}.txt`;
        await fx.putObject(key, `chaos document ${n} ${'lorem ipsum '.repeat(1 + (i % 40))} end${n}`);
        keys.push(key);
      }
    }
    // Events go out in a shuffled order, poison mixed in.
    const poison = Array.from({ length: o.poison }, (_, i) => `${POISON_BODIES[i % POISON_BODIES.length]}${i >= POISON_BODIES.length ? ` #${i}` : ''}`);
    const sends: Array<{ key?: string; send: () => Promise<unknown> }> = [
      ...keys.map((k) => ({ key: k, send: () => fx.sendS3Event('upsert', k) })),
      ...poison.map((b) => ({ send: () => fx.sendRaw(b) })),
    ];
    for (let i = sends.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [sends[i], sends[j]] = [sends[j]!, sends[i]!];
    }
    const waves = o.kills + 1;
    const waveSize = Math.ceil(sends.length / waves);
    const sendWave = async (k: number) => {
      for (const s of sends.slice(k * waveSize, (k + 1) * waveSize)) await s.send();
    };
    // The objects removed mid-run: chosen now from the first wave, deleted (with their remove event) after the first kill.
    const firstWave = new Set(sends.slice(0, waveSize).flatMap((s) => (s.key ? [s.key] : [])));
    const removed = new Set<string>();
    while (removed.size < Math.min(o.removes, firstWave.size)) removed.add(pick([...firstWave]));
    log(`chaos: ${keys.length} upserts + ${poison.length} poison to send in ${waves} waves; ${removed.size} objects to be removed mid-run`);

    const kills: ChaosReport['kills'] = [];
    for (let k = 0; k < o.kills; k++) {
      const before = indexCount(dbPath);
      await sendWave(k);
      await fill();
      // Kill once the workers are doing something (something new is indexed) or have nothing left to do,
      // at a random moment after that.
      await until(`round ${k + 1} makes progress`, async () => pool.some((w) => !w.running) || indexCount(dbPath) > before || (await queueEmpty(fx)), 60_000, 50);
      const dead = pool.find((w) => !w.running);
      if (dead) throw new Error(`worker exited by itself: ${JSON.stringify(await dead.exited)} ${dead.stderr.join('')}`);
      const [lo, hi] = o.killAfterMs;
      await new Promise((r) => setTimeout(r, lo + rand() * (hi - lo)));
      const inFlight = (await fx.queueCounts()).inFlight;
      const indexedBefore = indexCount(dbPath);
      const victim = pool.splice(Math.floor(rand() * pool.length), 1)[0]!;
      victim.kill('SIGKILL');
      await victim.exited;
      kills.push({ atMs: Date.now() - t0, indexedBefore, inFlight });
      log(`chaos: kill ${k + 1}/${o.kills} at ${((Date.now() - t0) / 1000).toFixed(1)} s: ${indexedBefore} indexed, ${inFlight} messages in flight`);
      if (k === 0) {
        for (const key of removed) {
          await fx.deleteObject(key);
          await fx.sendS3Event('remove', key);
        }
      }
    }

    await sendWave(o.kills);
    await fill();
    const expected = keys.filter((k) => !removed.has(k));
    const expectedIds = new Map(expected.map((k) => [documentId(fx.bucket, k), k]));
    const removedIds = new Map([...removed].map((k) => [documentId(fx.bucket, k), k]));
    let lastLog = 0;
    await until('the final workers drain the queue', async () => {
      const dead = pool.find((w) => !w.running);
      if (dead) throw new Error(`a final worker exited by itself: ${JSON.stringify(await dead.exited)} ${dead.stderr.join('')}`);
      const rows = indexRows(dbPath);
      const done = rows.filter((r) => expectedIds.has(r.id)).length;
      if (Date.now() - lastLog > 5_000) {
        lastLog = Date.now();
        log(`chaos: draining: ${done}/${expected.length} indexed, dlq ${await fx.dlqCount()}/${poison.length}, queue ${JSON.stringify(await fx.queueCounts())}`);
      }
      return done === expected.length && rows.every((r) => !removedIds.has(r.id)) && (await fx.dlqCount()) === poison.length && (await queueEmpty(fx));
    }, o.drainTimeoutMs, 200).catch((err: Error) => log(`chaos: ${err.message}`));
    for (const w of pool) w.kill('SIGTERM');
    const exits = await Promise.all(pool.map((w) => w.waitExit(30_000)));
    // The worst exit stands for all: every final worker must stop cleanly.
    const finalExit = exits.find((e) => e.code !== 0 || e.signal !== null) ?? exits[0]!;
    // A wrapper (unshare) may exit before the worker inside it has removed its temp dir.
    await until('temp dirs removed', () => tempLeftovers(tmp).length === 0, 10_000, 100).catch(() => {});
    pool.length = 0;

    const rows = indexRows(dbPath);
    const rowIds = new Set(rows.map((r) => r.id));
    const statuses: Record<string, number> = {};
    for (const r of rows) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    const dlq = (await fx.receiveAllFromDlq()).map((m) => m.body);
    const report: ChaosReport = {
      messages: sends.length + removed.size,
      objects: keys.length,
      removed: removed.size,
      poison: poison.length,
      corpusFiles: usedCorpus.size,
      kills,
      finalExit,
      indexed: rows.length,
      duplicated: rows.filter((r) => r.n !== 1).map((r) => r.key),
      missing: expected.filter((k) => !rowIds.has(documentId(fx.bucket, k))),
      unexpected: rows.filter((r) => !expectedIds.has(r.id) && !removedIds.has(r.id)).map((r) => r.key),
      removedPresent: rows.filter((r) => removedIds.has(r.id)).map((r) => r.key),
      queue: await fx.queueCounts(),
      dlqUnexpected: dlq.filter((b) => !poison.includes(b)),
      dlqMissing: poison.filter((b) => !dlq.includes(b)),
      leftoverTemp: tempLeftovers(tmp),
      tempDirLost: everyWorker.reduce((n, w) => n + w.logged(/temp dir was removed by someone else/).length, 0),
      statuses,
      durationMs: Date.now() - t0,
      ok: false,
    };
    report.ok = report.finalExit.code === 0 && report.duplicated.length === 0 && report.missing.length === 0 && report.unexpected.length === 0 &&
      report.removedPresent.length === 0 && report.queue.visible + report.queue.inFlight + report.queue.delayed === 0 &&
      report.dlqUnexpected.length === 0 && report.dlqMissing.length === 0 && report.leftoverTemp.length === 0 && report.tempDirLost === 0;
    return report;
  } finally {
    await Promise.all(pool.map((w) => killWorker(w)));
    await fx.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** The report in a few lines, for the test output and the chaos script. */
export function formatReport(r: ChaosReport): string {
  const list = (xs: string[]) => (xs.length ? `${xs.length}: ${xs.slice(0, 5).map((x) => JSON.stringify(x)).join(', ')}${xs.length > 5 ? ', …' : ''}` : '0');
  return [
    `messages ${r.messages} (objects ${r.objects}, corpus files ${r.corpusFiles}, removed ${r.removed}, poison ${r.poison}) in ${(r.durationMs / 1000).toFixed(1)} s`,
    `kills ${r.kills.length}: ${r.kills.map((k) => `@${(k.atMs / 1000).toFixed(1)}s (${k.indexedBefore} indexed, ${k.inFlight} in flight)`).join('; ')}`,
    `final worker exit ${JSON.stringify(r.finalExit)}`,
    `indexed ${r.indexed}; statuses ${JSON.stringify(r.statuses)}`,
    `duplicated ids ${list(r.duplicated)}; missing ${list(r.missing)}; unexpected ${list(r.unexpected)}; removed but present ${list(r.removedPresent)}`,
    `queue ${JSON.stringify(r.queue)}; DLQ: not poison ${list(r.dlqUnexpected)}, poison missing ${list(r.dlqMissing)}`,
    `temp entries left ${list(r.leftoverTemp)}; live temp dirs lost ${r.tempDirLost}`,
    `result: ${r.ok ? 'OK' : 'FAILED'}`,
  ].join('\n');
}
