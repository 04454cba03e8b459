// 3. Full work and 5. pool scaling: the realistic mix uploaded to the emulator's S3, one event per
// file, then drained by (a) the sequential worker — one message at a time through the stage handlers,
// one pool thread, like the seed's worker.py — and (b) the pipeline; then the pipeline again with
// POOL_SIZE 1, 2, 4. Every run is its own worker process with its own queue and index.
import { basename, join } from 'node:path';
import type { StoredObject } from '../harness/emulator.ts';
import { mapLimit } from '../harness/map-limit.ts';
import { otherLoad, perMin, round, workerEnv, type BenchContext } from '../harness/context.ts';
import { corpusAvailable, CORPUS, examplePdf, fullMix, quickMix, type MixFile } from '../harness/corpus.ts';
import { writeTruncatedCopy } from '../harness/big-files.ts';
import { runWorkers } from '../harness/workers.ts';
import type { WorkerMode, WorkerResult, WorkerSpec } from '../harness/worker-protocol.ts';

export type WorkRun = {
  label: string;
  mode: WorkerMode;
  poolSize: number;
  docs: number;
  pages: number;
  ocrPages: number;
  wallSeconds: number;
  docsPerMin: number;
  pagesPerMin: number;
  /** Worker process CPU-seconds ÷ (wall × cores). */
  cpuUtilization: number;
  /** Mean share of the pool's threads that had a document. */
  poolBusy: number;
  peakRssMb: number;
  /** RSS once the pool was warm, before the first document. */
  rssAtReadyMb: number;
  warmSeconds: number;
  /** Share of the cores other processes on the machine used during the run. */
  otherLoad: number | undefined;
  statuses: Record<string, number>;
};

export type FullWorkResult = {
  mix: { documents: number; bytes: number; byKind: Record<string, number> };
  sequential: WorkRun;
  pipeline: WorkRun;
  sequentialDocsPerMin: number;
  pipelineDocsPerMin: number;
  sequentialPagesPerMin: number;
  pipelinePagesPerMin: number;
  ratio: number;
  cpuUtilization: number;
  sequentialCpuUtilization: number;
  ocrEngines?: OcrEngineWork[];
};

/** The full-work pipeline run once per OCR engine (issue 11): auto (native where installed) and wasm. */
export type OcrEngineWork = { engine: string; docsPerMin: number; pagesPerMin: number; ocrPages: number; peakRssMb: number; otherLoad: number | undefined; error?: string };

export type PoolScalingResult = {
  runs: Array<{ poolSize: number; docsPerMin: number; pagesPerMin: number; cpuUtilization: number; peakRssMb: number; otherLoad: number | undefined; error?: string }>;
};

export async function uploadMix(ctx: BenchContext, files: MixFile[], prefix: string): Promise<StoredObject[]> {
  // Keys keep the file name (the extractor detects types by extension and content).
  return mapLimit(files, 4, (f, i) => ctx.emu.putFile(`${prefix}/${f.kind.replace(/\s/g, '-')}/${String(i).padStart(3, '0')}-${basename(f.path)}`, f.path));
}

export type Drained = { r: WorkerResult; otherLoad: number | undefined };

export function toRun(label: string, d: Drained, poolSize: number, cores: number): WorkRun {
  const { r } = d;
  const c = r.counts;
  return {
    label,
    mode: r.mode,
    poolSize,
    docs: c.docs,
    pages: c.pages,
    ocrPages: c.ocrPages,
    wallSeconds: round(r.wallMs / 1000, 2),
    docsPerMin: round(perMin(c.docs, r.wallMs), 1),
    pagesPerMin: round(perMin(c.pages, r.wallMs), 1),
    cpuUtilization: round((r.cpuUserMs + r.cpuSystemMs) / (r.wallMs * cores), 3),
    poolBusy: round(r.poolBusy, 2),
    peakRssMb: round(Math.max(r.peakRssSampledMb, r.peakRssKernelMb)),
    rssAtReadyMb: round(r.rssAtReadyMb),
    warmSeconds: round(r.warmMs / 1000, 1),
    otherLoad: d.otherLoad,
    statuses: c.statuses as Record<string, number>,
  };
}

export async function drainWith(ctx: BenchContext, objects: StoredObject[], mode: WorkerMode, env: Record<string, string>, timeoutMs = 600_000, spec: Partial<WorkerSpec> = {}): Promise<Drained> {
  const q = ctx.emu.newQueue(`work-${mode}`);
  ctx.emu.enqueueUpserts(q.name, objects);
  const out = await runWorkers(
    [{ spec: { mode, extractor: 'pool', expect: objects.length, sampleMs: ctx.opts.sampleMs, timeoutMs, ...spec }, env: workerEnv(ctx, q.url, env) }],
    ctx.tmpRoot,
  );
  const r = out.results[0]!;
  if (r.incomplete) throw new Error(`${mode} worker finished only ${r.counts.deleted} of ${objects.length} messages within ${timeoutMs / 1000} s`);
  return { r, otherLoad: otherLoad(out, ctx.cores) };
}

