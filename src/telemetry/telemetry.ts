// src/telemetry/: this interface (and noTelemetry, teeTelemetry), its Prometheus implementation
// (metrics.ts), logging (log.ts, log-fields.ts) and the ops HTTP server (ops-server.ts).
//
// What the pipeline reports as it runs. Stages and adapters call these methods; the Prometheus
// implementation (src/telemetry/metrics.ts) turns them into counters and histograms. Gauges that can be read
// on demand (queue depth, leases in flight, pool use) are registered once as callbacks and read only
// at scrape time, so the hot path pays for counters alone.
import type { DocStatus } from '../types.ts';

export type StageName = 'receive' | 'download' | 'extract' | 'index' | 'delete';
/** What the memory governor did (src/pool/memory-governor.ts). */
export const GOVERNOR_ACTIONS = ['paused', 'thread_ended', 'lean_retry', 'gave_up'] as const;
export type GovernorAction = (typeof GOVERNOR_ACTIONS)[number];
export type StageOutcome = 'ok' | 'retry' | 'failed' | 'skipped';
/** Work not done again: the index held this version already, or another key's identical bytes were extracted. */
export type SkipReason = 'unchanged' | 'same_content';

export interface Telemetry {
  stageItem(stage: StageName, outcome: StageOutcome, seconds: number): void;
  /** Registers a gauge source for a bounded queue between stages. */
  watchQueue(name: string, read: () => { depth: number; capacity: number }): void;
  watchLeases(read: () => { count: number; oldestAgeSeconds: number }): void;
  watchPool(read: () => { threads: number; queueSize: number; utilization: number }): void;
  /** Pool task timing, seconds. */
  poolTask(waitSeconds: number, runSeconds: number): void;
  emptyReceive(): void;
  messagesReceived(n: number): void;
  heartbeatExtended(n: number): void;
  heartbeatFailed(n: number): void;
  messagesDeleted(n: number): void;
  deleteFailed(n: number): void;
  messageReleased(reason: 'retry' | 'malformed' | 'shutdown'): void;
  bytesDownloaded(n: number): void;
  pagesOcrd(n: number): void;
  /** The OCR engine the pool runs (once, at start). */
  ocrEngine(choice: { kind: string; model: string; reason: string }): void;
  documentStatus(status: DocStatus): void;
  /** An `ok` document that is neither an image nor a scan came out with no text (a reader missed it, or the file is blank). */
  documentWithoutText(): void;
  documentSkipped(reason: SkipReason): void;
  bulkRequest(outcome: 'ok' | 'partial' | 'retry' | 'failed'): void;
  indexItemRetries(n: number): void;
  /** The intake breaker opened or closed because of this dependency. */
  intakeBreaker(dependency: 'index' | 'blobs', open: boolean): void;
  /** Registers the memory governor's budget and last sample (process tree RSS), bytes. */
  watchMemory(read: () => { budgetBytes: number; rssBytes: number }): void;
  memoryAction(action: GovernorAction): void;
}

/** Telemetry that records nothing: the default for tests and the CLI. */
export const noTelemetry: Telemetry = {
  stageItem() {}, watchQueue() {}, watchLeases() {}, watchPool() {}, poolTask() {}, emptyReceive() {},
  messagesReceived() {}, heartbeatExtended() {}, heartbeatFailed() {}, messagesDeleted() {}, deleteFailed() {},
  messageReleased() {}, bytesDownloaded() {}, pagesOcrd() {}, ocrEngine() {}, documentStatus() {}, documentWithoutText() {}, documentSkipped() {}, bulkRequest() {},
  indexItemRetries() {}, intakeBreaker() {}, watchMemory() {}, memoryAction() {},
};

/**
 * Telemetry that reports to `base` and also calls the hooks in `also` (after base, same arguments):
 * how a command or the bench counts something without a second implementation of the interface.
 */
export function teeTelemetry(base: Telemetry, also: Partial<Telemetry>): Telemetry {
  return new Proxy(base, {
    get(target, key) {
      const v = Reflect.get(target, key);
      if (typeof v !== 'function') return v;
      const own = v.bind(target) as (...args: unknown[]) => void;
      const hook = (also as Record<PropertyKey, unknown>)[key];
      if (typeof hook !== 'function') return own;
      return (...args: unknown[]) => {
        own(...args);
        (hook as (...args: unknown[]) => void)(...args);
      };
    },
  });
}
