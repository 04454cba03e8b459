// The local mode's job source: every regular file under the given paths is one lease with one upsert
// job. Files whose size and mtime match what the index already holds are skipped (acked at once by the
// pipeline as a message with no jobs), so re-running over the same folder is cheap.
import { opendir, stat } from 'node:fs/promises';
import { resolve, join } from 'node:path';
import type { AckResult, Delivery, JobSource, Lease, ObjectRef } from '../types.ts';

export type DirectorySourceOptions = {
  paths: string[];
  /** Returns true when the index already holds this exact version of the file. */
  isUnchanged?: (ref: ObjectRef) => Promise<boolean>;
  /** Called for each acked lease (indexed or skipped). */
  onAck?: (lease: Lease) => void;
};

/** Local files carry a version tag of size and mtime in place of an ETag. */
export function localVersionTag(size: number, mtimeMs: number): string {
  return `${size}-${Math.floor(mtimeMs)}`;
}

export class DirectorySource implements JobSource {
  readonly kind = 'directory';
  #walk: AsyncGenerator<string>;
  #exhausted = false;
  #held = new Map<string, Lease>();
  #opts: DirectorySourceOptions;
  skipped = 0;
  found = 0;

  constructor(opts: DirectorySourceOptions) {
    this.#opts = opts;
    this.#walk = walkAll(opts.paths.map((p) => resolve(p)));
  }

  exhausted(): boolean {
    return this.#exhausted;
  }

  async receive(max: number, signal: AbortSignal): Promise<Delivery[]> {
    const out: Delivery[] = [];
    while (out.length < max && !this.#exhausted && !signal.aborted) {
      const next = await this.#walk.next();
      if (next.done) {
        this.#exhausted = true;
        break;
      }
      const path = next.value;
      let st;
      try {
        st = await stat(path);
      } catch {
        continue; // vanished since the walk saw it
      }
      this.found++;
      const ref: ObjectRef = { bucket: '', key: path, size: st.size, etag: localVersionTag(st.size, st.mtimeMs) };
      const lease: Lease = { id: path, receiveCount: 1, receivedAt: Date.now() };
      this.#held.set(path, lease);
      if (this.#opts.isUnchanged && (await this.#opts.isUnchanged(ref))) {
        this.skipped++;
        out.push({ lease, jobs: [] });
      } else {
        out.push({ lease, jobs: [{ ref, action: 'upsert' }] });
      }
    }
    return out;
  }

  async ack(leases: Lease[]): Promise<AckResult> {
    for (const l of leases) {
      if (this.#held.delete(l.id)) this.#opts.onAck?.(l);
    }
    return { failed: [] };
  }

  async release(lease: Lease): Promise<void> {
    this.#held.delete(lease.id);
  }

  inFlight(): { count: number; oldestAgeSeconds: number } {
    let oldest = Infinity;
    for (const l of this.#held.values()) oldest = Math.min(oldest, l.receivedAt);
    return { count: this.#held.size, oldestAgeSeconds: this.#held.size ? (Date.now() - oldest) / 1000 : 0 };
  }

  async close(): Promise<void> {
    this.#held.clear();
    await this.#walk.return(undefined);
  }
}

async function* walkAll(roots: string[]): AsyncGenerator<string> {
  for (const root of roots) {
    const st = await stat(root).catch(() => undefined);
    if (!st) throw new Error(`no such file or directory: ${root}`);
    if (st.isFile()) yield root;
    else if (st.isDirectory()) yield* walk(root);
  }
}

async function* walk(dir: string): AsyncGenerator<string> {
  const entries = [];
  for await (const e of await opendir(dir)) entries.push(e);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}
