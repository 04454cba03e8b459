// A rate limit for loops that send or start work: pace(n) waits until n more items keep the average
// since the first call at or under maxPerSecond. Infinity: never waits.
import { setTimeout as sleep } from 'node:timers/promises';

export function createPacer(maxPerSecond: number): (n?: number) => Promise<void> {
  let started = 0;
  let count = 0;
  return async (n = 1) => {
    if (!Number.isFinite(maxPerSecond)) return;
    if (!started) started = performance.now();
    count += n;
    const wait = started + (count / maxPerSecond) * 1000 - performance.now() - 1000 / maxPerSecond;
    if (wait > 0) await sleep(wait);
  };
}
