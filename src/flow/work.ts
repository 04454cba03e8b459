// The units that flow through the stages: a message (one lease, settled once) and its tasks (one per job).
import type { WorkerError } from '../errors.ts';
import { backoffMs } from './backoff.ts';
import type { IndexDocument, IndexOp, JobSpec, Lease, LocalFile } from '../types.ts';

export type TaskOutcome = 'ok' | 'skipped' | 'failed';

/** One message and the bookkeeping that decides how it ends. */
export type MessageState = {
  lease: Lease;
  /** Tasks not yet finished. */
  pending: number;
  /** The worst error seen among its tasks (retryable beats permanent). */
  error?: WorkerError;
  settled: boolean;
  /** Per-stage milliseconds, summed over its tasks: for the outcome log line. */
  ms: { download: number; extract: number; index: number };
  /** Document statuses of its tasks, for the outcome log line. */
  statuses: string[];
  sources: string[];
};

/** One job of a message as it moves from stage to stage. */
export type Task = {
  msg: MessageState;
  spec: JobSpec;
  /** Document id: hash of bucket + key. */
  id: string;
  file?: LocalFile;
  /** Bytes reserved in the download budget, released when the file is disposed. */
  reservedBytes: number;
  op?: IndexOp;
  doc?: IndexDocument;
  /** The index refused the full document once; its metadata-only form has been sent instead. */
  refusedOnce?: boolean;
};

export function newMessageState(lease: Lease, jobs: number): MessageState {
  return { lease, pending: jobs, settled: false, ms: { download: 0, extract: 0, index: 0 }, statuses: [], sources: [] };
}

/** Retryable errors dominate: one retryable job means the whole message is tried again. */
export function worse(a: WorkerError | undefined, b: WorkerError): WorkerError {
  if (!a) return b;
  if (a.kind === 'retryable') return a;
  if (b.kind === 'retryable') return b;
  return a;
}

/** Backoff for a retryable failure, growing with the receive count, so poison messages reach the DLQ. */
export function retryDelaySeconds(receiveCount: number, baseSeconds: number, maxSeconds: number): number {
  // Capped after the jitter (up to 20 %), so a long-failing message waits the full maximum.
  const jittered = backoffMs(Math.min(20, receiveCount - 1), { baseMs: baseSeconds, maxMs: Infinity, jitter: 0.2 });
  return Math.max(0, Math.min(maxSeconds, Math.round(jittered)));
}
