// The memory governor: the one owner of the memory budget. It samples the resident memory of this
// process and of every process it started (an OCR engine may run as child processes), and acts on
// two marks:
//   soft (MEMORY_SOFT_PERCENT of the budget): the extract pool admits no new document (it still does
//     when nothing runs: waiting could not free anything); the bounded queues behind it fill and
//     receive stops taking messages.
//     An idle pool thread that has worked is ended too (piscina starts a fresh one): its heap and
//     caches go back to the system and no document is touched.
//   hard (MEMORY_HARD_PERCENT): the pool thread holding the heaviest document is ended (piscina
//     replaces it); the pool retries that document once, alone and in lean mode, then indexes it by
//     name as too_large. The pool decides admission and retries; the governor measures and logs.
// Decoded images, canvases and WASM heaps live outside the V8 heap, so only the RSS tells the truth.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../telemetry/log.ts';
import type { GovernorAction, Telemetry } from '../telemetry/telemetry.ts';

/** What the governor can shed: the pool's threads and the documents on them. */
export interface Sheddable {
  /**
   * What to end now, or undefined. A running document is a candidate only if memory rose by more than
   * `minGrowthBytes` since it started (`rssAtStart` is the governor's `rssBytes` then): one that started
   * over the mark and has not grown it is not the cause (memory of an ended thread is not always
   * given back to the system at once).
   */
  heaviest(minGrowthBytes: number): Promise<{ name: string; end(): void } | undefined>;
  /** An idle pool thread that has worked (its heap and caches stay until it ends), or undefined. */
  idleThread(): { name: string; end(): void } | undefined;
  /** OCR processes waiting for their next page (~70 MB each; the next page starts a new one), or undefined. */
  idleOcr?(): { name: string; end(): void } | undefined;
}

/** The child processes an admission weighs and may end (the OCR spawner's, see workers/ocr/spawner.ts). */
export type ChildrenAtWork = {
  running(): Array<{ pid: number; expectedBytes: number }>;
  closeIdleSessions(): boolean;
};

export type GovernorOptions = {
  budgetBytes: number;
  softShare: number;
  hardShare: number;
  sampleMs: number;
  telemetry: Telemetry;
  logger: Logger;
  /** Resident bytes of the process tree; tests pass their own. */
  sample?: () => number;
};

const MiB = 1024 * 1024;
/** After ending a thread, wait this long for its memory to be given back before ending another... */
const SETTLE_MS = 1_000;
/** ...unless memory keeps rising meanwhile by this share of the budget (another document is growing). */
const STILL_RISING_SHARE = 0.02;
/** Over the soft mark (not the hard one) an idle thread is ended at most this often: a fresh thread costs a module load. */
const SOFT_RECYCLE_MS = 10_000;
/** A document is blamed only for growth: memory rose by this share of the budget since it started. */
const MIN_GROWTH_SHARE = 0.05;

export class MemoryGovernor {
  readonly budgetBytes: number;
  readonly softBytes: number;
  readonly hardBytes: number;
  readonly #opts: GovernorOptions;
  readonly #sample: () => number;
  #target: Sheddable | undefined;
  #timer: NodeJS.Timeout | undefined;
  #rss = 0;
  #peak = 0;
  #paused = false;
  #pauseLogged = false;
  #shedding = false;
  #settleUntil = 0;
  #rssAtLastEnd = 0;
  #lastSoftRecycle = 0;
  readonly #resumeListeners: Array<() => void> = [];
  #gauge: { publish(ceilingBytes: number, childrenBytes: number): void } | undefined;

