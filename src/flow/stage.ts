// A stage reads one channel with a given concurrency. It returns when its input is closed and drained
// and every worker has finished; the caller then closes the next channel.
import type { Channel } from './channel.ts';

export async function runStage<T>(
  input: Channel<T>,
  concurrency: number,
  handle: (item: T) => Promise<void>,
  onError: (item: T, err: unknown) => Promise<void> | void,
): Promise<void> {
  const workers: Promise<void>[] = [];
  for (let i = 0; i < concurrency; i++) {
    workers.push(
      (async () => {
        for await (const item of input) {
          try {
            await handle(item);
          } catch (err) {
            await Promise.resolve(onError(item, err)).catch(() => {});
          }
        }
      })(),
    );
  }
  await Promise.all(workers);
}

/** A counting semaphore over bytes: several small items or one large one, never more than the budget
 * (an item larger than the whole budget runs alone). */
export class ByteBudget {
  readonly capacity: number;
  #used = 0;
  #waiters: Array<() => void> = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get used(): number {
    return this.#used;
  }

  async acquire(bytes: number): Promise<number> {
    const want = Math.max(0, bytes);
    while (this.#used > 0 && this.#used + want > this.capacity) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    this.#used += want;
    return want;
  }

  /** Corrects a reservation to the real size once it is known, without waiting. */
  resize(reserved: number, actual: number): number {
    this.#used = Math.max(0, this.#used + actual - reserved);
    if (actual < reserved) for (const w of this.#waiters.splice(0)) w();
    return actual;
  }

  release(bytes: number): void {
    if (bytes <= 0) return;
    this.#used = Math.max(0, this.#used - bytes);
    for (const w of this.#waiters.splice(0)) w();
  }
}
