// A pool entry point for tests: the real extract worker, except that a file named hang-* spins the
// thread forever (a hung page) and oom-* allocates until the thread's heap limit kills it (the way a
// runaway parser or a WASM allocation dies). Used by test/hostile-input.test.ts through PoolOptions.workerFile.
import real from '../../src/workers/extract-worker.ts';
import type { ExtractRequest, ExtractResult } from '../../src/types.ts';

export { warmUp } from '../../src/workers/extract-worker.ts';

export default async function extract(req: ExtractRequest): Promise<ExtractResult> {
  if (req.name.startsWith('hang-')) {
    for (;;) {
      // A synchronous loop: nothing inside the thread can stop it; only terminating the thread can.
    }
  }
  if (req.name.startsWith('oom-')) {
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array(1_000_000).fill(hoard.length));
  }
  return real(req);
}
