// Waits for an extractor to be warm (every pool thread has loaded its OCR engine). A pool whose
// warm-up failed (PoolExtractor.ready rejects) fails at once with its error instead of timing out.
import type { Extractor } from '../../src/types.ts';

export async function waitWarm(extractor: Extractor, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  const ready = (extractor as { ready?: Promise<void> }).ready;
  let failed: unknown;
  ready?.catch((err: unknown) => {
    failed = err ?? new Error('pool warm-up failed');
  });
  while (!extractor.stats().warm) {
    if (failed) throw new Error(`extract pool warm-up failed: ${failed instanceof Error ? failed.message : String(failed)}`);
    if (performance.now() - t0 > timeoutMs) throw new Error(`extract pool not warm after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - t0;
}
