// In-memory stand-ins for pipeline tests that are about the stages, not the outside world.
import { readFile } from 'node:fs/promises';
import type { AckResult, Delivery, Extractor, ExtractRequest, ExtractResult, JobSource, Lease } from '../../src/types.ts';

/** Reads files as UTF-8 text; can be slowed down or made to throw for chosen names. */
export class TextExtractor implements Extractor {
  delayMs = 0;
  /** Return a thumbnail when one is asked for. */
  thumbnails = false;
  failNames = new Set<string>();
  calls = 0;
  active = 0;
  maxActive = 0;
  async extract(req: ExtractRequest): Promise<ExtractResult> {
    this.calls++;
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      if (this.failNames.has(req.name)) throw new Error(`pool crashed on ${req.name}`);
      const text = await readFile(req.path, 'utf8');
      // A stand-in thumbnail: the text's bytes, so a test can tell whose thumbnail it is.
      const thumbnail = this.thumbnails && req.wantThumbnail ? { thumbnail: new TextEncoder().encode(text) } : {};
      return { contentType: 'text/plain', text, truncated: false, pages: 1, ocrPages: 0, status: 'ok', ...thumbnail };
    } finally {
      this.active--;
    }
  }
  stats() {
    return { threads: 1, queueSize: 0, utilization: 0, completed: this.calls, warm: true };
  }
  async close() {}
}

/** A finite queue of deliveries that records how each lease ended. */
export class MemorySource implements JobSource {
  readonly kind = 'memory';
  #queue: Delivery[];
  acked: Lease[] = [];
  released: Array<{ lease: Lease; delaySeconds: number }> = [];
  held = new Set<string>();
  maxHeld = 0;
  received = 0;
  constructor(deliveries: Delivery[]) {
    this.#queue = [...deliveries];
  }
  exhausted(): boolean {
    return this.#queue.length === 0;
  }
  async receive(max: number): Promise<Delivery[]> {
    await new Promise((r) => setImmediate(r));
    const out = this.#queue.splice(0, max);
    for (const d of out) this.held.add(d.lease.id);
    this.received += out.length;
    this.maxHeld = Math.max(this.maxHeld, this.held.size);
    return out;
  }
  async ack(leases: Lease[]): Promise<AckResult> {
    for (const l of leases) {
      if (!this.held.delete(l.id)) throw new Error(`lease ${l.id} ended twice`);
      this.acked.push(l);
    }
    return { failed: [] };
  }
  async release(lease: Lease, delaySeconds: number): Promise<void> {
    if (!this.held.delete(lease.id)) throw new Error(`lease ${lease.id} ended twice`);
    this.released.push({ lease, delaySeconds });
  }
  inFlight() {
    return { count: this.held.size, oldestAgeSeconds: 0 };
  }
  async close() {}
}
