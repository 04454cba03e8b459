// One long-lived child process that answers requests written to its stdin, one at a time: the native
// engine's page reads go to one tesseract per pool thread that reads a list of image files from
// stdin (`-c stream_filelist=1`) and keeps its models loaded, instead of a new process per page that
// loads eng+jpn again (0.2-1.2 s a page, as long as reading a small page). An answer ends where its
// stdout matches `until`. A request past its deadline kills the child (the next request starts a new
// one); so does an idle spell and a number of requests (so whatever the child holds is given back).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { killOnDeadline } from './kill-on-deadline.ts';
import type { ProcessResult } from './spawner.ts';

/** The command a session runs; two requests with the same spec can share a session. */
export type SessionSpec = { bin: string; args: string[]; env: Record<string, string> };
/** What to write to the child's stdin, and the pattern (RegExp source, multiline) that ends its answer on stdout. */
export type SessionAsk = {
  input: string;
  until: string;
  timeoutMs: number;
  /** Resident bytes the child is expected to reach on this request (its memory admission, see spawner.ts). */
  expectedBytes?: number;
};
/**
 * A page for a child that reads image files named on its stdin: the page's bytes, and the bytes of the
 * image listed after it, whose output (`until`) ends the answer.
 */
export type PageAsk = { page: Uint8Array; end: Uint8Array; until: string; timeoutMs: number; expectedBytes?: number };
export type SessionLimits = { idleMs: number; maxRequests: number };

/** stdout beyond this for one answer is a runaway child, not a page of text. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
/** The end marker is looked for in this many bytes at the end of what has come so far. */
const MARKER_WINDOW = 512;

type Refable = { ref(): unknown; unref(): unknown };

export function sessionKey(spec: SessionSpec): string {
  return JSON.stringify([spec.bin, spec.args, spec.env]);
}

export class ProcessSession {
  readonly spec: SessionSpec;
  readonly #limits: SessionLimits;
  readonly #onSpawn: ((child: ChildProcess) => void) | undefined;
  #child: ChildProcess | undefined;
  #requests = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #busy = false;
  /** Set while a request waits: output and exit go to it. */
  #pending: { child: ChildProcess; out: Buffer[]; bytes: number; tail: string; err: string[]; until: RegExp; finish: (r: ProcessResult) => void } | undefined;

  constructor(spec: SessionSpec, limits: SessionLimits, onSpawn?: (child: ChildProcess) => void) {
    this.spec = spec;
    this.#limits = limits;
    this.#onSpawn = onSpawn;
  }

  /** The running child's pid, if any (for the memory governor). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Writes the request and resolves with the child's answer, or how it failed (timedOut, exit, error). */
  ask(ask: SessionAsk, signal?: AbortSignal): Promise<ProcessResult> {
    if (this.#busy) return Promise.resolve(failed('the OCR session is busy with another request'));
    this.#busy = true;
    clearTimeout(this.#idleTimer);
    const child = this.#child ?? this.#start();
    setRef(child, true);
    return new Promise<ProcessResult>((resolve) => {
      const deadline = killOnDeadline(child, ask.timeoutMs, signal);
      this.#pending = {
        child,
        out: [],
        bytes: 0,
        tail: '',
        err: [],
        until: new RegExp(ask.until, 'm'),
        finish: (r) => {
          deadline.dispose();
          this.#pending = undefined;
          this.#busy = false;
          resolve(deadline.timedOut ? { ...r, timedOut: true } : r);
          this.#afterRequest();
        },
      };
      child.stdin!.write(ask.input);
    });
  }

  /** Ends the child (if any); the next request starts a new one. */
  close(): void {
    clearTimeout(this.#idleTimer);
    const child = this.#child;
    this.#child = undefined;
    child?.kill('SIGKILL');
  }

  #start(): ChildProcess {
    const child = spawn(this.spec.bin, this.spec.args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...this.spec.env } });
    this.#child = child;
    this.#requests = 0;
    this.#onSpawn?.(child);
    child.stdout!.on('data', (b: Buffer) => this.#stdout(child, b));
    child.stderr!.on('data', (b: Buffer) => {
      const p = this.#pending;
      if (p?.child === child && p.err.length < 64) p.err.push(b.toString('utf8'));
    });
    // EPIPE when the child dies before reading its input: its exit says why.
    child.stdin!.on('error', () => {});
    let error: string | undefined;
    child.on('error', (e) => {
      error ??= e.message;
    });
    child.on('close', (code, sig) => {
      if (this.#child === child) this.#child = undefined;
      // A child ended before (recycled, idle) must not answer the request of the one that replaced it.
      const p = this.#pending;
      if (p?.child === child) p.finish({ code, signal: sig, stdout: Buffer.concat(p.out).toString('utf8'), stderr: p.err.join(''), timedOut: false, ...(error ? { error } : {}) });
    });
    return child;
  }

  #stdout(child: ChildProcess, b: Buffer): void {
    const p = this.#pending;
    // Output with no request waiting (none is expected): dropped, so it cannot pass for the next answer.
    if (p?.child !== child) return;
    p.out.push(b);
    p.bytes += b.length;
    if (p.bytes > MAX_ANSWER_BYTES) {
      p.err.push(`it wrote more than ${MAX_ANSWER_BYTES} bytes for one request`);
      child.kill('SIGKILL');
      return;
    }
    p.tail = (p.tail + b.toString('latin1')).slice(-MARKER_WINDOW);
    if (!p.until.test(p.tail)) return;
    p.finish({ code: 0, signal: null, stdout: Buffer.concat(p.out).toString('utf8'), stderr: p.err.join(''), timedOut: false });
  }

  #afterRequest(): void {
    const child = this.#child;
    if (!child) return;
    if (++this.#requests >= this.#limits.maxRequests) return this.close();
    setRef(child, false);
    this.#idleTimer = setTimeout(() => this.close(), this.#limits.idleMs);
    this.#idleTimer.unref();
  }
}

/** An idle child (and its pipes) must not keep the process alive; a busy one must. */
function setRef(child: ChildProcess, on: boolean): void {
  for (const h of [child, child.stdin, child.stdout, child.stderr] as unknown as Refable[]) {
    if (h && typeof h.ref === 'function') {
      if (on) h.ref();
      else h.unref();
    }
  }
}

/**
 * Writes the page as `<dir>/<name>.tif` (and the end image once per dir), names both on the session's
 * stdin, and removes the page file when the answer is in (the dir is its owner's: removed on close,
 * swept after a crash).
 */
export async function askWithPage(session: ProcessSession, dir: string, name: string, ask: PageAsk, signal?: AbortSignal): Promise<ProcessResult> {
  const end = path.join(dir, 'end-of-page.tif');
  const page = path.join(dir, `${name}.tif`);
  try {
    if (!existsSync(end)) writeFileSync(end, ask.end);
    writeFileSync(page, ask.page);
  } catch (err) {
    return { ...failed(`cannot write the page for tesseract in ${dir}: ${(err as Error).message}`), unavailable: true };
  }
  try {
    return await session.ask({ input: `${page}\n${end}\n`, until: ask.until, timeoutMs: ask.timeoutMs }, signal);
  } finally {
    await unlink(page).catch(() => {});
  }
}

function failed(error: string): ProcessResult {
  return { code: null, signal: null, stdout: '', stderr: '', timedOut: false, error };
}
