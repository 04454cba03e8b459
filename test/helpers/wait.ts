// Waiting for a condition in tests that drive real queues: poll until true or fail with what was awaited.
import type { SqsS3Fixture } from './fauxqs.ts';

export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000, everyMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
}

/** Nothing visible, in flight or delayed on the fixture's main queue. */
export async function queueEmpty(fx: SqsS3Fixture): Promise<boolean> {
  const c = await fx.queueCounts();
  return c.visible === 0 && c.inFlight === 0 && c.delayed === 0;
}
