// The one rule for an OCR child that is waited on (a one-shot run in spawner.ts, a request to a
// long-lived session in process-session.ts): past its deadline, or when its caller gives up, it is
// killed with SIGKILL (nothing of its work is wanted any more, and the child cannot put it off), and
// once it has answered nothing of the watch is left behind (a timer would keep the process alive, a
// listener would pile up on a long-lived signal).
import type { ChildProcess } from 'node:child_process';

export type DeadlineWatch = {
  /** True once the deadline (not an abort) killed the child: the caller reports a timeout. */
  readonly timedOut: boolean;
  /** Stops watching: clears the timer and the abort listener. Call it on every way out; idempotent. */
  dispose(): void;
};

/** Kills `child` with SIGKILL after `ms`, or when `signal` aborts (at once if it already has). */
export function killOnDeadline(child: ChildProcess, ms: number, signal?: AbortSignal): DeadlineWatch {
  let timedOut = false;
  const kill = () => child.kill('SIGKILL');
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, ms);
  if (signal?.aborted) kill();
  else signal?.addEventListener('abort', kill, { once: true });
  return {
    get timedOut() {
      return timedOut;
    },
    dispose() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', kill);
    },
  };
}