  constructor(opts: GovernorOptions) {
    if (!(opts.budgetBytes > 0)) throw new RangeError(`memory budget must be > 0 bytes, got ${opts.budgetBytes}`);
    if (!(opts.softShare > 0 && opts.softShare < opts.hardShare && opts.hardShare <= 1)) {
      throw new RangeError(`memory marks must be 0 < soft < hard <= 1, got soft ${opts.softShare}, hard ${opts.hardShare}`);
    }
    this.#opts = opts;
    this.budgetBytes = opts.budgetBytes;
    this.softBytes = Math.floor(opts.budgetBytes * opts.softShare);
    this.hardBytes = Math.floor(opts.budgetBytes * opts.hardShare);
    this.#sample = opts.sample ?? processTreeRss;
    opts.telemetry.watchMemory(() => ({ budgetBytes: this.budgetBytes, rssBytes: this.#rss }));
  }

  /**
   * Midway between the hard mark and the budget: how far an OCR process may still be admitted after
   * waiting for room; the rest is for what the other threads grow between two samples.
   */
  get ceilingBytes(): number {
    return Math.floor((this.hardBytes + this.budgetBytes) / 2);
  }

  /** Each sample is published there (the pool threads' MemoryGauge, src/workers/memory-gauge.ts). */
  publishTo(gauge: { publish(ceilingBytes: number, childrenBytes: number): void } | undefined): void {
    this.#gauge = gauge;
  }

  /** Starts sampling; `target` is what the hard mark ends. */
  start(target: Sheddable): void {
    this.#target = target;
    if (this.#timer) return;
    this.check();
    this.#timer = setInterval(() => this.check(), this.#opts.sampleMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#setPaused(false);
  }

  /** Last sampled resident bytes of the process tree, and the highest seen. */
  get rssBytes(): number {
    return this.#rss;
  }

  get peakBytes(): number {
    return this.#peak;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Called with every fall back under the soft mark (the pool admits what waits). */
  onResume(listener: () => void): void {
    this.#resumeListeners.push(listener);
  }

  /** The pool holds `name` back because of the soft mark: logged and counted once per pause. */
  notePaused(name: string): void {
    if (this.#pauseLogged) return;
    this.#pauseLogged = true;
    this.record('paused', name, `over the soft mark (${mb(this.#rss)} of ${mb(this.softBytes)} MB): no new document starts until memory falls or the running ones finish`);
  }

  /** One log line and one count per action, naming the document. */
  record(action: GovernorAction, name: string, detail: string): void {
    this.#opts.telemetry.memoryAction(action);
    this.#opts.logger.warn({ action, document: name, rssMb: mb(this.#rss), budgetMb: mb(this.budgetBytes) }, `memory governor: ${action.replace('_', ' ')} ${name}: ${detail}`);
  }

  /**
   * Admission of a child process expected to hold `want.expectedBytes` (an OCR engine reading one page;
   * `want.pid`: a long-lived one that already holds part of it). It goes ahead once the tree, plus what
   * the children at work are still expected to grow by, has room for it under the hard mark. Else it
   * makes room where nothing is lost — idle OCR sessions, then idle pool threads — and waits while other
   * children work (they give memory back when done), at most `maxWaitMs`. Then it goes ahead if it fits
   * midway between the hard mark and the budget, or gets the reason it must not start.
   */
  async admitChild(want: { expectedBytes: number; pid?: number }, children: ChildrenAtWork, maxWaitMs: number, sleepMs = this.#opts.sampleMs): Promise<string | undefined> {
    const { expectedBytes, pid } = want;
    const until = Date.now() + maxWaitMs;
    const more = (expected: number, child: number | undefined) => Math.max(0, expected - (child ? residentBytes(child) : 0));
    const others = () => children.running().filter((c) => c.pid !== pid);
    const needed = () => this.#rss + more(expectedBytes, pid) + others().reduce((n, c) => n + more(c.expectedBytes, c.pid), 0);
    while (needed() > this.hardBytes && Date.now() < until) {
      const freed = children.closeIdleSessions();
      this.#shedIdleSoon();
      // Nothing ended, nothing to end, no child at work, no ended thread's memory still to come back: waiting cannot help.
      if (!freed && !others().some((c) => c.expectedBytes > 0) && this.#target?.idleThread() === undefined && Date.now() >= this.#settleUntil) break;
      await sleep(sleepMs);
      this.check();
    }
    // Past the hard mark only up to midway to the budget: the rest is for what the other threads grow between two samples.
    if (needed() <= this.ceilingBytes) return undefined;
    return `memory: an OCR process for this page (about ${mb(expectedBytes)} MB) would take the process too close to its memory budget (${mb(this.#rss)} of ${mb(this.budgetBytes)} MB in use); the page was not read`;
  }

  /** An idle pool thread is ended at the next sample, whatever the soft-mark pace (something waits for room). */
  #shedIdleSoon(): void {
    this.#lastSoftRecycle = 0;
  }

  /** One sample and what follows from it (the timer calls this; tests may call it directly). */
  check(): void {
    let rss: number;
    try {
      rss = this.#sample();
    } catch {
      return;
    }
    this.#rss = rss;
    if (rss > this.#peak) this.#peak = rss;
    // A thread's big image or canvas may take the process up to the hard mark, not past it (past it this
    // governor would end a thread). The threads add this process's own RSS, read when they ask: the
    // children's part is what they cannot see.
    this.#gauge?.publish(this.hardBytes, Math.max(0, rss - process.memoryUsage.rss()));
    this.#setPaused(rss > this.softBytes);
    const settled = Date.now() >= this.#settleUntil || rss > this.#rssAtLastEnd + this.budgetBytes * STILL_RISING_SHARE;
    if (rss > this.softBytes && !this.#shedding && settled) void this.#shed(rss);
  }

  #setPaused(paused: boolean): void {
    if (paused === this.#paused) return;
    this.#paused = paused;
    if (!paused) {
      this.#pauseLogged = false;
      for (const listener of this.#resumeListeners) listener();
    }
  }

  async #shed(rss: number): Promise<void> {
    this.#shedding = true;
    try {
      // Over the soft mark an idle thread's heap is given back (no document is touched); over the hard
      // mark, failing that, the heaviest document's thread is ended.
      const hard = rss > this.hardBytes;
      // An OCR process waiting for its next page goes first, at any pace: it costs only a restart.
      const ocr = this.#target?.idleOcr?.();
      if (ocr) {
        this.#opts.logger.info({ rssMb: mb(rss), budgetMb: mb(this.budgetBytes) }, `memory governor: ${ocr.name} ended over the ${hard ? 'hard' : 'soft'} mark`);
        ocr.end();
        this.#settleUntil = Date.now() + SETTLE_MS;
        this.#rssAtLastEnd = rss;
        return;
      }
      if (!hard && Date.now() - this.#lastSoftRecycle < SOFT_RECYCLE_MS) return;
      const victim = this.#target?.idleThread() ?? (hard ? await this.#target?.heaviest(this.budgetBytes * MIN_GROWTH_SHARE) : undefined);
      if (!victim) return;
      if (!hard) this.#lastSoftRecycle = Date.now();
      const mark = hard ? `the hard mark (${mb(rss)} of ${mb(this.hardBytes)} MB)` : `the soft mark (${mb(rss)} of ${mb(this.softBytes)} MB)`;
      this.record('thread_ended', victim.name, `over ${mark}: its pool thread is ended`);
      victim.end();
      this.#settleUntil = Date.now() + SETTLE_MS;
      this.#rssAtLastEnd = rss;
    } catch (err) {
      this.#opts.logger.error({ err: String(err) }, 'memory governor: could not end a pool thread');
    } finally {
      this.#shedding = false;
    }
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / MiB);
}

// ---- the process tree's resident memory, from /proc ----

/**
 * Resident bytes of this process and all its descendants (Linux /proc; elsewhere this process only).
 * A child caught between fork and exec is not counted: it still maps its parent's pages (shared,
 * copy-on-write), so its RSS repeats the parent's — a 450 MB node process spawning tesseract showed a
 * 400 MB "child" for a few milliseconds that owns no memory of its own.
 */
export function processTreeRss(root = process.pid): number {
  let total = 0;
  const seen = new Set<number>();
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += pid === process.pid ? process.memoryUsage.rss() : residentBytes(pid);
    for (const child of childrenOf(pid)) if (!isUnexecutedFork(pid, child)) stack.push(child);
  }
  return total;
}

/** A child that has not exec'd yet: same executable and same command line as its parent. */
export function isUnexecutedFork(parent: number, child: number): boolean {
  try {
    if (readlinkSync(`/proc/${child}/exe`) !== readlinkSync(`/proc/${parent}/exe`)) return false;
    return readFileSync(`/proc/${child}/cmdline`).equals(readFileSync(`/proc/${parent}/cmdline`));
  } catch {
    // Gone meanwhile (or not ours to read): counted as usual.
    return false;
  }
}

/** VmRSS of a process, bytes; 0 when it is gone. */
export function residentBytes(pid: number): number {
  const kb = statusField(pid, 'VmRSS');
  return kb === undefined ? 0 : kb * 1024;
}

/** A `kB` field of /proc/PID/status (VmRSS, VmHWM), in kB. */
export function statusField(pid: number, field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Child pids: each thread's /proc/PID/task/TID/children (a child belongs to the thread that forked it). */
export function childrenOf(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      // Kernels without CONFIG_PROC_CHILDREN: find the children by their parent pid instead.
      return childrenByParent(pid);
    }
    for (const c of text.split(' ')) if (c.trim()) out.push(Number(c));
  }
  return out;
}

function childrenByParent(pid: number): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name in parentheses, which may itself hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}
