// What the bench and its worker processes say to each other over the IPC channel.
import type { PipelineOptions } from '../../src/pipeline.ts';
import type { WorkCounts } from './counting.ts';

export type WorkerMode =
  /** The seed's loop: receive 5 (10 s long poll), one message at a time, DeleteMessage each. */
  | 'seed'
  /** One message at a time through the pipeline's stage handlers. */
  | 'sequential'
  /** The Pipeline. */
  | 'pipeline';

export type WorkerSpec = {
  mode: WorkerMode;
  /** 'noop' answers at once (control plane); 'pool' is the real extract pool (createExtractor). */
  extractor: 'noop' | 'pool';
  /** Stop by itself once this many messages are deleted; otherwise run until told to stop. */
  expect?: number;
  /** Pipeline options on top of those the environment gives. */
  overrides?: Partial<PipelineOptions>;
  /** RSS sampling period, ms. */
  sampleMs: number;
  /** Give up (and report incomplete) after this long. */
  timeoutMs: number;
  /** After the run, stay at rest this long and report the RSS then (pool threads idle out after POOL_IDLE_SECONDS). */
  idleAfterMs?: number;
};

export type WorkerResult = {
  mode: WorkerMode;
  counts: WorkCounts;
  wallMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Highest process.memoryUsage.rss() seen by the sampler, MB. */
  peakRssSampledMb: number;
  /** The kernel's high-water mark for the process (VmHWM), MB: catches peaks between samples. */
  peakRssKernelMb: number;
  /** RSS once warm, before the first message: the pool's threads with their language data loaded, MB. */
  rssAtReadyMb: number;
  /** Process tree RSS `idleAfterMs` after the run, at rest (the pipeline still polling), MB. */
  rssIdleMb?: number;
  /** Pool threads alive then. */
  threadsIdle?: number;
  /** Mean share of the pool's threads that had a document while measuring. */
  poolBusy: number;
  /** Pool start-up (language data loaded in every thread) before 'go', ms. */
  warmMs: number;
  incomplete: boolean;
};

export type ToWorker = { type: 'go' } | { type: 'stop' };
export type FromWorker =
  | { type: 'ready'; warmMs: number }
  | { type: 'result'; result: WorkerResult }
  | { type: 'error'; message: string };
