// A pool entry point for the memory governor's tests: the real extract worker, except that a file
// named hoard-* takes memory outside the V8 heap (array buffers, like decoded images) 8 MB at a time
// until its thread is ended: hoard-always-* in every mode, hoard-once-* only outside lean mode (the
// lean retry then reads the file for real). A file named slow-* takes 300 ms, and its text is when it
// started and ended (ms since the epoch): when the pool let it start.
import { setTimeout as sleep } from 'node:timers/promises';
import real from '../../src/workers/extract-worker.ts';
import { LEAN } from '../../src/pool/extract-pool.ts';
import type { ExtractRequest, ExtractResult } from '../../src/types.ts';

export { warmUp } from '../../src/workers/extract-worker.ts';

const STEP = 8 * 1024 * 1024;

export default async function extract(req: ExtractRequest): Promise<ExtractResult> {
  const lean = req.limits.maxPixels <= LEAN.maxPixels;
  if (req.name.startsWith('hoard-always-') || (req.name.startsWith('hoard-once-') && !lean)) {
    req.started?.postMessage({ threadId: (await import('node:worker_threads')).threadId });
    const hoard: Uint8Array[] = [];
    for (let i = 0; i < 400; i++) {
      hoard.push(new Uint8Array(STEP).fill(1));
      await sleep(25);
    }
    return { contentType: 'application/pdf', text: `hoarded ${hoard.length}`, truncated: false, pages: 1, ocrPages: 0, status: 'ok' };
  }
  if (req.name.startsWith('slow-')) {
    const startedAt = Date.now();
    await sleep(300);
    const r = await real(req);
    return { ...r, text: `${startedAt} ${Date.now()}` };
  }
  return real(req);
}
