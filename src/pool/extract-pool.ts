// src/pool/: the main-thread side of the extract pool. It speaks to its threads only through the
// contract in src/workers/protocol.ts and never imports the thread entry.
//
// The extract pool: piscina threads that stay warm (min = max), each owning one OCR engine. A
// per-document deadline is enforced from this side by aborting the task, which makes piscina
// terminate the thread running it: a hung or crashed document costs its thread, never the process.
import { Piscina } from 'piscina';
import type { Config } from '../config.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import { noTelemetry } from '../telemetry/telemetry.ts';
import type { Extractor, ExtractorStats } from '../types.ts';
import { contentTypeOf, extensionOf } from '../workers/extract/detect.ts';
import { RasterGate } from '../workers/raster-gate.ts';
import { EXTRACT_WORKER_FILE } from '../workers/protocol.ts';
import type { ExtractRequest, ExtractResult, ExtractWorkerData, PoolTaskName, PoolTasks } from '../workers/protocol.ts';
import { DEFAULTS } from '../config.ts';
import type { Logger } from '../telemetry/log.ts';
import { chooseOcrEngine } from '../workers/ocr/choice.ts';
import type { OcrEngineChoice, OcrEngineSetting } from '../workers/ocr/choice.ts';
import type { OcrModel } from '../workers/ocr/engine.ts';
import { OcrSpawner } from '../workers/ocr/spawner.ts';

export type PoolOptions = {
  threads: number;
  ocrLangs: string;
  recycleAfterPages: number;
  /** Bound on a thread's tesseract WASM heap before the module is recycled; its JS heap gets at most THREAD_HEAP_MB of it. */
  maxWorkerMemoryMb: number;
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
};

const DEFAULT_GRACE_MS = 5_000;
const WARM_UP_ROUNDS = 3;
/**
 * A pool thread's JS heap (old generation). pdf.js on ordinary documents stays far below; a hostile
 * PDF hits it and fails alone, instead of growing two threads to MAX_WORKER_MEMORY_MB each (2 x 300 MB
 * is over the process's 500 MB budget on its own). Typed arrays (pixels, file bytes) are not counted.
 */
export const THREAD_HEAP_MB = 128;
/** Young generation per thread: V8's default (48 MB at this heap size) is memory the budget cannot spare. */
const THREAD_YOUNG_MB = 16;

export class PoolExtractor implements Extractor {
  readonly #pool: Piscina;
  readonly #gate = RasterGate.buffer();
  readonly #opts: Required<Omit<PoolOptions, 'telemetry' | 'ocrEngine' | 'ocrModel'>> & { telemetry: Telemetry };
  /** The OCR engine every thread runs, and why. */
  readonly ocr: OcrEngineChoice;
  /** Runs the native engine's child processes for the pool threads (absent for wasm). */
  readonly #spawner: OcrSpawner | undefined;
  /** Documents wait here, not in piscina, so a deadline only starts when a thread is free for it. */
  readonly #waiting: Array<() => void> = [];
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
    };
    this.#pool = new Piscina({
      filename: this.#opts.workerFile,
      minThreads: opts.threads,
      maxThreads: opts.threads,
      idleTimeout: 2 ** 31 - 1,
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
    this.#spawner = this.ocr.kind === 'native' ? OcrSpawner.acquire() : undefined;
    // A thread ended mid-page (deadline, crash): its tesseract child has nobody to answer to. The
    // children kept are those of the threads still listed (an exited thread's id reads -1).
    const killOrphans = () => this.#spawner?.killOrphans(this.#pool.threads.map((t) => t.threadId));
    this.#pool.on('workerDestroy', () => {
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
  }

  async extract(req: ExtractRequest, signal?: AbortSignal): Promise<ExtractResult> {
    if (this.#closed) throw new Error('extract pool is closed');
    const queuedAt = performance.now();
    await this.#slot(signal);
    const startedAt = performance.now();
    const budgetMs = req.limits.docTimeoutMs + this.#opts.deadlineGraceMs;
    const deadline = AbortSignal.timeout(budgetMs);
    try {
      return await this.#run('default', req, signal ? AbortSignal.any([signal, deadline]) : deadline);
    } catch (err) {
      if (signal?.aborted) throw signal.reason ?? err;
      if (deadline.aborted) {
        return failed(req, `document deadline of ${req.limits.docTimeoutMs} ms exceeded; its extract thread was stopped`);
      }
      return failed(req, `extract thread crashed: ${(err as Error)?.message ?? String(err)}`);
    } finally {
      this.#completed++;
      this.#opts.telemetry.poolTask((startedAt - queuedAt) / 1000, (performance.now() - startedAt) / 1000);
      this.#release();
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
    await this.ready.catch(() => {});
    await this.#pool.destroy();
    this.#spawner?.release();
  }

  /** One task of the contract in src/workers/protocol.ts (piscina itself cannot type a task by name). */
  #run<K extends PoolTaskName>(name: K, task: PoolTasks[K]['task'], signal?: AbortSignal): Promise<PoolTasks[K]['result']> {
    return this.#pool.run(task, { name, ...(signal ? { signal } : {}) }) as Promise<PoolTasks[K]['result']>;
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

/** The pool the service runs with, sized and bounded by the configuration; says once which OCR engine it runs. */
export function createExtractor(config: Config, telemetry: Telemetry, logger?: Logger): PoolExtractor {
  const pool = new PoolExtractor({
    threads: config.pool.size,
    ocrLangs: config.pool.ocrLangs,
    recycleAfterPages: config.pool.recycleAfterPages,
    maxWorkerMemoryMb: config.pool.maxWorkerMemoryMb,
    ocrEngine: config.pool.ocrEngine,
    ocrModel: config.pool.ocrModel,
    telemetry,
  });
  telemetry.ocrEngine(pool.ocr);
  logger?.info({ ocrEngine: pool.ocr.kind, ocrModel: pool.ocr.model, reason: pool.ocr.reason }, 'OCR engine chosen');
  return pool;
}
