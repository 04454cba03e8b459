// A finite job source over a listing (backfill --direct): each object to (re)index is one lease with
// one upsert job, pulled from the listing only as the pipeline asks for more, so a bucket of millions
// is never held in memory. Nothing is redelivered: a lease released for a retry counts as not done.
import type { AckResult, Delivery, JobSource, Lease, ObjectRef } from '../types.ts';

export class ListingSource implements JobSource {
  readonly kind = 'listing';
  readonly #refs: AsyncIterator<ObjectRef>;
  readonly #held = new Map<string, Lease>();
  #exhausted = false;
  #next = 0;
  done = 0;
  notDone = 0;

  constructor(refs: AsyncIterable<ObjectRef>) {
    this.#refs = refs[Symbol.asyncIterator]();
  }

  exhausted(): boolean {
    return this.#exhausted;
  }

  async receive(max: number, signal: AbortSignal): Promise<Delivery[]> {
    const out: Delivery[] = [];
    while (out.length < max && !this.#exhausted && !signal.aborted) {
      const next = await this.#refs.next();
      if (next.done) {
        this.#exhausted = true;
        break;
      }
      const lease: Lease = { id: String(++this.#next), receiveCount: 1, receivedAt: Date.now() };
      this.#held.set(lease.id, lease);
      out.push({ lease, jobs: [{ ref: next.value, action: 'upsert' }] });
    }
    return out;
  }

  async ack(leases: Lease[]): Promise<AckResult> {
    for (const l of leases) if (this.#held.delete(l.id)) this.done++;
    return { failed: [] };
  }

  async release(lease: Lease): Promise<void> {
    if (this.#held.delete(lease.id)) this.notDone++;
  }

  inFlight(): { count: number; oldestAgeSeconds: number } {
    let oldest = Infinity;
    for (const l of this.#held.values()) oldest = Math.min(oldest, l.receivedAt);
    return { count: this.#held.size, oldestAgeSeconds: this.#held.size ? (Date.now() - oldest) / 1000 : 0 };
  }

  async close(): Promise<void> {
    this.notDone += this.#held.size;
    this.#held.clear();
    await this.#refs.return?.();
  }
}
