// The one log line written per message outcome, built as a plain object so the pipeline logs it with
// `logger[outcomeLevel(o.status)](messageOutcomeFields(o), 'message done')`. The input type has no
// room for receipt handles, credentials or document text, so they cannot end up in the line.
import type { StageName } from './telemetry.ts';
import type { DocStatus } from '../types.ts';

/** How a message ended: deleted after its work was done, or given back to the queue and why. */
export type MessageStatus = 'deleted' | 'retry' | 'malformed' | 'shutdown' | 'delete_failed';

export type MessageOutcome = {
  /** SQS MessageId (or the local source's lease id). */
  messageId: string;
  /** Objects the message named: s3://bucket/key or a file path (ids.ts sourceOf). */
  sources: readonly string[];
  status: MessageStatus;
  /** Time spent in each stage, ms, summed over the message's jobs. Stages not visited are left out. */
  stageMs: Readonly<Partial<Record<StageName, number>>>;
  /** From receipt to settle, ms. */
  totalMs: number;
  receiveCount?: number;
  /** Status of each document written (one per upsert job). */
  documents?: readonly DocStatus[];
  /** Retry: the message becomes visible again after this many seconds. */
  retryInSeconds?: number;
  /** Why it was not deleted: an error message, never document text. */
  error?: string;
};

export type MessageOutcomeFields = {
  event: 'message';
  messageId: string;
  status: MessageStatus;
  source?: string;
  sources?: string[];
  ms: Partial<Record<StageName, number>>;
  totalMs: number;
  receiveCount?: number;
  docStatus?: DocStatus;
  docStatuses?: DocStatus[];
  retryInSeconds?: number;
  error?: string;
};

const MAX_ERROR_CHARS = 300;
const STAGE_ORDER: readonly StageName[] = ['receive', 'download', 'extract', 'index', 'delete'];

/** Milliseconds to one decimal: enough to tell a 0.3 ms delete from a 3 ms one, short in the line. */
function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export function messageOutcomeFields(o: MessageOutcome): MessageOutcomeFields {
  const ms: Partial<Record<StageName, number>> = {};
  for (const stage of STAGE_ORDER) {
    const v = o.stageMs[stage];
    if (v !== undefined && Number.isFinite(v)) ms[stage] = roundMs(v);
  }
  const out: MessageOutcomeFields = { event: 'message', messageId: o.messageId, status: o.status, ms, totalMs: roundMs(o.totalMs) };
  // One source is the common case: keep it a plain string so log queries can match it directly.
  if (o.sources.length > 0) out.source = o.sources[0];
  if (o.sources.length > 1) out.sources = [...o.sources];
  if (o.receiveCount !== undefined) out.receiveCount = o.receiveCount;
  if (o.documents?.length === 1) out.docStatus = o.documents[0];
  else if (o.documents && o.documents.length > 1) out.docStatuses = [...o.documents];
  if (o.retryInSeconds !== undefined) out.retryInSeconds = o.retryInSeconds;
  if (o.error) out.error = o.error.length > MAX_ERROR_CHARS ? `${o.error.slice(0, MAX_ERROR_CHARS)}…` : o.error;
  return out;
}

/** Deleted messages are routine (info); anything given back to the queue deserves a look (warn). */
export function outcomeLevel(status: MessageStatus): 'info' | 'warn' {
  return status === 'deleted' ? 'info' : 'warn';
}
