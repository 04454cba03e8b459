// Delete: acks settled messages in batches (SQS allows 10), flushed by count or a short timer, a few
// batches at once. Entries that fail are retried a few times with backoff; a message whose delete still fails reappears after its visibility
// timeout and is processed again (indexing is idempotent).
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs } from '../flow/backoff.ts';
import { writeBatches } from '../flow/batch.ts';
import type { Channel } from '../flow/channel.ts';
import type { Lease } from '../types.ts';
import { type StageContext, seconds } from './context.ts';

export async function runDelete(ctx: StageContext, input: Channel<Lease>): Promise<void> {
  const o = ctx.opts;
  await writeBatches(input, { maxCount: o.deleteBatchSize, maxWaitMs: o.deleteFlushMs, concurrency: o.deleteConcurrency }, (batch) => deleteBatch(ctx, batch));
}

async function deleteBatch(ctx: StageContext, batch: Lease[]): Promise<void> {
  const t0 = process.hrtime.bigint();
  let pending = batch;
  for (let attempt = 0; pending.length > 0 && attempt <= ctx.opts.deleteRetries; attempt++) {
    if (attempt > 0) await sleep(backoffMs(attempt, { baseMs: ctx.opts.deleteRetryBaseMs, maxMs: Infinity }));
    try {
      const { failed } = await ctx.source.ack(pending);
      ctx.telemetry.messagesDeleted(pending.length - failed.length);
      if (failed.length) ctx.telemetry.deleteFailed(failed.length);
      pending = failed;
    } catch (err) {
      ctx.telemetry.deleteFailed(pending.length);
      ctx.logger.warn({ err, count: pending.length }, 'delete batch failed');
    }
  }
  const per = seconds(t0) / batch.length;
  for (let i = 0; i < batch.length - pending.length; i++) ctx.telemetry.stageItem('delete', 'ok', per);
  for (const lease of pending) {
    ctx.telemetry.stageItem('delete', 'failed', per);
    ctx.logger.warn({ messageId: lease.id }, 'delete failed after retries; the message will be processed again');
    await ctx.source.release(lease, 0).catch(() => {});
  }
}
