// Receive: long-polls the source with several pollers and turns each delivery into tasks. A poller waits
// for room in the download queue before it polls again, so a busy pipeline stops taking messages.
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs } from '../flow/backoff.ts';
import { ChannelClosedError, type Channel } from '../flow/channel.ts';
import { documentId, sourceOf } from '../ids.ts';
import { newMessageState, type Task } from '../flow/work.ts';
import { type StageContext, seconds } from './context.ts';

export async function runReceive(ctx: StageContext, out: Channel<Task>, signal: AbortSignal): Promise<void> {
  const pollers = Array.from({ length: ctx.opts.pollers }, () => poll(ctx, out, signal));
  await Promise.all(pollers);
}

async function poll(ctx: StageContext, out: Channel<Task>, signal: AbortSignal): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    // Nothing is received while a dependency is down: messages keep their receive counts.
    await ctx.breaker?.whenClosed(signal);
    if (signal.aborted) return;
    await out.waitForSpace();
    if (signal.aborted || out.closed) return;
    if (ctx.source.exhausted?.()) return;
    const t0 = process.hrtime.bigint();
    let deliveries;
    try {
      deliveries = await ctx.source.receive(ctx.opts.receiveBatch, signal);
      failures = 0;
      ctx.health.receiveError = undefined;
    } catch (err) {
      if (signal.aborted) return;
      failures++;
      ctx.health.receiveError = String(err);
      const wait = backoffMs(failures, { baseMs: 250, maxMs: 20_000 });
      ctx.logger.warn({ err, retryInMs: wait }, 'receive failed');
      ctx.telemetry.stageItem('receive', 'retry', seconds(t0));
      // An abort ends the wait early; the loop then stops.
      await sleep(wait, undefined, { signal }).catch(() => {});
      continue;
    }
    if (deliveries.length === 0) {
      ctx.telemetry.emptyReceive();
      continue;
    }
    ctx.telemetry.messagesReceived(deliveries.length);
    const per = seconds(t0) / deliveries.length;
    for (const d of deliveries) {
      ctx.telemetry.stageItem('receive', d.malformed ? 'failed' : 'ok', per);
      const msg = newMessageState(d.lease, d.jobs?.length ?? 0);
      ctx.settle.track(msg);
      if (d.malformed) {
        await ctx.settle.malformed(msg, d.malformed);
        continue;
      }
      if (d.jobs.length === 0) {
        await ctx.settle.empty(msg);
        continue;
      }
      for (const spec of d.jobs) {
        msg.sources.push(sourceOf(spec.ref.bucket, spec.ref.key));
        const task: Task = { msg, spec, id: documentId(spec.ref.bucket, spec.ref.key), reservedBytes: 0 };
        try {
          await out.push(task);
        } catch (err) {
          if (!(err instanceof ChannelClosedError)) throw err;
          // Shutting down: the message stays open and is released at the deadline.
        }
      }
    }
  }
}
