// OCR child processes are spawned by the main thread. A pool thread that is terminated (document
// deadline, memory governor) cannot wait for the children it spawned: they would stay zombies for the
// life of the process. So a thread asks the main thread, over a BroadcastChannel, to run the process;
// the main thread enforces the deadline, returns the output, and kills a destroyed thread's child.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { killOnDeadline } from './kill-on-deadline.ts';
import { askWithPage, ProcessSession, sessionKey } from './process-session.ts';
import type { PageAsk, SessionLimits, SessionSpec } from './process-session.ts';

export type ProcessJob = {
  bin: string;
  args: string[];
  input: Uint8Array;
  timeoutMs: number;
  env: Record<string, string>;
  /** Resident bytes the child is expected to reach (its admission under the memory budget waits for that much room). */
  expectedBytes?: number;
};

/**
 * Decides when a child may start or a session may take a page, from what its process is expected to
 * hold (`pid`: a session's child, already resident) — the memory governor, wired by the pool. Resolves
 * with undefined to go ahead (after waiting at most maxWaitMs for room), or with why it must not.
 */
export type ChildAdmission = (want: { expectedBytes: number; pid?: number }, children: AdmissionContext, maxWaitMs: number) => Promise<string | undefined>;
/** What the admission may look at and do while a request waits. */
export type AdmissionContext = {
  /** Children at work now, with what each is expected to reach. */
  running(): RunningChild[];
  /** Ends the long-lived children that wait for their next page (not the requester's); true if any was ended. */
  closeIdleSessions(): boolean;
};
/** A child at work, with what it is expected to reach (0 for an idle session: what it holds is in its RSS). */
export type RunningChild = { pid: number; expectedBytes: number };

/** A child waits at most this share of its own deadline for memory to start in. */
const ADMISSION_WAIT_SHARE = 0.5;
/** unavailable: no long-lived process could be used (no work dir): the caller reads one-shot instead. */
export type ProcessResult = { code: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean; error?: string; unavailable?: true };
/** A private dir for the page files of long-lived OCR processes: its owner removes it; one left by a crash is swept (src/flow/temp-dir.ts). */
export type WorkDir = { readonly path: string; remove(): Promise<void> };

/** stdout beyond this is a runaway child, not a page of text. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** A thread waits this much past the job's own deadline for the main thread's answer. */
const REPLY_GRACE_MS = 5_000;
const REQUESTS = 'filesearch:ocr-spawn';
const repliesFor = (thread: number) => `filesearch:ocr-spawn:${thread}`;

/** Runs one process to its end or its deadline (SIGKILL), feeding input on stdin. */
export function runProcess(job: ProcessJob, signal?: AbortSignal, onSpawn?: (child: ChildProcess) => void): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(job.bin, job.args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...job.env } });
    onSpawn?.(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let error: string | undefined;
    const deadline = killOnDeadline(child, job.timeoutMs, signal);
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > MAX_OUTPUT_BYTES) {
        error ??= `it wrote more than ${MAX_OUTPUT_BYTES} bytes for one page`;
        child.kill('SIGKILL');
      } else out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (err.length < 64) err.push(b);
    });
    child.on('error', (e) => {
      error ??= e.message;
    });
    // EPIPE when the child dies before reading all of stdin: its exit says why.
    child.stdin.on('error', () => {});
    child.on('close', (code, sig) => {
      deadline.dispose();
      resolve({ code, signal: sig, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut: deadline.timedOut, ...(error ? { error } : {}) });
    });
    child.stdin.end(job.input);
  });
}

type Request =
  | { id: number; thread: number; job: ProcessJob }
  | { id: number; thread: number; session: SessionSpec; ask: PageAsk; limits: SessionLimits }
  | { cancel: number; thread: number }
  | { closeSessions: true; thread: number };
type Reply = { id: number; result: ProcessResult };

