// The contract between the extract pool (main thread, src/pool/extract-pool.ts) and its threads
// (src/workers/extract-worker.ts): what piscina carries each way, declared once and imported by both
// sides. The main side never imports the thread entry; it finds it by EXTRACT_WORKER_FILE.
import { fileURLToPath } from 'node:url';
import type { ExtractRequest, ExtractResult, ThreadStarted } from '../types.ts';
import type { OcrEngineSpec } from './ocr/engine.ts';

export type { ExtractRequest, ExtractResult, ThreadStarted };

/**
 * The meaning of an extraction. Stored on every document; bump it when extraction changes what it
 * produces (a new reader, better OCR), so `reprocess --below-version` and skip-unchanged redo old ones.
 */
export const EXTRACTOR_VERSION = 1;

/**
 * The thread entry module, loaded by piscina inside each pool thread: .ts when running the sources,
 * .js in the packed package (dist/, compiled on prepack).
 */
export const EXTRACT_WORKER_FILE = fileURLToPath(new URL(`./extract-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

/** Given to every thread through piscina's workerData, from Config (no defaults on the thread side). */
export type ExtractWorkerData = {
  /** The OCR engine this thread builds (chosen once in the main thread, see workers/ocr/choice.ts). */
  ocr: OcrEngineSpec;
  /** The process-wide one-big-raster gate (see raster-gate.ts); absent: no gate. */
  rasterGate?: SharedArrayBuffer;
  /** The memory governor's ceiling and children's memory, published at each sample (see memory-gauge.ts); absent: no limit. */
  memoryGauge?: SharedArrayBuffer;
};

export type WarmUpTask = { ocrLangs: string };
export type WarmUpResult = { warm: boolean; threadId: number };

/** Every task the entry exports, by piscina task name ('default' is the default export). */
export type PoolTasks = {
  default: { task: ExtractRequest; result: ExtractResult };
  warmUp: { task: WarmUpTask; result: WarmUpResult };
};
export type PoolTaskName = keyof PoolTasks;

/** The shape a thread entry's export for task `K` must have (the entry checks itself with `satisfies`). */
export type PoolTaskHandler<K extends PoolTaskName> = (task: PoolTasks[K]['task']) => Promise<PoolTasks[K]['result']>;
