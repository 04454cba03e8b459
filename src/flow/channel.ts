// src/flow/: the pipeline's machinery — this bounded channel between stages, the stage runner and byte
// budget (stage.ts), batching (batch.ts), the units of work (work.ts), settle (settle.ts), backoff.ts.
//
// A bounded async queue that joins two stages. Back-pressure is nothing more than `await push(item)`:
// the producer waits while the channel is full. Closing lets consumers drain what is left, then end.

export class ChannelClosedError extends Error {
  constructor(name: string) {
    super(`channel ${name} is closed`);
    this.name = 'ChannelClosedError';
  }
}

export class Channel<T> implements AsyncIterable<T> {
  readonly name: string;
  readonly capacity: number;
  #items: T[] = [];
  #head = 0;
  #closed = false;
  #pushWaiters: Array<() => void> = [];
  #pullWaiters: Array<(r: IteratorResult<T>) => void> = [];

  constructor(name: string, capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`channel ${name}: capacity must be >= 1, got ${capacity}`);
    this.name = name;
    this.capacity = capacity;
  }

  get depth(): number {
    return this.#items.length - this.#head;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Waits for space, then enqueues. Rejects with ChannelClosedError if the channel is closed. */
  async push(item: T): Promise<void> {
    while (!this.#closed && this.depth >= this.capacity && this.#pullWaiters.length === 0) {
      await new Promise<void>((resolve) => this.#pushWaiters.push(resolve));
    }
    if (this.#closed) throw new ChannelClosedError(this.name);
    const waiter = this.#pullWaiters.shift();
    if (waiter) waiter({ value: item, done: false });
    else this.#items.push(item);
  }

  /** Resolves once there is room for one more item (or the channel is closed): lets a producer wait before taking on work. */
  async waitForSpace(): Promise<void> {
    while (!this.#closed && this.depth >= this.capacity) {
      await new Promise<void>((resolve) => this.#pushWaiters.push(resolve));
    }
  }

  /** Resolves with the next item, or done once the channel is closed and empty. */
  pull(): Promise<IteratorResult<T>> {
    if (this.depth > 0) {
      const value = this.#items[this.#head] as T;
      this.#items[this.#head] = undefined as T;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      // Wake every waiting producer: each re-checks for space (some only wait for space, never push).
      if (this.#pushWaiters.length) for (const w of this.#pushWaiters.splice(0)) w();
      return Promise.resolve({ value, done: false });
    }
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#pullWaiters.push(resolve));
  }

  /** Takes every item waiting now, without waiting (used at shutdown to release what was never started). */
  drainNow(): T[] {
    const out = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    for (const w of this.#pushWaiters.splice(0)) w();
    return out;
  }

  /** No more pushes; consumers finish what is queued, then see done. Waiting producers are woken and rejected. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#pushWaiters.splice(0)) w();
    if (this.depth === 0) for (const w of this.#pullWaiters.splice(0)) w({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.pull() };
  }
}