/** The main thread's side: one per process, started by the pool. */
export class OcrSpawner {
  static #instance: OcrSpawner | undefined;
  static #users = 0;
  readonly #requests = new BroadcastChannel(REQUESTS);
  readonly #replies = new Map<number, BroadcastChannel>();
  readonly #children = new Map<string, { child: ChildProcess; thread: number; expectedBytes: number }>();
  /** Long-lived children (process-session.ts), by thread and command. */
  readonly #sessions = new Map<string, { session: ProcessSession; thread: number }>();
  /** Requests now answered by a session, by thread:id (so a cancel reaches it). */
  readonly #asking = new Map<string, AbortController>();
  /** What each session's current request is expected to take its child to. */
  readonly #sessionExpects = new Map<ProcessSession, number>();
  /** Requests waiting for admission, by thread:id (a cancel, or their thread ending, drops them). */
  readonly #admitting = new Map<string, number>();
  #admission: ChildAdmission | undefined;
  #released = false;

  /** Makes the dir for page files, on the first page a long-lived process reads. */
  #makeWorkDir: (() => Promise<WorkDir>) | undefined;
  #workDir: Promise<WorkDir | undefined> | undefined;

  /**
   * The process's spawner, shared by every pool; release() when done. workDir: where long-lived
   * processes' page files go (without it, or when it cannot be made, pages are read one-shot).
   */
  static acquire(workDir?: () => Promise<WorkDir>): OcrSpawner {
    OcrSpawner.#users++;
    OcrSpawner.#instance ??= new OcrSpawner();
    OcrSpawner.#instance.#makeWorkDir ??= workDir;
    return OcrSpawner.#instance;
  }

  private constructor() {
    this.#requests.onmessage = (e: unknown) => this.#handle((e as { data: Request }).data);
    // Nothing waits on the channel itself: the pool keeps the process alive while there is work.
    this.#requests.unref();
  }

