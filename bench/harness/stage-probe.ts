// 2. Per stage: one stage alone, fed from memory, in its own process (so the emulator's CPU is not
// counted and does not share this event loop). Each probe drives the project's adapter the way its
// stage does — same concurrency, same batching — and reports items, bytes, wall time and CPU.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createExtractor } from '../../src/pool/extract-pool.ts';
import { noTelemetry } from '../../src/telemetry/telemetry.ts';
import { openAws, openIndex } from '../../src/wiring.ts';
import { documentId } from '../../src/ids.ts';
import type { Extractor, IndexDocument, IndexOp, Lease, ObjectRef, SearchIndex } from '../../src/types.ts';
import { childMain } from './child.ts';
import { mapLimit } from './map-limit.ts';
import { waitWarm } from './warm.ts';

const execFileAsync = promisify(execFile);

export type Measure = { items: number; bytes: number; wallMs: number; cpuMs: number; pages?: number; detail?: Record<string, number> };

export type StageTask =
  | { stage: 'receive+delete'; messages: number; bodyBytes: number }
  | { stage: 'download'; bucket: string; objects: Array<{ key: string; etag: string; size: number }> }
  | { stage: 'extract'; groups: Array<{ label: string; files: Array<{ path: string; name: string; size: number }> }> }
  | { stage: 'ocr'; files: Array<{ path: string; name: string; size: number }>; native: boolean }
  | { stage: 'index'; target: 'sqlite' | 'opensearch'; url?: string; docs: number; textChars: number };

export type StageProbeResult = Record<string, Measure>;
export type OcrProbeResult = Array<{ name: string; text: string; seconds: number; status: string; nativeText?: string; nativeSeconds?: number; nativeError?: string }>;

async function timed(items: number, bytes: number, fn: () => Promise<number | void>): Promise<Measure> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const pages = await fn();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { items, bytes, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, ...(typeof pages === 'number' ? { pages } : {}) };
}

