// What every bench section is given, and the environment its worker processes run with.
import os from 'node:os';
import { join } from 'node:path';
import { startEnv } from '../../src/config.ts';
import type { Emulator } from './emulator.ts';
import type { BenchOptions } from './options.ts';

export type BenchContext = {
  emu: Emulator;
  opts: BenchOptions;
  /** Private temp root for this bench run (indexes, downloads, generated files); removed at the end. */
  tmpRoot: string;
  cores: number;
  /** Progress line on stderr. */
  progress(msg: string): void;
};

let runs = 0;

/**
 * Node's compile cache for the worker processes (Node's own default place): the image ships one filled
 * at build time, so a worker in production loads no TypeScript stripper; fillCompileCache() fills this one.
 */
export const COMPILE_CACHE_DIR = join(os.tmpdir(), 'node-compile-cache');

/**
 * The environment `filesearch-worker run` would get in production, pointed at the emulator: only
 * the knobs a deployment sets. `sqsEndpoint` puts the delaying proxy in front of SQS (S3 stays direct).
 */
export function workerEnv(ctx: BenchContext, queueUrl: string, extra: Record<string, string> = {}, sqsEndpoint?: string): Record<string, string> {
  const run = `run-${++runs}`;
  return {
    // How the image starts the process: malloc settings and the compile cache.
    ...startEnv(),
    NODE_COMPILE_CACHE: COMPILE_CACHE_DIR,
    ...ctx.emu.fixture.env,
    QUEUE_URL: queueUrl,
    ...(sqsEndpoint ? { AWS_ENDPOINT_URL_SQS: sqsEndpoint } : {}),
    INDEX_URL: `sqlite:${join(ctx.tmpRoot, `${run}.db`)}`,
    TMPDIR: ctx.tmpRoot,
    METRICS_PORT: '0',
    // The production default: the pipeline's one log line per message is part of its cost.
    LOG_LEVEL: 'info',
    // A retried message would otherwise come back after 10 s and stall a timed run; none is expected.
    RETRY_BASE_SECONDS: '1',
    RETRY_MAX_SECONDS: '5',
    ...extra,
  };
}

/** Share of the cores used by neither the workers nor the bench process (other work on the machine). */
export function otherLoad(out: { wallMs: number; results: Array<{ cpuUserMs: number; cpuSystemMs: number }>; emulatorCpuSeconds: number; machineBusyShare: number | undefined }, cores: number): number | undefined {
  if (out.machineBusyShare === undefined) return undefined;
  const ours = (out.results.reduce((n, r) => n + r.cpuUserMs + r.cpuSystemMs, 0) + out.emulatorCpuSeconds * 1000) / (out.wallMs * cores);
  return round(Math.max(0, out.machineBusyShare - ours), 2);
}

export const perMin = (count: number, ms: number): number => (ms > 0 ? (count * 60_000) / ms : 0);
export const round = (x: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
