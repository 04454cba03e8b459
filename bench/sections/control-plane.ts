// 1. Control plane and 6. scale-out: tiny objects, a no-op extractor, so what is measured is how the
// worker talks to SQS (receive, delete, visibility) and how much fixed cost each message carries.
// Both run in worker processes against the emulator, on bare loopback and behind a proxy that adds
// a round trip to every SQS call.
import { startDelayProxy } from '../harness/delay-proxy.ts';
import type { StoredObject } from '../harness/emulator.ts';
import { mapLimit } from '../harness/map-limit.ts';
import { otherLoad, perMin, round, workerEnv, type BenchContext } from '../harness/context.ts';
import { runWorkers } from '../harness/workers.ts';
import type { WorkerMode } from '../harness/worker-protocol.ts';

export type ControlPlaneResult = {
  seedLoopMsgsPerMin: number;
  pipelineMsgsPerMin: number;
  ratio: number;
  messages: { seedLoop: number; pipeline: number };
  /** Worker CPU per message, ms: what each design spends on one message. */
  cpuMsPerMsg: { seedLoop: number; pipeline: number };
  /** msgs/min of every run; the figures above are the best. */
  runs: { seedLoop: number[]; pipeline: number[] };
  /** Share of the cores other processes used during the reported runs. */
  otherLoad: { seedLoop: number | undefined; pipeline: number | undefined };
};
export type ControlPlaneRttResult = ControlPlaneResult & { rttMs: number };
export type ScaleOutResult = {
  rttMs: number;
  messages: number;
  runs: Array<{
    processes: number;
    msgsPerMin: number;
    speedup: number;
    /** Messages each process deleted. */
    perProcess: number[];
    /** Worker processes' CPU ÷ (wall × cores). */
    workerCpuShare: number;
    /** The bench process's (emulator + proxy) CPU ÷ (wall × cores): it shares the cores. */
    emulatorCpuShare: number;
    /** Share of the cores other processes on the machine used meanwhile. */
    otherLoad: number | undefined;
  }>;
};

/** Uploads `count` tiny objects once; every control-plane run sends events for a prefix of them. */
export async function uploadTinyObjects(ctx: BenchContext, count: number): Promise<StoredObject[]> {
  const keys = Array.from({ length: count }, (_, i) => `control-plane/note-${String(i).padStart(6, '0')}.txt`);
  return mapLimit(keys, 16, (key, i) => ctx.emu.putBytes(key, `tiny object ${i}\n`, 'text/plain'));
}

/** The best of `repeats` runs, and every run's rate. */
async function bestRun(ctx: BenchContext, objects: StoredObject[], mode: WorkerMode, count: number, sqsEndpoint?: string) {
  const runs = [];
  for (let i = 0; i < ctx.opts.controlPlane.repeats; i++) runs.push(await oneRun(ctx, objects, mode, count, sqsEndpoint));
  const best = runs.reduce((a, b) => (b.msgsPerMin > a.msgsPerMin ? b : a));
  return { ...best, all: runs.map((r) => round(r.msgsPerMin)) };
}

async function oneRun(ctx: BenchContext, objects: StoredObject[], mode: WorkerMode, count: number, sqsEndpoint?: string) {
  const q = ctx.emu.newQueue(`cp-${mode}`);
  ctx.emu.enqueueUpserts(q.name, objects.slice(0, count));
  const extra: Record<string, string> = mode === 'seed' ? { QUEUE_WAIT_SECONDS: '10' } : {};
  const out = await runWorkers(
    [{ spec: { mode, extractor: 'noop', expect: count, sampleMs: ctx.opts.sampleMs, timeoutMs: 300_000 }, env: workerEnv(ctx, q.url, extra, sqsEndpoint) }],
    ctx.tmpRoot,
  );
  const r = out.results[0]!;
  if (r.incomplete) throw new Error(`${mode} run deleted only ${r.counts.deleted} of ${count} messages before its deadline`);
  return { msgsPerMin: perMin(r.counts.deleted, r.wallMs), cpuMsPerMsg: (r.cpuUserMs + r.cpuSystemMs) / Math.max(1, r.counts.deleted), otherLoad: otherLoad(out, ctx.cores) };
}

