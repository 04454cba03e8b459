// A pool worker for tests: the real extract, except for files whose name asks it to misbehave.
//   hang-*  spins forever (only terminating the thread stops it)
//   exit-*  ends its thread with process.exit
//   oom-*   grows its JS heap until the thread's resource limit kills it
import type { ExtractRequest, ExtractResult } from '../../src/types.ts';
import extract, { warmUp } from '../../src/workers/extract-worker.ts';

export { warmUp };

export default async function misbehave(req: ExtractRequest): Promise<ExtractResult> {
  if (req.name.startsWith('hang-')) for (;;);
  if (req.name.startsWith('exit-')) process.exit(3);
  if (req.name.startsWith('oom-')) {
    const hog: number[][] = [];
    for (;;) hog.push(new Array(1_000_000).fill(1.5));
  }
  return extract(req);
}
