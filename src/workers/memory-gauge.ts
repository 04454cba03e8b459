// How much memory a pool thread may still take, known before it allocates a big buffer. The memory
// governor (main thread) samples the process tree every MEMORY_SAMPLE_MS and acts on what it saw; a
// page's image decoded or canvas drawn between two samples took the process past its budget before
// the governor could act (a 12.7 MP JPEG: +100 MB in well under a second). So the governor publishes
// here, at each sample, the resident memory of the child processes (OCR) and the ceiling the process
// must stay under (its hard mark); a thread adds this process's RSS read at the moment it asks (fresh,
// all threads).
//
// The state is two Int32 (KiB) in a SharedArrayBuffer passed through piscina's workerData, like the
// raster gate: [ceiling, children]. Ceiling 0 = no governor: no limit.

const KiB = 1024;

export class MemoryGauge {
  readonly #slots: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    if (buffer.byteLength < 8) throw new RangeError(`memory gauge needs a SharedArrayBuffer of 8 bytes or more, got ${buffer.byteLength}`);
    this.#slots = new Int32Array(buffer, 0, 2);
  }

  static buffer(): SharedArrayBuffer {
    return new SharedArrayBuffer(8);
  }

  /** Main thread, at each sample: the ceiling the process tree must stay under and what its children hold. */
  publish(ceilingBytes: number, childrenBytes: number): void {
    Atomics.store(this.#slots, 0, toKiB(ceilingBytes));
    Atomics.store(this.#slots, 1, toKiB(childrenBytes));
  }

  /** Bytes the process tree may still grow by before the ceiling; Infinity when nobody publishes one. */
  headroomBytes(rssBytes = process.memoryUsage.rss()): number {
    const ceiling = Atomics.load(this.#slots, 0) * KiB;
    if (ceiling <= 0) return Infinity;
    return ceiling - rssBytes - Atomics.load(this.#slots, 1) * KiB;
  }
}

function toKiB(bytes: number): number {
  return Math.max(0, Math.min(2 ** 31 - 1, Math.round(bytes / KiB)));
}

/** This thread's gauge (set by the pool thread's entry); absent in tests and in-process use: no limit. */
let threadGauge: MemoryGauge | undefined;

export function useMemoryGauge(gauge: MemoryGauge | undefined): void {
  threadGauge = gauge;
}

/** Headroom of this thread's process under the governor's ceiling, bytes (Infinity without a governor). */
export function memoryHeadroom(): number {
  return threadGauge ? threadGauge.headroomBytes() : Infinity;
}