async function probe(task: StageTask): Promise<StageProbeResult | { engine: string; rows: OcrProbeResult }> {
  const config = loadConfig(process.env);
  const opts = config.stages;
  switch (task.stage) {
    case 'receive+delete': {
      // The queue is full: polls return at once; a short wait only matters if a receive comes up empty.
      const aws = await openAws(loadConfig({ ...process.env, QUEUE_WAIT_SECONDS: '1' }));
      const source = aws.source();
      const leases: Lease[] = [];
      const ac = new AbortController();
      // One receive first, untimed: connection set-up and the SDK's first-call work are not the stage's.
      for (const d of await source.receive(1, ac.signal)) leases.push(d.lease);
      const want = task.messages;
      // The receive stage: QUEUE_POLLERS long polls of QUEUE_BATCH_SIZE messages each.
      const receive = await timed(want - leases.length, task.bodyBytes, async () => {
        await Promise.all(
          Array.from({ length: config.queue.pollers }, async () => {
            while (leases.length < want && !ac.signal.aborted) {
              const got = await source.receive(config.queue.batchSize, ac.signal);
              for (const d of got) leases.push(d.lease);
            }
            ac.abort(); // the other poller's empty long poll ends at once
          }),
        );
      });
      // The delete stage: batches of DELETE_BATCH_SIZE, DELETE_CONCURRENCY DeleteMessageBatch calls at once.
      const size = config.queue.deleteBatchSize;
      const batches: Lease[][] = [];
      for (let i = 0; i < leases.length; i += size) batches.push(leases.slice(i, i + size));
      const del = await timed(leases.length, 0, async () => {
        await mapLimit(batches, config.queue.deleteConcurrency, async (b) => {
          const { failed } = await source.ack(b);
          if (failed.length) throw new Error(`${failed.length} deletes failed`);
        });
      });
      await source.close();
      aws.destroy();
      return { receive, delete: del };
    }
    case 'download': {
      const aws = await openAws(config);
      const blobs = aws.blobs;
      const dir = await mkdtemp(join(config.tmpDir, 'probe-dl-'));
      const bytes = task.objects.reduce((n, o) => n + o.size, 0);
      const get = async (o: { key: string; etag: string; size: number }) => {
        const ref: ObjectRef = { bucket: task.bucket, key: o.key, etag: o.etag, size: o.size };
        const file = await blobs.download(ref, { dir, maxBytes: config.limits.maxBytes });
        await file.dispose();
      };
      // One download first, untimed (connection set-up, the SDK's first-call work).
      await get(task.objects[0]!);
      const m = await timed(task.objects.length, bytes, async () => {
        await mapLimit(task.objects, opts.downloadConcurrency, get);
      });
      await rm(dir, { recursive: true, force: true });
      aws.destroy();
      return { download: m };
    }
    case 'extract': {
      const extractor: Extractor = createExtractor(config, noTelemetry);
      const t0 = performance.now();
      await waitWarm(extractor, 180_000);
      const warmMs = Math.round(performance.now() - t0);
      const out: StageProbeResult = {};
      for (const g of task.groups) {
        const bytes = g.files.reduce((n, f) => n + f.size, 0);
        const statuses: Record<string, number> = {};
        const m = await timed(g.files.length, bytes, async () => {
          let pages = 0;
          // As the extract stage does: EXTRACT_CONCURRENCY tasks handed to the pool at once.
          await mapLimit(g.files, opts.extractConcurrency, async (f) => {
            const r = await extractor.extract({
              path: f.path,
              name: f.name,
              size: f.size,
              limits: config.limits,
              ocrLangs: config.pool.ocrLangs,
              wantThumbnail: true,
            });
            pages += r.pages;
            statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          });
          return pages;
        });
        out[g.label] = { ...m, detail: { ...statuses, threads: config.pool.size, warmMs } };
      }
      await extractor.close();
      return out;
    }
    case 'ocr': {
      // One page at a time, so each figure is the cost of one page on one thread; the CLI reads the
      // same page right after, in this process, so both see the same machine load.
      const extractor = createExtractor(config, noTelemetry);
      await waitWarm(extractor, 180_000);
      // One untimed page first: the engine's start (WASM compile, model load) is not a page's cost.
      const first = task.files[0];
      if (first) await extractor.extract({ path: first.path, name: first.name, size: first.size, limits: config.limits, ocrLangs: config.pool.ocrLangs, wantThumbnail: false });
      const rows: OcrProbeResult = [];
      for (const f of task.files) {
        const s0 = performance.now();
        const r = await extractor.extract({ path: f.path, name: f.name, size: f.size, limits: config.limits, ocrLangs: config.pool.ocrLangs, wantThumbnail: false });
        const row: OcrProbeResult[number] = { name: f.name, text: r.text, seconds: (performance.now() - s0) / 1000, status: r.status };
        if (task.native) {
          const n0 = performance.now();
          try {
            // Native tesseract per page, as the Python worker called it; one thread, like one pool thread.
            const { stdout } = await execFileAsync('tesseract', [f.path, 'stdout', '-l', config.pool.ocrLangs], { env: { ...process.env, OMP_THREAD_LIMIT: '1' }, maxBuffer: 16 * 1024 * 1024 });
            row.nativeText = stdout;
            row.nativeSeconds = (performance.now() - n0) / 1000;
          } catch (err) {
            row.nativeError = String(err).split('\n')[0];
          }
        }
        rows.push(row);
      }
      const engine = `${extractor.ocr.kind} (${extractor.ocr.reason})`;
      await extractor.close();
      return { engine, rows };
    }
    case 'index': {
      const dir = await mkdtemp(join(config.tmpDir, 'probe-ix-'));
      const indexUrl = task.target === 'sqlite' ? `sqlite:${join(dir, 'index.db')}` : `${task.url!.replace(/\/+$/, '')}/bench-stage`;
      const index: SearchIndex = await openIndex(loadConfig({ ...process.env, INDEX_URL: indexUrl }));
      await index.init();
      const docs = makeDocs(task.docs, task.textChars);
      const batches: IndexOp[][] = [];
      for (let i = 0; i < docs.length; i += opts.indexBatchSize) batches.push(docs.slice(i, i + opts.indexBatchSize).map((doc) => ({ kind: 'upsert', doc })));
      const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d.text), 0);
      // The index stage: batches of INDEX_BATCH_SIZE, INDEX_CONCURRENCY writes in flight.
      const m = await timed(docs.length, bytes, async () => {
        await mapLimit(batches, opts.indexConcurrency, async (b) => {
          const results = await index.write(b);
          const bad = results.filter((r) => !r.ok).length;
          if (bad) throw new Error(`${bad} index writes failed`);
        });
      });
      await index.close();
      await rm(dir, { recursive: true, force: true });
      return { [`index (${task.target === 'sqlite' ? 'SQLite' : 'OpenSearch double'})`]: m };
    }
  }
}

const WORDS_EN = 'quarterly report invoice contract meeting minutes budget forecast customer shipment warehouse inventory approval schedule'.split(' ');
const WORDS_JA = '会議 議事録 請求書 契約書 見積 予算 出荷 在庫 承認 営業 報告 資料'.split(' ');

/** Documents with English and Japanese text, deterministic, about `chars` characters each (50 distinct texts). */
export function makeDocs(n: number, chars: number): IndexDocument[] {
  let x = 7;
  const next = () => (x = (x * 48271) % 2147483647);
  const texts = Array.from({ length: Math.min(n, 50) }, () => {
    const words: string[] = [];
    let len = 0;
    while (len < chars) {
      const w = next() % 4 === 0 ? WORDS_JA[next() % WORDS_JA.length]! : WORDS_EN[next() % WORDS_EN.length]!;
      words.push(w);
      len += w.length + 1;
    }
    return words.join(' ');
  });
  return Array.from({ length: n }, (_, i) => {
    const key = `stage/index/doc-${i}.pdf`;
    return {
      id: documentId('bench', key),
      source: `s3://bench/${key}`,
      bucket: 'bench',
      key,
      name: `doc-${i}.pdf`,
      contentType: 'application/pdf',
      size: chars * 3,
      sequencer: (1_000_000 + i).toString(16).toUpperCase(),
      status: 'ok' as const,
      text: texts[i % texts.length]!,
      truncated: false,
      pages: 2,
      ocrPages: 0,
      indexedAt: new Date().toISOString(),
    };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) childMain(probe);
