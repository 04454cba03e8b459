// src/pool/: the main-thread side of the extract pool. It speaks to its threads only through the
// contract in src/workers/protocol.ts and never imports the thread entry.
//
// The extract pool: piscina threads, warmed at start, each owning one OCR engine; a thread idle for
// POOL_IDLE_SECONDS ends and the next document starts a new one, so a worker at rest holds no thread. A
// per-document deadline is enforced from this side by aborting the task, which makes piscina
// terminate the thread running it: a hung or crashed document costs its thread, never the process.
import os from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Config } from '../config.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import { noTelemetry } from '../telemetry/telemetry.ts';
import type { Extractor, ExtractorStats } from '../types.ts';
import { contentTypeOf, extensionOf } from '../workers/extract/detect.ts';
import { RasterGate } from '../workers/raster-gate.ts';
import { MemoryGauge } from '../workers/memory-gauge.ts';
import { EXTRACT_WORKER_FILE } from '../workers/protocol.ts';
import type { ExtractRequest, ExtractResult, ExtractWorkerData, PoolTaskName, PoolTasks, ThreadStarted } from '../workers/protocol.ts';
import { DEFAULTS } from '../config.ts';
import type { Logger } from '../telemetry/log.ts';
import { silentLogger } from '../telemetry/log.ts';
import { OwnedTempDir } from '../flow/temp-dir.ts';
import { chooseOcrEngine } from '../workers/ocr/choice.ts';
import type { OcrEngineChoice, OcrEngineSetting } from '../workers/ocr/choice.ts';
import type { OcrModel } from '../workers/ocr/engine.ts';
import { OcrSpawner } from '../workers/ocr/spawner.ts';
import { processTreeRss } from './memory-governor.ts';
import type { MemoryGovernor, Sheddable } from './memory-governor.ts';

export type PoolOptions = {
  threads: number;
  ocrLangs: string;
  recycleAfterPages: number;
  /** Bound on a thread's tesseract WASM heap before the module is recycled; its JS heap gets at most THREAD_HEAP_MB of it. */
  maxWorkerMemoryMb: number;
  /** A thread idle this long ends (piscina starts one again for the next document); 0: threads stay. Default: none end. */
  idleSeconds?: number;
  /** OCR_ENGINE and OCR_MODEL (default auto and DEFAULTS.OCR_MODEL); resolved once, here. */
  ocrEngine?: OcrEngineSetting;
  ocrModel?: OcrModel;
  telemetry?: Telemetry;
  /** Time beyond the document's own deadline before the thread is stopped from outside. */
  deadlineGraceMs?: number;
  /** Start every thread's OCR engine at once (readiness waits for it). */
  warmUp?: boolean;
  /** The worker module; tests point it at a misbehaving wrapper. */
  workerFile?: string;
  /** Admits documents and ends the heaviest over the hard mark (see memory-governor.ts); none: no memory control. */
  governor?: MemoryGovernor;
};

/** A document on a pool thread, as the memory governor sees it; `expectedBytes` see expectedDocumentBytes. */
type Running = { name: string; startedAt: number; rssAtStart: number; threadId: number | undefined; alone: boolean; expectedBytes: number; end: () => void };

/** A document from a file this big is weighed before it starts (see expectedDocumentBytes). */
export const HEAVY_FILE_BYTES = 8 * 1024 * 1024;

/**
 * What a document from a big file is expected to add while it runs; 0 for an ordinary one, which is
 * admitted on the soft mark alone. The extractors hold the file whole (pdf.js, SheetJS, the Word
 * readers) plus what they decode from it: a 52 MB image-heavy PDF alone added 125 MB (its bytes, a
 * page's images and the thumbnail render). Two such documents admitted at once, each still small when
 * admitted, took the bench's backlog from ~300 to 430+ MB; weighed first, the second waits.
 */
export function expectedDocumentBytes(size: number): number {
  return size >= HEAVY_FILE_BYTES ? 2 * size + 32 * 1024 * 1024 : 0;
}

/** A document whose thread the governor ended: retried once in lean mode. */
const ENDED_FOR_MEMORY = Symbol('ended for memory');

