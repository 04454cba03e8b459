// Index: batches upserts and removes by count, bytes and time, writes each batch, and finishes every
// task with its own outcome (the index reports one result per op).
import { writeBatches } from '../flow/batch.ts';
import type { Channel } from '../flow/channel.ts';
import { RetryableError, errorMessage } from '../errors.ts';
import type { IntakeBreaker } from '../flow/intake-breaker.ts';
import type { IndexItemResult } from '../types.ts';
import type { Task } from '../flow/work.ts';
import { type StageContext, seconds } from './context.ts';

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
    try {
      results = await ctx.index.write(batch.map((t) => t.op!));
    } catch (err) {
      const e = new RetryableError(`index write: ${errorMessage(err)}`, { cause: err });
      results = batch.map(() => ({ ok: false, error: e }));
    }
    if (breaker) reportToBreaker(ctx, breaker, results);
  }
  const per = seconds(t0) / batch.length;
  for (let i = 0; i < batch.length; i++) {
    const task = batch[i]!;
    const r = results[i] ?? { ok: false as const, error: new RetryableError('index returned no result for this op') };
    task.msg.ms.index += per * 1000;
    if (r.ok) {
      ctx.telemetry.stageItem('index', r.stale ? 'skipped' : 'ok', per);
      if (task.doc && !r.stale) ctx.telemetry.documentStatus(task.doc.status);
      await ctx.settle.finish(task, r.stale ? 'skipped' : 'ok');
    } else {
      if (r.error.retryable && breaker?.hold(task)) {
        ctx.telemetry.stageItem('index', 'retry', per);
        continue;
      }
      ctx.telemetry.stageItem('index', r.error.retryable ? 'retry' : 'failed', per);
      ctx.logger.warn({ messageId: task.msg.lease.id, id: task.id, error: r.error.message }, 'index write failed');
      await ctx.settle.finish(task, 'failed', r.error);
    }
  }
}

/** One write is one call to the index: it failed when nothing in it succeeded and something was retryable. */
function reportToBreaker(ctx: StageContext, breaker: IntakeBreaker<Task>, results: IndexItemResult[]): void {
  if (results.some((r) => r.ok)) return breaker.success('index');
  const failure = results.find((r) => !r.ok && r.error.retryable);
  if (failure && !failure.ok) breaker.failure('index', failure.error, () => ctx.index.checkWritable?.() ?? ctx.index.init());
}
