// The one backoff: a delay that doubles from a base with each attempt, capped, with optional jitter
// (a random share of the delay) so that failures which arrived together do not come back together.
export type BackoffOptions = {
  baseMs: number;
  maxMs: number;
  /** Share of the delay that is random, 0..1: the wait is in [delay·(1-jitter), delay]. */
  jitter?: number;
};

/** Milliseconds to wait before retry number `attempt` (0 = the first retry waits baseMs). */
export function backoffMs(attempt: number, o: BackoffOptions): number {
  const delay = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  const jitter = o.jitter ?? 0;
  return delay * (1 - jitter) + Math.random() * delay * jitter;
}