async function compare(ctx: BenchContext, objects: StoredObject[], seedCount: number, pipelineCount: number, sqsEndpoint?: string): Promise<ControlPlaneResult> {
  const seed = await bestRun(ctx, objects, 'seed', seedCount, sqsEndpoint);
  const pipe = await bestRun(ctx, objects, 'pipeline', pipelineCount, sqsEndpoint);
  return {
    seedLoopMsgsPerMin: round(seed.msgsPerMin),
    pipelineMsgsPerMin: round(pipe.msgsPerMin),
    ratio: round(pipe.msgsPerMin / seed.msgsPerMin, 2),
    messages: { seedLoop: seedCount, pipeline: pipelineCount },
    cpuMsPerMsg: { seedLoop: round(seed.cpuMsPerMsg, 3), pipeline: round(pipe.cpuMsPerMsg, 3) },
    runs: { seedLoop: seed.all, pipeline: pipe.all },
    otherLoad: { seedLoop: seed.otherLoad, pipeline: pipe.otherLoad },
  };
}

export async function runControlPlane(ctx: BenchContext): Promise<{ controlPlane: ControlPlaneResult; controlPlaneRtt: ControlPlaneRttResult; scaleOut: ScaleOutResult }> {
  const o = ctx.opts.controlPlane;
  const need = Math.max(o.seedMessages, o.pipelineMessages, o.seedMessagesRtt, o.pipelineMessagesRtt, ctx.opts.scaleOut.messages);
  ctx.progress(`control plane: uploading ${need} tiny objects`);
  const objects = await uploadTinyObjects(ctx, need);

  ctx.progress('control plane: bare loopback');
  const controlPlane = await compare(ctx, objects, o.seedMessages, o.pipelineMessages);

  const proxy = await startDelayProxy(ctx.emu.fixture.endpoint, ctx.opts.rttMs);
  try {
    ctx.progress(`control plane: ${ctx.opts.rttMs} ms per SQS call`);
    const rtt = await compare(ctx, objects, o.seedMessagesRtt, o.pipelineMessagesRtt, proxy.url);
    const controlPlaneRtt = { rttMs: ctx.opts.rttMs, ...rtt };

    const scaleOut: ScaleOutResult = { rttMs: ctx.opts.rttMs, messages: ctx.opts.scaleOut.messages, runs: [] };
    for (const n of ctx.opts.scaleOut.processes) {
      ctx.progress(`scale-out: ${n} worker process${n > 1 ? 'es' : ''} on one queue`);
      const q = ctx.emu.newQueue(`scale-${n}`);
      ctx.emu.enqueueUpserts(q.name, objects.slice(0, scaleOut.messages));
      const workers = Array.from({ length: n }, () => ({
        spec: { mode: 'pipeline' as const, extractor: 'noop' as const, sampleMs: ctx.opts.sampleMs, timeoutMs: 600_000 },
        env: workerEnv(ctx, q.url, {}, proxy.url),
      }));
      const out = await runWorkers(workers, ctx.tmpRoot, { emu: ctx.emu, queue: q.name, timeoutMs: 300_000 });
      const rate = perMin(scaleOut.messages, out.wallMs);
      const base = scaleOut.runs[0]?.msgsPerMin ?? rate;
      scaleOut.runs.push({
        processes: n,
        msgsPerMin: round(rate),
        speedup: round(rate / base, 2),
        perProcess: out.results.map((r) => r.counts.deleted),
        workerCpuShare: round(out.results.reduce((n, r) => n + r.cpuUserMs + r.cpuSystemMs, 0) / (out.wallMs * ctx.cores), 2),
        emulatorCpuShare: round(out.emulatorCpuSeconds / ((out.wallMs / 1000) * ctx.cores), 2),
        otherLoad: otherLoad(out, ctx.cores),
      });
    }
    return { controlPlane, controlPlaneRtt, scaleOut };
  } finally {
    await proxy.close();
  }
}
