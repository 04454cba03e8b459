// The real worker (`bin/filesearch-worker.js run`) as a child process against a fixture in this process, and what a
// test needs to judge it from the outside: its exit, its log lines, its /metrics, the SQLite index it
// writes, the messages still queued and the files left in its private TMPDIR.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { SqsS3Fixture } from './fauxqs.ts';
import { parsePromText, type Samples } from './prom-text.ts';

const PROJECT = new URL('../../', import.meta.url).pathname;

export type WorkerExit = { code: number | null; signal: NodeJS.Signals | null };

export type WorkerProcess = {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly metricsPort: number;
  /** Parsed JSON log lines (the last 5000). */
  readonly logs: Array<Record<string, unknown>>;
  /** Anything on stderr. */
  readonly stderr: string[];
  readonly exited: Promise<WorkerExit>;
  readonly running: boolean;
  kill(signal: NodeJS.Signals): void;
  /** Resolves with the exit, or rejects if the process is still running after timeoutMs (a hang). */
  waitExit(timeoutMs: number): Promise<WorkerExit>;
  metrics(): Promise<Samples>;
  logged(msg: string | RegExp): Array<Record<string, unknown>>;
};

/** A TCP port free right now on 127.0.0.1 (for METRICS_PORT, so the test can scrape it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export type SpawnOptions = {
  fx: SqsS3Fixture;
  dbPath: string;
  /** The worker's private TMPDIR. */
  tmpDir: string;
  /** Extra or overriding environment. */
  env?: Record<string, string>;
  /** A command the worker runs under, e.g. ['unshare', '-p', '--kill-child=SIGTERM', '--mount-proc']. */
  wrap?: string[];
};

/** Defaults for a worker under test: short visibility and polls so crashes cost seconds, not minutes. */
export const TEST_WORKER_ENV: Record<string, string> = {
  VISIBILITY_TIMEOUT_SECONDS: '10',
  HEARTBEAT_SECONDS: '3',
  QUEUE_WAIT_SECONDS: '1',
  POOL_SIZE: '1',
  LOG_LEVEL: 'warn',
  RETRY_BASE_SECONDS: '0',
  RETRY_MAX_SECONDS: '0',
  DELETE_FLUSH_MS: '50',
  INDEX_FLUSH_MS: '50',
  DOC_TIMEOUT_MS: '30000',
  SHUTDOWN_TIMEOUT_MS: '10000',
};

export async function spawnWorker(o: SpawnOptions): Promise<WorkerProcess> {
  const metricsPort = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    ...o.fx.env,
    INDEX_URL: `sqlite:${o.dbPath}`,
    TMPDIR: o.tmpDir,
    // As the image does: the compile cache lives outside the worker's temp dir (else <TMPDIR>/node-compile-cache).
    NODE_COMPILE_CACHE: join(tmpdir(), 'node-compile-cache'),
    ...TEST_WORKER_ENV,
    METRICS_PORT: String(metricsPort),
    ...o.env,
  };
  // The installed command (bin/), as the container runs it.
  const [cmd, ...args] = [...(o.wrap ?? []), process.execPath, 'bin/filesearch-worker.js', 'run'];
  const child = spawn(cmd!, args, { cwd: PROJECT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
      if (logs.length > 5000) logs.splice(0, logs.length - 5000);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 200) stderr.shift();
  });
  let running = true;
  const exited = new Promise<WorkerExit>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  return {
    child,
    pid: child.pid!,
    metricsPort,
    logs,
    stderr,
    exited,
    get running() {
      return running;
    },
    kill(signal) {
      if (!running) return;
      // Under a wrapper (unshare --fork ignores SIGTERM while it waits), signal the worker itself.
      const inner = o.wrap ? childPids(child.pid!)[0] : undefined;
      if (inner) process.kill(inner, signal);
      else child.kill(signal);
    },
    async waitExit(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`worker ${child.pid} still running after ${timeoutMs} ms (hang); last logs: ${JSON.stringify(logs.slice(-5))}`)), timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async metrics() {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      return parsePromText(await res.text());
    },
    logged(msg) {
      return logs.filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg))));
    },
  };
}

/** Direct children of a process, from /proc (Linux). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Kills a worker if it is still running (test cleanup). */
export async function killWorker(w: WorkerProcess | undefined): Promise<void> {
  if (!w?.running) return;
  w.kill('SIGKILL');
  await w.exited;
}

/** Reads the index the worker writes, from outside (a second SQLite connection; the worker uses WAL). */
export function indexRows(dbPath: string): Array<{ id: string; key: string; status: string; n: number }> {
  if (!existsSync(dbPath)) return [];
  const db = new DatabaseSync(dbPath, { readOnly: true });
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    const hasTable = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'documents'").get() as { n: number };
    if (!hasTable.n) return [];
    return db.prepare('SELECT id, key, status, count(*) AS n FROM documents GROUP BY id').all() as Array<{ id: string; key: string; status: string; n: number }>;
  } finally {
    db.close();
  }
}

export function indexCount(dbPath: string): number {
  return indexRows(dbPath).length;
}

/** Bodies of every message still in the fixture's main queue: ready, delayed and in flight. */
export function queuedBodies(fx: SqsS3Fixture): string[] {
  const name = fx.queueUrl.split('/').pop()!;
  const q = fx.server.inspectQueue(name);
  if (!q) throw new Error(`queue ${name} is gone`);
  return [...q.messages.ready, ...q.messages.delayed, ...q.messages.inflight.map((m) => m.message)].map((m) => m.body);
}

/** Every file (not directory) under dir, relative paths. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, join(rel, e.name));
      else out.push(join(rel, e.name));
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return out;
}

/** Everything (files and directories) left in dir, relative paths. */
export function entriesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      out.push(join(rel, e.name) + (e.isDirectory() ? '/' : ''));
      if (e.isDirectory()) walk(join(d, e.name), join(rel, e.name));
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return out;
}

/** Bytes of the files under dir, apart from the language-data cache (symlinks to installed data). */
export function bytesUnder(dir: string): number {
  let n = 0;
  for (const f of filesUnder(dir).filter((e) => !LANGDATA_CACHE.test(e))) {
    try {
      n += statSync(join(dir, f)).size;
    } catch {
      // removed meanwhile
    }
  }
  return n;
}

/** Resident set size and open file descriptors of a live process, from /proc (Linux). */
export function processFigures(pid: number): { rssBytes: number; fds: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    return { rssBytes: rss ? Number(rss[1]) * 1024 : 0, fds };
  } catch {
    return undefined;
  }
}

export { queueEmpty, until } from './wait.ts';

/**
 * The native OCR engine's per-user folder of unpacked best_int models (src/workers/ocr/models.ts,
 * nativeTessdataDir, OCR_MODEL=best): a deliberate cache in TMPDIR that holds no document data. Temp checks ignore it.
 */
export const LANGDATA_CACHE = /^filesearch-tessdata-best-[^/]+(\/|\/[^/]+\.traineddata)$/;

/** The lock file beside a live worker's temp dir (src/flow/temp-dir.ts), and SQLite's journal of it. */
export const OWNER_LOCK = /^filesearch-\d+-[A-Za-z0-9]{6}\.lock(-journal)?$/;

/** What is left in a worker's TMPDIR, apart from the language-data cache. */
export function tempLeftovers(dir: string): string[] {
  return entriesUnder(dir).filter((e) => !LANGDATA_CACHE.test(e));
}
