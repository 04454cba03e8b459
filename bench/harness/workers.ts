// Parent side of the worker processes: start them, wait until every one is warm, start them together,
// and collect what each measured.
import type { ChildProcess } from 'node:child_process';
import { forkLogged } from './child.ts';
import { machineBusy } from './machine-load.ts';
import type { Emulator } from './emulator.ts';
import { workerEnv, type BenchContext } from './context.ts';
import type { FromWorker, WorkerResult, WorkerSpec } from './worker-protocol.ts';

type Running = { child: ChildProcess; ready: Promise<number>; result: Promise<WorkerResult>; tail(): string };

function start(spec: WorkerSpec, env: Record<string, string>, logDir: string): Running {
  const { child, tail } = forkLogged('./worker-process.ts', env, logDir, [JSON.stringify(spec)]);
  let onReady!: (ms: number) => void;
  let onResult!: (r: WorkerResult) => void;
  let onFail!: (e: Error) => void;
  const ready = new Promise<number>((res, rej) => {
    onReady = res;
    onFail = rej;
  });
  const result = new Promise<WorkerResult>((res, rej) => {
    onResult = res;
    const prev = onFail;
    onFail = (e) => {
      prev(e);
      rej(e);
    };
  });
  ready.catch(() => {});
  result.catch(() => {});
  child.on('message', (m: FromWorker) => {
    if (m.type === 'ready') onReady(m.warmMs);
    else if (m.type === 'result') onResult(m.result);
    else if (m.type === 'error') onFail(new Error(`${spec.mode} worker: ${m.message}\n--- worker output ---\n${tail()}`));
  });
  child.on('exit', (code, signal) => {
    onFail(new Error(`${spec.mode} worker exited (${code ?? signal}) before reporting\n--- worker output ---\n${tail()}`));
  });
  return { child, ready, result, tail };
}

export type RunOutcome = {
  /** From 'go' to the end: the last worker's report, or the queue found empty. */
  wallMs: number;
  results: WorkerResult[];
  /** CPU the bench process (the emulator) used meanwhile, s. */
  emulatorCpuSeconds: number;
  /** Share of all cores busy meanwhile, whoever used them (undefined off Linux). */
  machineBusyShare: number | undefined;
};

/**
 * Runs the given workers together against one queue. With `drain`, the run ends when the emulator's
 * queue is empty and the workers are then told to stop; otherwise each stops itself at spec.expect.
 */
export async function runWorkers(
  workers: Array<{ spec: WorkerSpec; env: Record<string, string> }>,
  logDir: string,
  drain?: { emu: Emulator; queue: string; timeoutMs: number },
): Promise<RunOutcome> {
  const running = workers.map((w) => start(w.spec, w.env, logDir));
  try {
    await Promise.all(running.map((r) => r.ready));
    const busy = machineBusy();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const r of running) r.child.send({ type: 'go' });
    let wallMs: number;
    let results: WorkerResult[];
    if (drain) {
      // A worker that fails (or reports before being told to stop) ends the run with its error.
      const never = new Promise<never>(() => {});
      const early = running.map((r) => r.result.then(() => never));
      const tEnd = await Promise.race([drain.emu.waitDrained(drain.queue, drain.timeoutMs), ...early]);
      wallMs = tEnd - t0;
      for (const r of running) r.child.send({ type: 'stop' });
      results = await Promise.all(running.map((r) => r.result));
    } else {
      results = await Promise.all(running.map((r) => r.result));
      wallMs = Math.max(...results.map((r) => r.wallMs));
    }
    const cpu = process.cpuUsage(cpu0);
    return { wallMs, results, emulatorCpuSeconds: (cpu.user + cpu.system) / 1e6, machineBusyShare: busy() };
  } finally {
    await Promise.all(running.map((r) => exited(r.child)));
  }
}

/** Waits for a worker to exit by itself (it does, right after reporting); kills it after a grace period. */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 8_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/**
 * One worker process warmed and stopped on an empty queue: at exit Node writes every module it compiled
 * (and every .ts file it stripped) to the compile cache, so the measured processes start as the image's
 * do, with no TypeScript stripper in memory.
 */
export async function fillCompileCache(ctx: BenchContext): Promise<void> {
  const q = ctx.emu.newQueue('compile-cache');
  await runWorkers([{ spec: { mode: 'pipeline', extractor: 'pool', sampleMs: ctx.opts.sampleMs, timeoutMs: 120_000 }, env: workerEnv(ctx, q.url) }], ctx.tmpRoot, { emu: ctx.emu, queue: q.name, timeoutMs: 120_000 });
}
