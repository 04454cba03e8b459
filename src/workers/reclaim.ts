// Dead decoded pixels go back to the system when a raster step ends, not whenever V8 next collects.
// A page's decoded images, its render read back and a PDF's file bytes are ArrayBuffers: freed only
// by a full garbage collection of the thread's heap, which V8 runs late for memory it does not see
// grow its own heap. Measured (images.pdf, one page OCR'd): 109 MB of dead ArrayBuffers still held
// after the document, 183 MB at the peak while the page budget is 96 MB. A pool thread collects when
// its ArrayBuffers grew by RECLAIM_GROWTH_BYTES since the last collection (a big image is about to
// be decoded, a raster step ends), so a page's garbage does not sit under the next page or thread.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Growth of this thread's ArrayBuffers that is worth a full collection (~10-50 ms for a pool thread's heap). */
export const RECLAIM_GROWTH_BYTES = 32 * 1024 * 1024;

let collect: (() => void) | undefined;
/** ArrayBuffer bytes still alive after the last collection: growth is counted from here. */
let floor = 0;

/** A full collection of this thread's heap (V8's `gc`, exposed once for a new context only). */
function fullGc(): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}

/** Collects this thread's garbage if its ArrayBuffers grew by `growth` bytes since the last time; true if it did. */
export function reclaimGarbage(growth = RECLAIM_GROWTH_BYTES): boolean {
  const bytes = process.memoryUsage().arrayBuffers;
  // V8 collected on its own meanwhile: count from what it left.
  if (bytes < floor) floor = bytes;
  if (bytes - floor < growth) return false;
  fullGc();
  floor = process.memoryUsage().arrayBuffers;
  return true;
}
