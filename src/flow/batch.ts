// Groups a channel's items into batches closed by count, bytes or time: the first item opens a batch,
// which is sent when full or when maxWaitMs has passed since it opened. writeBatches keeps a few
// batches in flight at once (p-queue's concurrency limit) and forms the next only when one has room.
import PQueue from 'p-queue';
import type { Channel } from './channel.ts';

export type BatchOptions<T> = { maxCount: number; maxBytes?: number; maxWaitMs: number; sizeOf?: (item: T) => number };

export async function* batches<T>(input: Channel<T>, opts: BatchOptions<T>): AsyncGenerator<T[]> {
  const sizeOf = opts.sizeOf ?? (() => 0);
  const maxBytes = opts.maxBytes ?? Infinity;
  // A pull that lost a race with the timer is kept for the next round, so no item is dropped.
  let pending: Promise<IteratorResult<T>> | undefined;
  for (;;) {
    const first = await (pending ?? input.pull());
    pending = undefined;
    if (first.done) return;
    const batch = [first.value];
    let bytes = sizeOf(first.value);
    const deadline = Date.now() + opts.maxWaitMs;
    let ended = false;
    while (batch.length < opts.maxCount && bytes < maxBytes) {
      if (input.depth > 0) {
        const r = await input.pull();
        if (r.done) { ended = true; break; }
        batch.push(r.value);
        bytes += sizeOf(r.value);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0 || input.closed) break;
      pending = input.pull();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(resolve, left, 'timeout'); });
      const r = await Promise.race([pending, timeout]);
      clearTimeout(timer);
      if (r === 'timeout') break;
      pending = undefined;
      if (r.done) { ended = true; break; }
      batch.push(r.value);
      bytes += sizeOf(r.value);
    }
    yield batch;
    if (ended) return;
  }
}

/**
 * Runs `write` on each batch, at most `concurrency` at once; the next batch is formed only once a write
 * has room, so a slow sink holds items in the channel (back-pressure), not here. The first write that
 * throws ends the loop with its error (the others finish).
 */
export async function writeBatches<T>(
  input: Channel<T>,
  opts: BatchOptions<T> & { concurrency: number },
  write: (batch: T[]) => Promise<void>,
): Promise<void> {
  const queue = new PQueue({ concurrency: opts.concurrency });
  let failure: { error: unknown } | undefined;
  for await (const batch of batches(input, opts)) {
    queue.add(() => write(batch)).catch((error: unknown) => (failure ??= { error }));
    await queue.onSizeLessThan(1);
    if (failure) throw failure.error;
  }
  await queue.onIdle();
  if (failure) throw failure.error;
}
