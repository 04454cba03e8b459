// Groups a channel's items into batches closed by count, bytes or time: the first item opens a batch,
// which is sent when full or when maxWaitMs has passed since it opened.
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
