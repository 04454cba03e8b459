// Index: batches upserts and removes by count, bytes and time, writes each batch, and finishes every
// task with its own outcome (the index reports one result per op). A document the index refuses is
// stored by name with status failed; a message ends with nothing written only by going back to the queue.
import { writeBatches } from '../flow/batch.ts';
import type { Channel } from '../flow/channel.ts';
import { RetryableError, errorMessage } from '../errors.ts';
import type { IntakeBreaker } from '../flow/intake-breaker.ts';
import type { IndexItemResult } from '../types.ts';
import type { Task } from '../flow/work.ts';
import { type StageContext, seconds } from './context.ts';
import { failedDocument } from './document.ts';

function opBytes(task: Task): number {
  const op = task.op!;
  return op.kind === 'upsert' ? op.doc.text.length * 2 + 512 : 128;
}

export async function runIndex(ctx: StageContext, input: Channel<Task>): Promise<void> {
  const o = ctx.opts;
  const batching = { maxCount: o.indexBatchSize, maxBytes: o.indexBatchBytes, maxWaitMs: o.indexFlushMs, sizeOf: opBytes, concurrency: o.indexConcurrency };
  await writeBatches(input, batching, (batch) => writeBatch(ctx, batch));
}

async function writeBatch(ctx: StageContext, batch: Task[]): Promise<void> {
  const t0 = process.hrtime.bigint();
  const breaker = ctx.breaker;
  let results: IndexItemResult[];
  if (breaker?.blocks('index')) {
    // Intake is paused for the index: hold the batch instead of sending it (the breaker probes).
    const e = new RetryableError(`index write not attempted: ${breaker.readiness().reason ?? 'intake paused'}`);
    results = batch.map(() => ({ ok: false, error: e }));
  } else {
    results = await write(ctx, batch);
    if (breaker) reportToBreaker(ctx, breaker, results);
  }
  await removeThumbnails(ctx, batch, results);
  const per = seconds(t0) / batch.length;
  const refused: Task[] = [];
  for (let i = 0; i < batch.length; i++) {
    const task = batch[i]!;
    const r = results[i] ?? { ok: false as const, error: new RetryableError('index returned no result for this op') };
    task.msg.ms.index += per * 1000;
    if (r.ok) {
      ctx.telemetry.stageItem('index', r.stale ? 'skipped' : 'ok', per);
      if (task.doc && !r.stale) ctx.telemetry.documentStatus(task.doc.status);
      await ctx.settle.finish(task, r.stale ? 'skipped' : 'ok');
      continue;
    }
    if (r.error.retryable && breaker?.hold(task)) {
      ctx.telemetry.stageItem('index', 'retry', per);
      continue;
    }
    ctx.telemetry.stageItem('index', r.error.retryable ? 'retry' : 'failed', per);
    ctx.logger.warn({ messageId: task.msg.lease.id, id: task.id, err: r.error }, 'index write failed');
    if (!r.error.retryable && task.op?.kind === 'upsert' && task.doc && !task.refusedOnce) {
      // The index refuses this document (a mapping conflict, a field it cannot parse): store it by
      // name with status failed and the reason, so it can be found and the refusal is visible.
      task.refusedOnce = true;
      task.doc = failedDocument(task.doc, r.error.message);
      task.op = { kind: 'upsert', doc: task.doc };
      refused.push(task);
    } else {
      await ctx.settle.finish(task, 'failed', r.error);
    }
  }
  if (refused.length) await writeRefused(ctx, refused);
}

/** A removed document's thumbnail goes with it (before the message is deleted, so a crash retries it). */
async function removeThumbnails(ctx: StageContext, batch: Task[], results: IndexItemResult[]): Promise<void> {
  if (!ctx.thumbnails) return;
  const ids = batch.flatMap((t, i) => (t.op?.kind === 'remove' && results[i]?.ok && !results[i].stale ? [t.op.id] : []));
  if (ids.length === 0) return;
  // Best effort: the document is gone either way; a thumbnail left behind is logged, not retried forever.
  await ctx.thumbnails.remove(ids).catch((err: unknown) => ctx.logger.warn({ ids: ids.length, err }, 'thumbnails of removed documents not deleted'));
}

/** The metadata-only documents of refused ones. Refused again, the message is kept for the DLQ. */
async function writeRefused(ctx: StageContext, tasks: Task[]): Promise<void> {
  const results = await write(ctx, tasks);
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i]!;
    const r = results[i] ?? { ok: false as const, error: new RetryableError('index returned no result for this op') };
    if (r.ok) {
      if (!r.stale) ctx.telemetry.documentStatus('failed');
      await ctx.settle.finish(task, r.stale ? 'skipped' : 'ok');
    } else {
      ctx.logger.warn({ messageId: task.msg.lease.id, id: task.id, err: r.error }, 'index refused even the metadata-only document; the message is kept for redrive');
      await ctx.settle.finish(task, 'failed', new RetryableError(`index refused the document and its metadata: ${r.error.message}`, { cause: r.error }));
    }
  }
}

/** One write; a throw means nothing could be tried, which a retry may fix. */
async function write(ctx: StageContext, batch: Task[]): Promise<IndexItemResult[]> {
  try {
    return await ctx.index.write(batch.map((t) => t.op!));
  } catch (err) {
    const e = new RetryableError(`index write: ${errorMessage(err)}`, { cause: err });
    return batch.map(() => ({ ok: false, error: e }));
  }
}

/** One write is one call to the index: it failed when nothing in it succeeded and something was retryable. */
function reportToBreaker(ctx: StageContext, breaker: IntakeBreaker<Task>, results: IndexItemResult[]): void {
  if (results.some((r) => r.ok)) return breaker.success('index');
  const failure = results.find((r) => !r.ok && r.error.retryable);
  if (failure && !failure.ok) breaker.failure('index', failure.error, () => ctx.index.checkWritable?.() ?? ctx.index.init());
}
