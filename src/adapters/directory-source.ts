// The local mode's job source: every regular file under the given paths is one lease with one upsert
// job. Files whose size and mtime match what the index already holds are skipped (acked at once by the
// pipeline as a message with no jobs), so re-running over the same folder is cheap.
// A path that cannot be read (a missing root, a folder without permission, a name that is not valid
// UTF-8) is reported in `problems` and skipped; the rest of the tree is still walked. A released lease
// (a retryable failure) is handed out again, up to maxAttempts, then reported too.
import { readdir, stat } from 'node:fs/promises';
import { resolve, join } from 'node:path';
import { errorMessage } from '../errors.ts';
import type { AckResult, Delivery, JobSource, Lease, ObjectRef } from '../types.ts';

export type DirectorySourceOptions = {
  paths: string[];
  /** Returns true when the index already holds this exact version of the file. */
  isUnchanged?: (ref: ObjectRef) => Promise<boolean>;
  /** Called for each acked lease (indexed or skipped). */
  onAck?: (lease: Lease) => void;
  /** Called for each path that is skipped, with the reason. */
  onProblem?: (problem: PathProblem) => void;
  /** Times a file is tried before it is reported as failed. Default 3. */
  maxAttempts?: number;
};

export type PathProblem = { path: string; reason: string };

/** Local files carry a version tag of size and mtime in place of an ETag. */
export function localVersionTag(size: number, mtimeMs: number): string {
  return `${size}-${Math.floor(mtimeMs)}`;
}

export class DirectorySource implements JobSource {
  readonly kind = 'directory';
  #walk: AsyncGenerator<string>;
  #walkDone = false;
  #held = new Map<string, Lease>();
  /** Released leases waiting for another attempt: path -> attempts so far. */
  #retry: Array<{ path: string; attempts: number; dueAt: number }> = [];
  /** Pollers waiting for a held file to be acked or released. */
  #wake: Array<() => void> = [];
  #opts: DirectorySourceOptions;
  readonly problems: PathProblem[] = [];
  skipped = 0;
  found = 0;

  constructor(opts: DirectorySourceOptions) {
    this.#opts = opts;
    this.#walk = walkAll(opts.paths.map((p) => resolve(p)), (p) => this.#problem(p));
  }

  #problem(p: PathProblem): void {
    this.problems.push(p);
    this.#opts.onProblem?.(p);
  }

  /** Nothing more to hand out: the walk is over and no file is held or waiting for another attempt. */
  exhausted(): boolean {
    return this.#walkDone && this.#retry.length === 0 && this.#held.size === 0;
  }

  async receive(max: number, signal: AbortSignal): Promise<Delivery[]> {
    const out: Delivery[] = [];
    while (out.length < max && !signal.aborted) {
      const retry = this.#retry.findIndex((r) => r.dueAt <= Date.now());
      let path: string;
      let attempt = 1;
      if (retry >= 0) {
        const r = this.#retry.splice(retry, 1)[0]!;
        path = r.path;
        attempt = r.attempts + 1;
      } else if (!this.#walkDone) {
        const next = await this.#walk.next();
        if (next.done) {
          this.#walkDone = true;
          continue;
        }
        path = next.value;
      } else {
        // Walk over, but files are still in the pipeline and may come back: wait for that.
        if (out.length > 0 || this.exhausted()) break;
        await this.#waitForChange(signal);
        continue;
      }
      let st;
      try {
        st = await stat(path);
      } catch {
        continue; // vanished since the walk saw it: a re-run removes its document
      }
      if (attempt === 1) this.found++;
      const ref: ObjectRef = { bucket: '', key: path, size: st.size, etag: localVersionTag(st.size, st.mtimeMs) };
      const lease: Lease = { id: path, receiveCount: attempt, receivedAt: Date.now() };
      this.#held.set(path, lease);
      if (attempt === 1 && this.#opts.isUnchanged && (await this.#opts.isUnchanged(ref))) {
        this.skipped++;
        out.push({ lease, jobs: [] });
      } else {
        out.push({ lease, jobs: [{ ref, action: 'upsert' }] });
      }
    }
    return out;
  }

  #waitForChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const nextDue = Math.min(...this.#retry.map((r) => r.dueAt));
      const timer = Number.isFinite(nextDue) ? setTimeout(done, Math.max(0, nextDue - Date.now())) : undefined;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      this.#wake.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  #changed(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }

  async ack(leases: Lease[]): Promise<AckResult> {
    for (const l of leases) {
      if (this.#held.delete(l.id)) this.#opts.onAck?.(l);
    }
    this.#changed();
    return { failed: [] };
  }

  async release(lease: Lease, delaySeconds: number): Promise<void> {
    if (!this.#held.delete(lease.id)) return;
    const attempts = lease.receiveCount;
    if (attempts >= (this.#opts.maxAttempts ?? 3)) {
      this.#problem({ path: lease.id, reason: `not indexed after ${attempts} attempts (the log says why)` });
    } else {
      this.#retry.push({ path: lease.id, attempts, dueAt: Date.now() + delaySeconds * 1000 });
    }
    this.#changed();
  }

  inFlight(): { count: number; oldestAgeSeconds: number } {
    let oldest = Infinity;
    for (const l of this.#held.values()) oldest = Math.min(oldest, l.receivedAt);
    return { count: this.#held.size, oldestAgeSeconds: this.#held.size ? (Date.now() - oldest) / 1000 : 0 };
  }

  async close(): Promise<void> {
    this.#held.clear();
    this.#retry.length = 0;
    this.#changed();
    await this.#walk.return(undefined);
  }
}

async function* walkAll(roots: string[], problem: (p: PathProblem) => void): AsyncGenerator<string> {
  for (const root of roots) {
    let st;
    try {
      st = await stat(root);
    } catch (err) {
      problem({ path: root, reason: reasonOf(err) });
      continue;
    }
    if (st.isFile()) yield root;
    else if (st.isDirectory()) yield* walk(root, problem);
    else problem({ path: root, reason: 'not a regular file or folder' });
  }
}

async function* walk(dir: string, problem: (p: PathProblem) => void): AsyncGenerator<string> {
  let entries;
  try {
    // Names as bytes: a name that is not valid UTF-8 cannot round-trip through a string path.
    entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (err) {
    problem({ path: dir, reason: reasonOf(err) });
    return;
  }
  const named: Array<{ name: string; dir: boolean; file: boolean }> = [];
  for (const e of entries) {
    const raw = e.name as unknown as Buffer;
    const name = raw.toString('utf8');
    if (!Buffer.from(name, 'utf8').equals(raw)) {
      problem({ path: join(dir, JSON.stringify(raw.toString('latin1')).slice(1, -1)), reason: 'file name is not valid UTF-8' });
      continue;
    }
    named.push({ name, dir: e.isDirectory(), file: e.isFile() });
  }
  named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of named) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.dir) yield* walk(p, problem);
    else if (e.file) yield p;
  }
}

function reasonOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'no such file or folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return errorMessage(err);
}
