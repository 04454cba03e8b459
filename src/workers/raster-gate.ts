// One big raster in flight across all pool threads: a decoded page bitmap (pdf.js image, canvas render,
// sharp decode) exists only between acquire() and release. Two threads decoding 300-dpi scans or a
// 100-megapixel photo at once was the RSS peak; recognition (the long part) still runs in parallel,
// because the holder releases as soon as its small OCR-ready image exists.
//
// The state is one Int32 in a SharedArrayBuffer (passed through piscina's workerData): 0 = free, else
// the threadId of the holder. A thread killed while holding it (deadline, out of memory) cannot
// release, so the pool frees the gate when piscina reports that thread destroyed.
import { threadId } from 'node:worker_threads';

/** A waiter re-checks this often (a notify wakes it sooner). */
const WAIT_SLICE_MS = 250;
/** Past this, a waiter goes ahead without the gate rather than stall behind a stuck holder. */
const MAX_WAIT_MS = 60_000;

export type Release = () => void;

export class RasterGate {
  readonly #slot: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    if (buffer.byteLength < 4) throw new RangeError(`raster gate needs a SharedArrayBuffer of 4 bytes or more, got ${buffer.byteLength}`);
    this.#slot = new Int32Array(buffer, 0, 1);
  }

  static buffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(4);
  }

  /** Waits until no other thread holds a big raster (at most maxWaitMs), then holds the gate. */
  async acquire(maxWaitMs = MAX_WAIT_MS): Promise<Release> {
    // The main thread is threadId 0, which means "free": it takes the gate as -1.
    const me = threadId || -1;
    const giveUpAt = Date.now() + Math.max(0, maxWaitMs);
    for (;;) {
      const holder = Atomics.compareExchange(this.#slot, 0, 0, me);
      if (holder === 0) return once(() => this.#release(me));
      // Only reachable if this thread lost track of a release: it is the holder, go ahead.
      if (holder === me) return once(() => this.#release(me));
      const left = giveUpAt - Date.now();
      if (left <= 0) return () => {};
      const waited = Atomics.waitAsync(this.#slot, 0, holder, Math.min(WAIT_SLICE_MS, left));
      if (waited.async) await waited.value;
    }
  }

  /** Who holds the gate: 0 when free. */
  get holder(): number {
    return Atomics.load(this.#slot, 0);
  }

  /** Frees the gate if the given (dead) thread holds it. */
  freeIfHeldBy(deadThreadId: number): boolean {
    if (Atomics.compareExchange(this.#slot, 0, deadThreadId, 0) !== deadThreadId) return false;
    Atomics.notify(this.#slot, 0);
    return true;
  }

  #release(me: number): void {
    if (Atomics.compareExchange(this.#slot, 0, me, 0) === me) Atomics.notify(this.#slot, 0);
  }
}

function once(fn: () => void): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

/** Outside a pool (tests, the CLI running extract in-process) there is nothing to share the gate with. */
export const openGate = { acquire: async (): Promise<Release> => () => {} };

export type Gate = Pick<RasterGate, 'acquire'>;
