// The intake circuit breaker. While a dependency (the index, or the blob store) keeps failing, taking
// more messages only burns their receive counts and, after maxReceiveCount, fills the DLQ with good
// messages. So:
//   - the index and download stages report each dependency call: success() or failure(); `threshold`
//     failures in a row (retryable or auth errors), or one auth refusal (401/403: retrying the same
//     request cannot help), OPEN the breaker: one log line, a metric, and the receive pollers wait;
//   - a task that failed because of a dependency that is failing (or suspect: its last call failed) is
//     offered to hold(): up to `holdMax` tasks are kept, their messages still leased (the source's
//     heartbeat keeps them invisible, so no receive is burnt); the rest are released as before. While
//     only suspect, a task is retried in place at most twice (a lone bad object must not loop);
//   - while open, a cheap probe (the index's write check, a HEAD on the last object) runs with a
//     growing interval, never a real message; when it answers the breaker CLOSES (one log line, the
//     metric), the held tasks go back into the pipeline and the pollers resume.
// The breaker decides nothing else: which errors count is the stages' call, how a task is retried is
// the pipeline's (the `resume` callback).
import type { WorkerError } from '../errors.ts';
import type { Logger } from '../telemetry/log.ts';

export type Dependency = 'index' | 'blobs';

export type IntakeBreakerOptions = {
  /** Consecutive failures of one dependency that open the breaker. */
  threshold: number;
  /** First probe interval, ms; doubles after each failed probe up to probeMaxMs. */
  probeMs: number;
  probeMaxMs: number;
  /** Most tasks held at once. */
  holdMax: number;
  logger: Logger;
  /** Called on every state change (for the metric). */
  onChange?: (dependency: Dependency, open: boolean) => void;
  now?: () => number;
};

type Probe = () => Promise<unknown>;

type OpenState = { dependency: Dependency; since: number; reason: string; probe: Probe; probes: number };

/** Retries in place while merely suspect: a task that keeps failing alone (one forbidden object)
 * must go back to the queue's backoff and, in the end, its DLQ, not loop in the worker. */
const MAX_SUSPECT_HOLDS = 2;

export class IntakeBreaker<T extends object> {
  readonly #o: IntakeBreakerOptions;
  readonly #now: () => number;
  readonly #streak = new Map<Dependency, number>();
  readonly #lastProbe = new Map<Dependency, Probe>();
  #open: OpenState | undefined;
  #held: T[] = [];
  readonly #suspectHolds = new WeakMap<T, number>();
  #waiters: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Where held tasks go when the breaker closes (set by the pipeline). */
  resume: (items: T[]) => void = () => {};

  constructor(o: IntakeBreakerOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  get isOpen(): boolean {
    return this.#open !== undefined;
  }

  get heldCount(): number {
    return this.#held.length;
  }

  /** Is intake paused because of this dependency? Its stage then holds work instead of calling it. */
  blocks(dependency: Dependency): boolean {
    return this.#open?.dependency === dependency;
  }

  /** A call to `dependency` succeeded: its failure streak ends (and an open breaker for it closes). */
  success(dependency: Dependency): void {
    this.#streak.set(dependency, 0);
    if (this.#open?.dependency === dependency) {
      this.#close(this.#open);
      return;
    }
    // Tasks held while it was merely suspect can go again at once.
    if (!this.#open && this.#held.length > 0 && !this.#suspect()) this.#release();
  }

  /** A call to `dependency` failed with a retryable or auth error; `probe` is a cheap request to it. */
  failure(dependency: Dependency, error: WorkerError, probe: Probe): void {
    const streak = (this.#streak.get(dependency) ?? 0) + 1;
    this.#streak.set(dependency, streak);
    this.#lastProbe.set(dependency, probe);
    if (this.#open || this.#stopped) return;
    if (streak >= this.#o.threshold || error.code === 'AUTH') this.#trip(dependency, error, probe, streak);
  }

  /**
   * Offers a task that failed because of a dependency. Held (returns true) while the breaker is open
   * or a dependency is suspect, up to holdMax; otherwise the caller settles it as usual.
   */
  hold(item: T): boolean {
    if (this.#stopped || !(this.#open || this.#suspect())) return false;
    if (this.#held.length >= this.#o.holdMax) return false;
    if (!this.#open) {
      const n = this.#suspectHolds.get(item) ?? 0;
      if (n >= MAX_SUSPECT_HOLDS) return false;
      this.#suspectHolds.set(item, n + 1);
    }
    this.#held.push(item);
    return true;
  }

  /** Resolves when intake may go on (at once when closed), or when `signal` aborts. */
  whenClosed(signal?: AbortSignal): Promise<void> {
    if (!this.#open || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.#waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** For /readyz. */
  readiness(): { open: boolean; reason?: string } {
    const o = this.#open;
    if (!o) return { open: false };
    const seconds = Math.round((this.#now() - o.since) / 1000);
    return { open: true, reason: `intake paused: ${o.dependency === 'index' ? 'the index' : 'the blob store'} is failing (${o.reason}) for ${seconds} s; ${this.#held.length} tasks held, probing` };
  }

  /** Stops probing and hands back every held task (shutdown: the caller releases them). */
  stop(): T[] {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#waiters.splice(0)) w();
    return this.#held.splice(0);
  }

  #suspect(): boolean {
    for (const n of this.#streak.values()) if (n > 0) return true;
    return false;
  }

  #trip(dependency: Dependency, error: WorkerError, probe: Probe, streak: number): void {
    this.#open = { dependency, since: this.#now(), reason: error.message, probe, probes: 0 };
    this.#o.logger.warn(
      { dependency, failures: streak, err: error.message, code: error.code, held: this.#held.length, probeInMs: this.#o.probeMs },
      'intake breaker open: stopped receiving; holding failed work and probing the dependency',
    );
    this.#o.onChange?.(dependency, true);
    this.#schedule(this.#o.probeMs);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#probe(ms), ms);
    this.#timer.unref();
  }

  async #probe(interval: number): Promise<void> {
    const o = this.#open;
    if (!o || this.#stopped) return;
    o.probes++;
    try {
      // The latest probe for the dependency: e.g. the last object the blob store failed on.
      await (this.#lastProbe.get(o.dependency) ?? o.probe)();
    } catch (err) {
      o.reason = err instanceof Error ? err.message : String(err);
      this.#o.logger.debug({ dependency: o.dependency, probes: o.probes, err: o.reason }, 'intake breaker probe failed');
      this.#schedule(Math.min(this.#o.probeMaxMs, interval * 2));
      return;
    }
    this.#close(o);
  }

  #close(o: OpenState): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#open = undefined;
    this.#streak.set(o.dependency, 0);
    this.#o.logger.info(
      { dependency: o.dependency, pausedSeconds: Math.round((this.#now() - o.since) / 1000), probes: o.probes, held: this.#held.length },
      'intake breaker closed: the dependency answers again; resuming',
    );
    this.#o.onChange?.(o.dependency, false);
    this.#release();
    for (const w of this.#waiters.splice(0)) w();
  }

  #release(): void {
    const items = this.#held.splice(0);
    if (items.length > 0) this.resume(items);
  }
}
