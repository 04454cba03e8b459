// SIGTERM/SIGINT from the first moment of start-up. ECS (and a test) may stop a task while it is still
// loading modules or warming its pool: without a handler Node dies by the signal, leaving its temp dir.
// Installed before anything heavy is loaded, this records the signal; the command checks `requested`
// between its start-up steps and drains from whatever state it reached. A second signal exits at once.

export type ShutdownSignal = 'SIGTERM' | 'SIGINT';

const EARLY = Symbol.for('filesearch-worker.early-signals');

export class ShutdownSignals {
  /** The first signal received, if any. */
  requested: ShutdownSignal | undefined;
  readonly #waiters: Array<(s: ShutdownSignal) => void> = [];
  #onSecond: ((s: ShutdownSignal) => void) | undefined;
  readonly #handler = (s: ShutdownSignal) => {
    if (this.requested) {
      if (this.#onSecond) this.#onSecond(s);
      else process.exit(130);
      return;
    }
    this.requested = s;
    for (const w of this.#waiters.splice(0)) w(s);
  };

  constructor() {
    process.on('SIGTERM', this.#handler);
    process.on('SIGINT', this.#handler);
    // bin/filesearch-worker.js listens before any TypeScript loads; take over what it heard.
    const early = (globalThis as Record<symbol, { signal?: ShutdownSignal; dispose(): void } | undefined>)[EARLY];
    if (early) {
      early.dispose();
      if (early.signal) this.#handler(early.signal);
    }
  }

  /** Resolves with the first signal (at once if it already came). */
  wait(): Promise<ShutdownSignal> {
    if (this.requested) return Promise.resolve(this.requested);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** What a second signal does (default: exit 130 at once). */
  onSecond(fn: (s: ShutdownSignal) => void): void {
    this.#onSecond = fn;
  }

  dispose(): void {
    process.off('SIGTERM', this.#handler);
    process.off('SIGINT', this.#handler);
  }
}
