// Orientation detection alone: what one OSD call costs per page on each engine (one thread), and on
// how many corpus pages readPage needs it (the first read came back below its confidence bar).
import { prepareForOcr } from '../../src/workers/ocr/prepare.ts';
import { createOcrEngine } from '../../src/workers/ocr/choice.ts';
import type { OcrEngineKind } from '../../src/workers/ocr/engine.ts';
import { downscale, needsOrientation, OSD_MAX_SIDE } from '../../src/workers/ocr/page.ts';
import { childMain } from './child.ts';

type Task = { files: string[]; native: boolean };
type Result = { native?: number; wasm?: number; pagesNeeding: number; pages: number };

async function probe(task: Task): Promise<Result> {
  const out: Result = { pagesNeeding: 0, pages: task.files.length };
  const kinds: OcrEngineKind[] = task.native ? ['native', 'wasm'] : ['wasm'];
  for (const kind of kinds) {
    const engine = createOcrEngine({ kind, model: 'fast', recycleAfterPages: 1000, maxHeapMb: 2000 });
    let seconds = 0;
    for (const file of task.files) {
      const img = await prepareForOcr({ kind: 'file', path: file }, 100_000_000);
      if (kind === kinds[0]) {
        const first = await engine.read(img, { langs: 'eng+jpn', timeoutMs: 120_000 });
        if (needsOrientation(first)) out.pagesNeeding++;
      }
      const small = await downscale(img, OSD_MAX_SIDE);
      const t0 = performance.now();
      await engine.orientation(small, 60_000);
      seconds += (performance.now() - t0) / 1000;
    }
    out[kind] = Math.round((seconds / task.files.length) * 100) / 100;
    await engine.close();
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) childMain(probe);
