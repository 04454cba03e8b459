// The pipeline's private temp dir, and proof of who owns it. Workers may share one TMPDIR while each is
// PID 1 in its own PID namespace (containers under tini), so a pid says nothing about whether another
// worker is alive. Ownership is a lock instead: next to each dir `filesearch-<pid>-<random>` sits
// `<dir>.lock`, a small SQLite file on which the owner holds an EXCLUSIVE transaction for its whole
// life (an fcntl lock: the kernel drops it when the process dies, SIGKILL and OOM included, and it is
// visible across PID namespaces). The start-up sweep removes a dir only after taking its lock itself
// (non-blocking: it fails while the owner lives), and unlinks the lock file while holding it. The owner
// locks first, checks its lock file is still there, and only then makes the dir; so a dir without a
// lock file is a leftover of an older version and may go.
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, rmSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Logger } from '../telemetry/log.ts';

const PREFIX = 'filesearch-';
const DIR_RE = /^filesearch-(\d+)-[A-Za-z0-9]{6}$/;
const LOCK_SUFFIX = '.lock';
/** SQLite opens a rollback journal beside the lock file when it takes the EXCLUSIVE lock. */
const JOURNAL_SUFFIX = '.lock-journal';

function removeLockFiles(dir: string): void {
  rmSync(dir + LOCK_SUFFIX, { force: true });
  rmSync(dir + JOURNAL_SUFFIX, { force: true });
}

/** Temp dirs of pipelines in this process (tests and benches run several side by side). */
const ownDirs = new Set<string>();

export class OwnedTempDir {
  readonly path: string;
  #lock: DatabaseSync | undefined;
  #recreating: Promise<boolean> | undefined;

  private constructor(path: string, lock: DatabaseSync) {
    this.path = path;
    this.#lock = lock;
    ownDirs.add(path);
  }

  /** Sweeps dirs left by dead workers under `parent`, then creates and locks a new private dir. */
  static async create(parent: string, logger: Logger): Promise<OwnedTempDir> {
    await sweepStaleTempDirs(parent, logger);
    for (let attempt = 0; attempt < 20; attempt++) {
      const path = join(parent, `${PREFIX}${process.pid}-${randomBytes(6).toString('base64url').replace(/[-_]/g, 'x').slice(0, 6)}`);
      if (existsSync(path + LOCK_SUFFIX) || existsSync(path)) continue;
      const lock = takeLock(path + LOCK_SUFFIX);
      if (!lock) continue; // another sweep took or removed it meanwhile: pick another name
      await mkdir(path, { mode: 0o700 });
      return new OwnedTempDir(path, lock);
    }
    throw new Error(`could not create a locked temp dir under ${parent}`);
  }

  /** Why downloads cannot be written now, or undefined. Cheap: for readiness probes. */
  problem(): string | undefined {
    try {
      accessSync(this.path, constants.W_OK);
    } catch (err) {
      void this.recreate();
      return `temp dir ${this.path} is not writable (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
    }
    if (!existsSync(this.path + LOCK_SUFFIX)) {
      void this.recreate();
      return `temp dir lock ${this.path}${LOCK_SUFFIX} is gone`;
    }
    return undefined;
  }

  /**
   * Someone removed the dir (a tmp cleaner, an older worker's sweep): make it again, with its lock.
   * Resolves true when the dir is usable.
   */
  recreate(): Promise<boolean> {
    this.#recreating ??= (async () => {
      try {
        if (!existsSync(this.path + LOCK_SUFFIX)) {
          this.#unlock();
          this.#lock = takeLock(this.path + LOCK_SUFFIX);
          if (!this.#lock) return false;
        }
        await mkdir(this.path, { recursive: true, mode: 0o700 });
        accessSync(this.path, constants.W_OK);
        return true;
      } catch {
        return false;
      } finally {
        this.#recreating = undefined;
      }
    })();
    return this.#recreating;
  }

  async remove(): Promise<void> {
    await rm(this.path, { recursive: true, force: true });
    this.removeSync();
  }

  /** For an exit that cannot wait (a second signal). The lock file goes while still held. */
  removeSync(): void {
    rmSync(this.path, { recursive: true, force: true });
    removeLockFiles(this.path);
    this.#unlock();
    ownDirs.delete(this.path);
  }

  #unlock(): void {
    try {
      this.#lock?.close();
    } catch {
      // already closed
    }
    this.#lock = undefined;
  }
}

/**
 * Takes the lock on `file` (creating it) without waiting: an open SQLite connection holding an
 * EXCLUSIVE transaction. Undefined when someone else holds it, or when a sweep unlinked the file
 * before we got it (the lock would then guard nothing).
 */
function takeLock(file: string): DatabaseSync | undefined {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file, { timeout: 0 });
  } catch {
    return undefined;
  }
  try {
    db.exec('BEGIN EXCLUSIVE');
    if (existsSync(file)) return db;
  } catch {
    // held by another process
  }
  db.close();
  return undefined;
}

/**
 * A worker killed with SIGKILL (or by the OOM killer) leaves its temp dir behind. At start-up, remove
 * every dir whose lock we can take (its owner is gone), or that has no lock file (an older version's),
 * and lock files without a dir. Removal happens while holding the lock, so no owner can appear meanwhile.
 */
export async function sweepStaleTempDirs(parent: string, logger: Logger): Promise<void> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const suffix = [LOCK_SUFFIX, JOURNAL_SUFFIX].find((x) => name.endsWith(x));
    const isLock = suffix !== undefined;
    const dirName = suffix ? name.slice(0, -suffix.length) : name;
    if (!DIR_RE.test(dirName)) continue;
    const dir = join(parent, dirName);
    if (ownDirs.has(dir)) continue;
    const lockFile = dir + LOCK_SUFFIX;
    const hadLock = existsSync(lockFile);
    const lock = hadLock ? takeLock(lockFile) : undefined;
    if (hadLock && !lock) continue; // a live owner
    try {
      if (isLock) {
        if (!existsSync(dir)) removeLockFiles(dir);
        continue;
      }
      if (!(await stat(dir).then((st) => st.isDirectory(), () => false))) continue;
      await rm(dir, { recursive: true, force: true });
      removeLockFiles(dir);
      logger.info({ dir: name }, 'removed temp dir left by a stopped worker');
    } catch {
      // another sweep got there first
    } finally {
      lock?.close();
    }
  }
}