export async function runFullWork(ctx: BenchContext): Promise<{ fullPipeline: FullWorkResult; poolScaling: PoolScalingResult }> {
  let files: MixFile[];
  if (ctx.opts.fullWork.mix === 'full') {
    if (!corpusAvailable()) throw new Error(`the shared corpus is not at ${CORPUS}: full work needs it (run with --quick for the examples-only mix)`);
    files = fullMix();
  } else {
    const broken = join(ctx.tmpRoot, 'truncated.pdf');
    await writeTruncatedCopy(examplePdf(), broken);
    files = quickMix(broken);
  }
  ctx.progress(`full work: uploading ${files.length} documents`);
  const objects = await uploadMix(ctx, files, 'full');
  const byKind: Record<string, number> = {};
  for (const f of files) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
  const thumbs = { THUMBNAIL_URL: `s3://${ctx.emu.fixture.bucket}/thumbnails/` };

  ctx.progress('full work: sequential worker (one message at a time, one pool thread)');
  const seq = toRun('sequential', await drainWith(ctx, objects, 'sequential', { ...thumbs, POOL_SIZE: '1', QUEUE_WAIT_SECONDS: '10' }), 1, ctx.cores);
  ctx.progress(`full work: pipeline (POOL_SIZE ${ctx.cores})`);
  const pipe = toRun('pipeline', await drainWith(ctx, objects, 'pipeline', { ...thumbs, POOL_SIZE: String(ctx.cores) }), ctx.cores, ctx.cores);
  if (seq.docs !== pipe.docs) ctx.progress(`full work: note: sequential indexed ${seq.docs} documents, pipeline ${pipe.docs}`);

  const ocrEngines: OcrEngineWork[] = [{ engine: 'auto', docsPerMin: pipe.docsPerMin, pagesPerMin: pipe.pagesPerMin, ocrPages: pipe.ocrPages, peakRssMb: pipe.peakRssMb, otherLoad: pipe.otherLoad }];
  ctx.progress(`full work: pipeline with OCR_ENGINE=wasm (POOL_SIZE ${ctx.cores})`);
  try {
    const w = toRun('pipeline wasm', await drainWith(ctx, objects, 'pipeline', { ...thumbs, POOL_SIZE: String(ctx.cores), OCR_ENGINE: 'wasm' }), ctx.cores, ctx.cores);
    ocrEngines.push({ engine: 'wasm', docsPerMin: w.docsPerMin, pagesPerMin: w.pagesPerMin, ocrPages: w.ocrPages, peakRssMb: w.peakRssMb, otherLoad: w.otherLoad });
  } catch (err) {
    ocrEngines.push({ engine: 'wasm', docsPerMin: 0, pagesPerMin: 0, ocrPages: 0, peakRssMb: 0, otherLoad: undefined, error: (err instanceof Error ? err.message : String(err)).split('\n')[0]! });
  }

  const scaling: PoolScalingResult = { runs: [] };
  for (const size of ctx.opts.fullWork.poolSizes) {
    let run = pipe;
    if (size !== ctx.cores) {
      ctx.progress(`pool scaling: POOL_SIZE ${size}`);
      try {
        run = toRun(`pool ${size}`, await drainWith(ctx, objects, 'pipeline', { ...thumbs, POOL_SIZE: String(size) }), size, ctx.cores);
      } catch (err) {
        // One failed size must not lose the others (or the full-work figures above).
        const error = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
        ctx.progress(`pool scaling: POOL_SIZE ${size} FAILED: ${error}`);
        scaling.runs.push({ poolSize: size, docsPerMin: 0, pagesPerMin: 0, cpuUtilization: 0, peakRssMb: 0, otherLoad: undefined, error });
        continue;
      }
    }
    scaling.runs.push({ poolSize: size, docsPerMin: run.docsPerMin, pagesPerMin: run.pagesPerMin, cpuUtilization: run.cpuUtilization, peakRssMb: run.peakRssMb, otherLoad: run.otherLoad });
  }

  return {
    fullPipeline: {
      mix: { documents: files.length, bytes: objects.reduce((n, o) => n + o.size, 0), byKind },
      sequential: seq,
      pipeline: pipe,
      sequentialDocsPerMin: seq.docsPerMin,
      pipelineDocsPerMin: pipe.docsPerMin,
      sequentialPagesPerMin: seq.pagesPerMin,
      pipelinePagesPerMin: pipe.pagesPerMin,
      ratio: round(pipe.docsPerMin / seq.docsPerMin, 2),
      cpuUtilization: pipe.cpuUtilization,
      sequentialCpuUtilization: seq.cpuUtilization,
      ocrEngines,
    },
    poolScaling: scaling,
  };
}