  /** Children running now (for the memory governor and tests). */
  get pids(): number[] {
    return [...this.#children.values()].flatMap((c) => (c.child.pid ? [c.child.pid] : [])).concat(this.#sessionPids());
  }

  /** Children running now for one pool thread (the memory governor weighs its document by them). */
  pidsOfThread(thread: number): number[] {
    return [...this.#children.values()].flatMap((c) => (c.thread === thread && c.child.pid ? [c.child.pid] : [])).concat(this.#sessionPids(thread));
  }

  /** Children at work now with what each is expected to reach (the memory admission reads it). */
  get running(): RunningChild[] {
    const oneShot = [...this.#children.values()].flatMap((c) => (c.child.pid ? [{ pid: c.child.pid, expectedBytes: c.expectedBytes }] : []));
    const sessions = [...this.#sessions.values()].flatMap((s) => (s.session.pid ? [{ pid: s.session.pid, expectedBytes: this.#sessionExpects.get(s.session) ?? 0 }] : []));
    return oneShot.concat(sessions);
  }

  /** Sets (or clears) who decides when a child may start; without one, children start at once. */
  setAdmission(admission: ChildAdmission | undefined): void {
    this.#admission = admission;
  }

  /** Pool threads ended: kills the children of every thread not in `alive` (nobody waits for them). */
  killOrphans(alive: number[]): void {
    for (const c of this.#children.values()) if (!alive.includes(c.thread)) c.child.kill('SIGKILL');
    for (const [key, thread] of this.#admitting) if (!alive.includes(thread)) this.#admitting.delete(key);
    for (const [key, s] of this.#sessions) {
      if (alive.includes(s.thread)) continue;
      s.session.close();
      this.#sessions.delete(key);
    }
  }

  #sessionPids(thread?: number): number[] {
    return [...this.#sessions.values()].flatMap((s) => ((thread === undefined || s.thread === thread) && s.session.pid ? [s.session.pid] : []));
  }

  /** Long-lived children waiting for their next page (the memory governor may end them: nothing is lost). */
  get idleSessionPids(): number[] {
    return [...this.#sessions.values()].flatMap((s) => (!this.#sessionExpects.has(s.session) && s.session.pid ? [s.session.pid] : []));
  }

  /** Ends the sessions that are not answering a request (their ~70 MB come back; the next page starts a new one). */
  closeIdleSessions(): boolean {
    return this.#closeIdleSessions(undefined);
  }

  #closeIdleSessions(except: number | undefined): boolean {
    let closed = false;
    for (const [key, s] of this.#sessions) {
      if (this.#sessionExpects.has(s.session) || !s.session.pid || s.session.pid === except) continue;
      s.session.close();
      this.#sessions.delete(key);
      closed = true;
    }
    return closed;
  }

  #closeSessions(thread: number): void {
    for (const [key, s] of this.#sessions) {
      if (s.thread !== thread) continue;
      s.session.close();
      this.#sessions.delete(key);
    }
  }

  release(): void {
    if (--OcrSpawner.#users > 0) return;
    OcrSpawner.#instance = undefined;
    this.#released = true;
    this.#admitting.clear();
    for (const c of this.#children.values()) c.child.kill('SIGKILL');
    for (const s of this.#sessions.values()) s.session.close();
    this.#sessions.clear();
    void this.#workDir?.then((dir) => dir?.remove()).catch(() => {});
    this.#requests.close();
    for (const ch of this.#replies.values()) ch.close();
  }

  #handle(msg: Request): void {
    if ('closeSessions' in msg) return this.#closeSessions(msg.thread);
    if ('cancel' in msg) {
      this.#admitting.delete(`${msg.thread}:${msg.cancel}`);
      this.#children.get(`${msg.thread}:${msg.cancel}`)?.child.kill('SIGKILL');
      this.#asking.get(`${msg.thread}:${msg.cancel}`)?.abort();
      return;
    }
    const key = `${msg.thread}:${msg.id}`;
    if ('session' in msg) {
      const sKey = `${msg.thread}:${sessionKey(msg.session)}`;
      let s = this.#sessions.get(sKey);
      if (!s) {
        s = { session: new ProcessSession(msg.session, msg.limits), thread: msg.thread };
        this.#sessions.set(sKey, s);
      }
      const { session } = s;
      const expectedBytes = msg.ask.expectedBytes ?? 0;
      void this.#admit(key, msg.thread, { expectedBytes, ...(session.pid ? { pid: session.pid } : {}) }, msg.ask.timeoutMs).then(async (admitted) => {
        if (admitted === undefined) return;
        if (typeof admitted === 'string') return this.#reply(msg.thread, msg.id, refused(admitted));
        const ac = new AbortController();
        this.#asking.set(key, ac);
        this.#sessionExpects.set(session, expectedBytes);
        const dir = await this.#dir();
        const result = dir
          ? await askWithPage(session, dir.path, `t${msg.thread}-${msg.id}`, { ...msg.ask, timeoutMs: msg.ask.timeoutMs - admitted }, ac.signal)
          : { code: null, signal: null, stdout: '', stderr: '', timedOut: false, error: 'no work dir for OCR page files', unavailable: true as const };
        this.#sessionExpects.delete(session);
        this.#asking.delete(key);
        this.#reply(msg.thread, msg.id, result);
      });
      return;
    }
    const expectedBytes = msg.job.expectedBytes ?? 0;
    void this.#admit(key, msg.thread, { expectedBytes }, msg.job.timeoutMs).then(async (admitted) => {
      if (admitted === undefined) return;
      if (typeof admitted === 'string') return this.#reply(msg.thread, msg.id, refused(admitted));
      const result = await runProcess({ ...msg.job, timeoutMs: msg.job.timeoutMs - admitted }, undefined, (child) => this.#children.set(key, { child, thread: msg.thread, expectedBytes }));
      this.#children.delete(key);
      this.#reply(msg.thread, msg.id, result);
    });
  }

  /**
   * Waits for the memory admission (when there is one and the request says what it will hold): the
   * milliseconds waited when it may go ahead, the reason when it must not, undefined when it was
   * cancelled meanwhile (nobody waits for an answer).
   */
  async #admit(key: string, thread: number, want: { expectedBytes: number; pid?: number }, timeoutMs: number): Promise<number | string | undefined> {
    if (!this.#admission || !want.expectedBytes) return 0;
    const started = Date.now();
    this.#admitting.set(key, thread);
    const children: AdmissionContext = { running: () => this.running, closeIdleSessions: () => this.#closeIdleSessions(want.pid) };
    const refusal = await this.#admission(want, children, timeoutMs * ADMISSION_WAIT_SHARE).catch((err: unknown) => `memory: ${String(err)}`);
    if (!this.#admitting.delete(key)) return undefined;
    return refusal ?? Date.now() - started;
  }

  /** The page files' dir, made once; undefined when there is none (no factory, or it failed). */
  #dir(): Promise<WorkDir | undefined> {
    this.#workDir ??= this.#makeWorkDir ? this.#makeWorkDir().catch(() => undefined) : Promise.resolve(undefined);
    return this.#workDir;
  }

  #reply(thread: number, id: number, result: ProcessResult): void {
    // Released while the child ran (shutdown): its thread is gone and its channel closed.
    if (this.#released) return;
    let ch = this.#replies.get(thread);
    if (!ch) {
      ch = new BroadcastChannel(repliesFor(thread));
      ch.unref();
      this.#replies.set(thread, ch);
    }
    ch.postMessage({ id, result } satisfies Reply);
  }
}

function refused(reason: string): ProcessResult {
  return { code: null, signal: null, stdout: '', stderr: '', timedOut: false, error: reason };
}

// ---- the pool thread's side ----

let nextId = 0;
let replies: BroadcastChannel | undefined;
const waiting = new Map<number, (r: ProcessResult) => void>();

/** Asks the main thread's OcrSpawner to run the job; resolves with its result. */
export function requestRun(job: ProcessJob, signal?: AbortSignal): Promise<ProcessResult> {
  return request((id) => ({ id, thread: threadId, job }), job.timeoutMs, signal);
}

/** Asks the main thread's OcrSpawner to put a request to this thread's session running `spec` (started when needed). */
export function requestSession(spec: SessionSpec, ask: PageAsk, limits: SessionLimits, signal?: AbortSignal): Promise<ProcessResult> {
  return request((id) => ({ id, thread: threadId, session: spec, ask, limits }), ask.timeoutMs, signal);
}

/** Ends this thread's sessions in the main thread (the engine closes). */
export function requestCloseSessions(): void {
  const requests = new BroadcastChannel(REQUESTS);
  requests.postMessage({ closeSessions: true, thread: threadId } satisfies Request);
  requests.close();
}

function request(message: (id: number) => Request, timeoutMs: number, signal?: AbortSignal): Promise<ProcessResult> {
  const requests = new BroadcastChannel(REQUESTS);
  if (!replies) {
    replies = new BroadcastChannel(repliesFor(threadId));
    replies.onmessage = (e: unknown) => {
      const { id, result } = (e as { data: Reply }).data;
      waiting.get(id)?.(result);
    };
  }
  const id = ++nextId;
  return new Promise<ProcessResult>((resolve) => {
    const done = (r: ProcessResult) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', cancel);
      waiting.delete(id);
      if (waiting.size === 0) replies?.unref();
      requests.close();
      resolve(r);
    };
    const cancel = () => requests.postMessage({ cancel: id, thread: threadId } satisfies Request);
    const timer = setTimeout(
      () => done({ code: null, signal: null, stdout: '', stderr: '', timedOut: false, error: 'the main thread did not answer (no OCR spawner running)' }),
      timeoutMs + REPLY_GRACE_MS,
    );
    signal?.addEventListener('abort', cancel, { once: true });
    waiting.set(id, done);
    replies!.ref();
    requests.postMessage(message(id));
  });
}