/**
 * Lean mode, for the one retry of a document whose thread was ended over the hard mark. It runs alone
 * (see #admit), without a thumbnail, with strict caps on what may be decoded: images up to 16 MP and
 * 40 MB of decoded images (and of canvases) per PDF page. OCR still runs: alone, an ordinary scan fits;
 * what crossed the mark by its own weight crosses again and is indexed by name.
 */
export const LEAN = { maxPixels: 16_000_000, maxPageImageBytes: 40 * 1024 * 1024 } as const;

export function leanRequest(req: ExtractRequest): ExtractRequest {
  return {
    ...req,
    wantThumbnail: false,
    limits: { ...req.limits, maxPixels: Math.min(req.limits.maxPixels, LEAN.maxPixels), maxPageImageBytes: Math.min(req.limits.maxPageImageBytes ?? Infinity, LEAN.maxPageImageBytes) },
  };
}

/** A lean result says how it was made. */
function leanResult(r: ExtractResult): ExtractResult {
  const note = `memory: read again alone in lean mode (no thumbnail, images up to ${LEAN.maxPixels / 1e6} MP and ${LEAN.maxPageImageBytes / 1024 / 1024} MB per page) after its extraction crossed the memory hard mark`;
  return { ...r, error: r.error ? `${note}; ${r.error}` : note };
}

const DEFAULT_GRACE_MS = 5_000;
/** A thread busy in native code may not answer for its heap: then it weighs 0 (the longest-running goes). */
const HEAP_STATS_TIMEOUT_MS = 250;
const WARM_UP_ROUNDS = 3;
/**
 * A pool thread's JS heap (old generation). pdf.js on ordinary documents stays far below; a hostile
 * PDF hits it and fails alone, instead of growing two threads to MAX_WORKER_MEMORY_MB each (2 x 300 MB
 * is over the process's 500 MB budget on its own). Typed arrays (pixels, file bytes) are not counted.
 */
export const THREAD_HEAP_MB = 128;
/**
 * Young generation per thread: V8's default (48 MB at this heap size) is memory the budget cannot spare.
 * 12 MB = semi-spaces of 4 MB, what NODE_OPTIONS --max-semi-space-size=4 (PROCESS_ENV, which overrides
 * this when set) gives every isolate; pdf.js ran the bench's full work no slower with it.
 */
const THREAD_YOUNG_MB = 12;

export class PoolExtractor implements Extractor, Sheddable {
  readonly #pool: Piscina;
  readonly #gate = RasterGate.buffer();
  readonly #gauge = MemoryGauge.buffer();
  readonly #opts: Required<Omit<PoolOptions, 'telemetry' | 'ocrEngine' | 'ocrModel' | 'governor' | 'idleSeconds'>> & { telemetry: Telemetry; governor?: MemoryGovernor };
  /** The OCR engine every thread runs, and why. */
  readonly ocr: OcrEngineChoice;
  /** Runs the native engine's child processes for the pool threads (absent for wasm). */
  readonly #spawner: OcrSpawner | undefined;
  /** Documents wait here, not in piscina, so a deadline only starts when a thread is free for it. */
  readonly #waiting: Array<() => void> = [];
  /** Documents on a thread now. */
  readonly #active = new Set<Running>();
  /** Lean retries waiting to run alone: nothing new starts meanwhile. */
  #leanWaiting = 0;
  /** Woken when a document ends or memory falls under the soft mark: admission looks again. */
  #admissionWaiters: Array<() => void> = [];
  /** Threads that have run a document since they started: an idle one may hold caches and an OCR engine. */
  readonly #usedThreads = new Set<number>();
  /** An idle thread is being ended: nothing starts until it is gone (it must not be handed a document). */
  #recycling = false;
  #running = 0;
  #completed = 0;
  #warm = false;
  #closed = false;
  readonly ready: Promise<void>;

  constructor(opts: PoolOptions) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1) throw new RangeError(`pool threads must be an integer >= 1, got ${opts.threads}`);
    this.#opts = {
      deadlineGraceMs: DEFAULT_GRACE_MS,
      warmUp: true,
      workerFile: EXTRACT_WORKER_FILE,
      ...opts,
      telemetry: opts.telemetry ?? noTelemetry,
    };
    this.ocr = chooseOcrEngine(opts.ocrEngine ?? 'auto', opts.ocrModel ?? DEFAULTS.OCR_MODEL, opts.ocrLangs);
    const workerData: ExtractWorkerData = {
      ocr: { kind: this.ocr.kind, model: this.ocr.model, recycleAfterPages: opts.recycleAfterPages, maxHeapMb: opts.maxWorkerMemoryMb, viaMain: this.ocr.kind === 'native' },
      rasterGate: this.#gate,
      memoryGauge: this.#gauge,
    };
    const idleMs = (opts.idleSeconds ?? 0) * 1000;
    this.#pool = new Piscina({
      filename: this.#opts.workerFile,
      // Idle threads end only when asked to: a warm thread at rest holds ~65 MB (its heap, pdf.js, caches).
      minThreads: idleMs > 0 ? 0 : opts.threads,
      maxThreads: opts.threads,
      idleTimeout: idleMs > 0 ? idleMs : 2 ** 31 - 1,
      concurrentTasksPerWorker: 1,
      // A runaway JS heap (pdf.js on a hostile file) kills its thread alone.
      resourceLimits: { maxOldGenerationSizeMb: Math.min(THREAD_HEAP_MB, Math.max(64, opts.maxWorkerMemoryMb)), maxYoungGenerationSizeMb: THREAD_YOUNG_MB },
      workerData,
      recordTiming: true,
    });
    // Threads die by design (deadline, crash); piscina replaces them. Keep the emitter from throwing.
    this.#pool.on('error', () => {});
    // A thread killed while it held the raster gate cannot release it: free it for the others.
    const gate = new RasterGate(this.#gate);
    const freeIfHolderGone = () => {
      const holder = gate.holder;
      if (holder > 0 && !this.#pool.threads.some((t) => t.threadId === holder)) gate.freeIfHeldBy(holder);
    };
    // Page files for the long-lived tesseract go to a locked private dir: removed on close, swept by
    // the next start after a crash (src/flow/temp-dir.ts), like the pipeline's downloads.
    this.#spawner = this.ocr.kind === 'native' ? OcrSpawner.acquire(() => OwnedTempDir.create(os.tmpdir(), silentLogger)) : undefined;
    // An OCR child starts only when the memory budget has room for it (see MemoryGovernor.admitChild).
    const governor = opts.governor;
    if (governor) this.#spawner?.setAdmission((want, children, maxWaitMs) => governor.admitChild(want, children, maxWaitMs));
    // A thread ended mid-page (deadline, crash): its tesseract child has nobody to answer to. The
    // children kept are those of the threads still listed (an exited thread's id reads -1).
    const killOrphans = () => this.#spawner?.killOrphans(this.#pool.threads.map((t) => t.threadId));
    this.#pool.on('workerDestroy', () => {
      // A thread that ended (idle, deadline, governor) is no longer one that has worked.
      const live = new Set(this.#pool.threads.map((t) => t.threadId));
      for (const id of this.#usedThreads) if (!live.has(id)) this.#usedThreads.delete(id);
      killOrphans();
      freeIfHolderGone();
      // The destroyed thread may still be listed for a moment: look again once it is gone.
      setTimeout(killOrphans, 50).unref();
      setTimeout(() => {
        killOrphans();
        freeIfHolderGone();
      }, 1_000).unref();
    });
    this.ready = this.#opts.warmUp ? this.#warmUp() : Promise.resolve().then(() => void (this.#warm = true));
    this.ready.catch(() => {});
    opts.governor?.onResume(() => this.#wakeAdmission());
    opts.governor?.publishTo(new MemoryGauge(this.#gauge));
    opts.governor?.start(this);
  }

  async extract(req: ExtractRequest, signal?: AbortSignal): Promise<ExtractResult> {
    if (this.#closed) throw new Error('extract pool is closed');
    const first = await this.#attempt(req, signal);
    if (first !== ENDED_FOR_MEMORY) return first;
    const governor = this.#opts.governor!;
    governor.record('lean_retry', req.name, `retried once, alone, in lean mode (no thumbnail, images up to ${LEAN.maxPixels / 1e6} MP)`);
    const second = await this.#attempt(leanRequest(req), signal, true);
    if (second !== ENDED_FOR_MEMORY) return leanResult(second);
    const error = `memory: its extraction crossed the memory budget's hard mark (${Math.round(governor.hardBytes / 1024 / 1024)} of ${Math.round(governor.budgetBytes / 1024 / 1024)} MB), then again alone in lean mode; indexed by name only`;
    governor.record('gave_up', req.name, 'alone in lean mode it crossed the hard mark again: indexed by name as too_large');
    return { ...failed(req, error), status: 'too_large' };
  }

  /**
   * One run on a pool thread: the result, or ENDED_FOR_MEMORY when the governor ended its thread.
   * `alone`: a lean retry, which starts only once nothing else runs, so if it crosses the hard mark
   * again it is the cause.
   */
  async #attempt(req: ExtractRequest, signal?: AbortSignal, alone = false): Promise<ExtractResult | typeof ENDED_FOR_MEMORY> {
    const queuedAt = performance.now();
    await this.#slot(signal);
    const memory = new AbortController();
    let running: Running;
    try {
      running = await this.#admit(req, alone, () => memory.abort(ENDED_FOR_MEMORY), signal);
    } catch (err) {
      this.#release();
      throw err;
    }
    const startedAt = performance.now();
    const budgetMs = req.limits.docTimeoutMs + this.#opts.deadlineGraceMs;
    const deadline = AbortSignal.timeout(budgetMs);
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (m: ThreadStarted) => {
      running.threadId = m.threadId;
      this.#usedThreads.add(m.threadId);
    });
    try {
      const stop = AbortSignal.any(signal ? [signal, deadline, memory.signal] : [deadline, memory.signal]);
      return await this.#run('default', { ...req, started: port2 }, stop, [port2]);
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      if (memory.signal.aborted) return ENDED_FOR_MEMORY;
      if (deadline.aborted) {
        return failed(req, `document deadline of ${req.limits.docTimeoutMs} ms exceeded; its extract thread was stopped`);
      }
      return failed(req, `extract thread crashed: ${(err as Error)?.message ?? String(err)}`);
    } finally {
      port1.close();
      this.#active.delete(running);
      this.#completed++;
      this.#opts.telemetry.poolTask((startedAt - queuedAt) / 1000, (performance.now() - startedAt) / 1000);
      this.#release();
      this.#wakeAdmission();
    }
  }

  /**
   * Waits until the document may start and counts it as running (in the same turn, so two waiters
   * cannot both see an empty pool). Over the soft mark only a document with nothing else running
   * starts; a document from a big file starts beside others only if what it and the other big ones
   * running are expected to add fits under the soft mark; a lean retry waits until nothing else runs,
   * and holds back new documents meanwhile.
   * `end` is how the governor stops it: aborting a running task makes piscina terminate its thread.
   */
  async #admit(req: ExtractRequest, alone: boolean, end: () => void, signal?: AbortSignal): Promise<Running> {
    const { name } = req;
    const governor = this.#opts.governor;
    const expectedBytes = governor ? expectedDocumentBytes(req.size) : 0;
    let toldWaiting = false;
    if (alone) this.#leanWaiting++;
    try {
      for (;;) {
        signal?.throwIfAborted();
        const idle = this.#active.size === 0;
        const may = !this.#recycling && (alone ? idle : this.#leanWaiting === 0 && (idle || (!governor?.paused && this.#roomFor(expectedBytes))));
        if (may) {
          const running: Running = { name, startedAt: Date.now(), rssAtStart: governor?.rssBytes ?? 0, threadId: undefined, alone, expectedBytes, end };
          this.#active.add(running);
          return running;
        }
        if (!alone && this.#leanWaiting === 0) {
          if (governor && !governor.paused && !this.#roomFor(expectedBytes)) {
            if (!toldWaiting) governor.record('paused', name, `its file of ${Math.round(req.size / 2 ** 20)} MB is expected to add about ${Math.round(expectedBytes / 2 ** 20)} MB: it starts when that fits under the soft mark (${Math.round(governor.softBytes / 2 ** 20)} MB) or nothing else runs`);
            toldWaiting = true;
          } else governor?.notePaused(name);
        }
        await new Promise<void>((resolve) => {
          const wake = () => {
            signal?.removeEventListener('abort', wake);
            resolve();
          };
          signal?.addEventListener('abort', wake, { once: true });
          this.#admissionWaiters.push(wake);
        });
      }
    } finally {
      if (alone) this.#leanWaiting--;
    }
  }

  /** Room under the soft mark for `expectedBytes` more, after what the big documents running may still add (counted whole). */
  #roomFor(expectedBytes: number): boolean {
    const governor = this.#opts.governor;
    if (!governor || expectedBytes === 0) return true;
    let held = 0;
    for (const r of this.#active) held += r.expectedBytes;
    return governor.rssBytes + held + expectedBytes <= governor.softBytes;
  }

  #wakeAdmission(): void {
    for (const wake of this.#admissionWaiters.splice(0)) wake();
  }

  /** An idle thread that has worked: ending it frees its heap, caches and OCR engine and loses no document. */
  idleThread(): { name: string; end(): void } | undefined {
    const idle = this.#idleUsedThread([...this.#active]);
    return idle ? { name: `(idle pool thread ${idle.threadId})`, end: () => this.#recycle(idle) } : undefined;
  }

  /** The OCR processes waiting for their next page, as one thing to end (nothing is lost: the next page starts one). */
  idleOcr(): { name: string; end(): void } | undefined {
    const pids = this.#spawner?.idleSessionPids ?? [];
    return pids.length ? { name: `idle OCR process ${pids.join(', ')}`, end: () => void this.#spawner?.closeIdleSessions() } : undefined;
  }

  /**
   * Of the running documents that grew memory, the one whose thread holds the most: V8 heap, the
   * array buffers it owns (decoded images, file bytes) and the OCR processes run for it.
   */
  async heaviest(minGrowthBytes: number): Promise<{ name: string; end(): void } | undefined> {
    const all = [...this.#active];
    const rss = this.#opts.governor?.rssBytes ?? 0;
    // Alone (a lean retry, or the only one left), a document is blamed for what its own thread grew:
    // its OCR processes were admitted by what they hold (MemoryGovernor.admitChild), so an ordinary
    // scan over a baseline that is already high is not the cause; a page that decodes or renders
    // past the hard mark is, and is ended there, before the budget.
    const blamed = (t: Running) => (!t.alone && all.length > 1 ? rss - t.rssAtStart : rss - t.rssAtStart - this.#childrenBytes(t.threadId)) > minGrowthBytes;
    const tasks = all.filter(blamed);
    if (tasks.length === 0) return undefined;
    const weights = await Promise.all(tasks.map(async (t) => (await this.#threadBytes(t.threadId)) + this.#childrenBytes(t.threadId)));
    let best = 0;
    for (let i = 1; i < tasks.length; i++) {
      // Equal (unknown) weights: the document that has run longest.
      if (weights[i]! > weights[best]! || (weights[i] === weights[best] && tasks[i]!.startedAt < tasks[best]!.startedAt)) best = i;
    }
    return { name: tasks[best]!.name, end: tasks[best]!.end };
  }

  /** Resident bytes of the OCR processes run for a thread (the main thread spawns them on its behalf). */
  #childrenBytes(threadId: number | undefined): number {
    if (threadId === undefined || !this.#spawner) return 0;
    return this.#spawner.pidsOfThread(threadId).reduce((n, pid) => n + processTreeRss(pid), 0);
  }

  /** An idle thread that has worked; none while a starting document has not yet said which thread it got. */
  #idleUsedThread(tasks: Running[]): Worker | undefined {
    if (this.#recycling || tasks.some((t) => t.threadId === undefined)) return undefined;
    const busy = new Set(tasks.map((t) => t.threadId));
    return this.#pool.threads.find((t) => this.#usedThreads.has(t.threadId) && !busy.has(t.threadId));
  }

  #recycle(thread: Worker): void {
    this.#recycling = true;
    this.#usedThreads.delete(thread.threadId);
    // piscina sees the exit and starts a fresh thread (minThreads).
    void thread.terminate().finally(() => {
      this.#recycling = false;
      this.#wakeAdmission();
    });
  }

  async #threadBytes(threadId: number | undefined): Promise<number> {
    const thread = this.#pool.threads.find((t) => t.threadId === threadId);
    if (!thread) return 0;
    try {
      const stats = await Promise.race([thread.getHeapStatistics(), new Promise<never>((_, reject) => setTimeout(reject, HEAP_STATS_TIMEOUT_MS).unref())]);
      return stats.used_heap_size + stats.external_memory;
    } catch {
      return 0;
    }
  }

  stats(): ExtractorStats {
    return {
      threads: this.#pool.threads.length,
      queueSize: this.#waiting.length + this.#pool.queueSize,
      utilization: this.#pool.utilization,
      completed: this.#completed,
      warm: this.#warm,
    };
  }

  /** PIDs of the OCR child processes running now (the memory governor counts their RSS). */
  ocrChildPids(): number[] {
    return this.#spawner?.pids ?? [];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#opts.governor?.stop();
    await this.ready.catch(() => {});
    await this.#pool.destroy();
    if (this.#opts.governor) this.#spawner?.setAdmission(undefined);
    this.#spawner?.release();
  }

  async #slot(signal?: AbortSignal): Promise<void> {
    if (this.#running < this.#opts.threads) {
      this.#running++;
      return;
    }
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const go = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(go);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(go);
    });
    // The releasing task handed its slot over: #running stays the same.
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }

  /** One task of the contract in src/workers/protocol.ts (piscina itself cannot type a task by name). */
  #run<K extends PoolTaskName>(name: K, task: PoolTasks[K]['task'], signal?: AbortSignal, transferList?: unknown[]): Promise<PoolTasks[K]['result']> {
    return this.#pool.run(task, { name, ...(signal ? { signal } : {}), ...(transferList ? { transferList: transferList as never } : {}) }) as Promise<PoolTasks[K]['result']>;
  }

  /** Runs a warm-up on every thread: each loads its language data once, before the first document. */
  async #warmUp(): Promise<void> {
    const seen = new Set<number>();
    for (let round = 0; round < WARM_UP_ROUNDS && seen.size < this.#opts.threads; round++) {
      const results = await Promise.all(
        Array.from({ length: this.#opts.threads }, () =>
          this.#run('warmUp', { ocrLangs: this.#opts.ocrLangs }),
        ),
      );
      for (const r of results) seen.add(r.threadId);
    }
    this.#warm = true;
  }
}

function failed(req: ExtractRequest, error: string): ExtractResult {
  const ext = extensionOf(req.name);
  return {
    contentType: req.contentType ?? (ext === 'pdf' ? contentTypeOf('pdf', req.name) : 'application/octet-stream'),
    text: '',
    truncated: false,
    pages: 0,
    ocrPages: 0,
    status: 'failed',
    error,
  };
}

/** The pool the service runs with, sized and bounded by the configuration (under the memory governor when given one); says once which OCR engine it runs. */
export function createExtractor(config: Config, telemetry: Telemetry, logger?: Logger, governor?: MemoryGovernor): PoolExtractor {
  const pool = new PoolExtractor({
    threads: config.pool.size,
    ocrLangs: config.pool.ocrLangs,
    recycleAfterPages: config.pool.recycleAfterPages,
    maxWorkerMemoryMb: config.pool.maxWorkerMemoryMb,
    idleSeconds: config.pool.idleSeconds,
    ocrEngine: config.pool.ocrEngine,
    ocrModel: config.pool.ocrModel,
    telemetry,
    ...(governor ? { governor } : {}),
  });
  telemetry.ocrEngine(pool.ocr);
  logger?.info({ ocrEngine: pool.ocr.kind, ocrModel: pool.ocr.model, reason: pool.ocr.reason }, 'OCR engine chosen');
  return pool;
}
