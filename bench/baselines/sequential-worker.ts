// The sequential worker of the full-work comparison: the design of the seed's worker.py — take a few
// messages, then carry ONE message at a time through download, extract, index and delete before
// touching the next — built from the pipeline's own stage handlers (downloadHandler, extractHandler,
// the index write and Settler), the same adapters and the same extract pool. Nothing overlaps: while
// a document is being extracted nothing is downloaded, indexed or deleted. It is the pipeline's code
// minus the pipeline, so the ratio isolates what overlapping and batching buy.
//
// Why not the Pipeline with every concurrency set to 1? Its stages would still run side by side (one
// document downloading while another is extracted and a third indexed), which a one-loop worker never
// does; that would flatter the baseline.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Channel } from '../../src/flow/channel.ts';
import { RetryableError, errorMessage } from '../../src/errors.ts';
import { documentId, sourceOf } from '../../src/ids.ts';
import type { PipelineDeps, PipelineOptions } from '../../src/pipeline.ts';
import { Settler } from '../../src/flow/settle.ts';
import { ByteBudget } from '../../src/flow/stage.ts';
import type { StageContext } from '../../src/stages/context.ts';
import { downloadHandler } from '../../src/stages/download.ts';
import { extractHandler } from '../../src/stages/extract.ts';
import type { Lease } from '../../src/types.ts';
import { newMessageState, type Task } from '../../src/flow/work.ts';

export type SequentialOptions = {
  /** Messages per receive; the seed took 5 and worked through them one by one. */
  receiveBatch: number;
  signal: AbortSignal;
};

export async function runSequentialWorker(deps: PipelineDeps, opts: PipelineOptions, o: SequentialOptions): Promise<void> {
  const tmpDir = await mkdtemp(join(opts.tmpDir, 'filesearch-seq-'));
  const toExtract = new Channel<Task>('extract', 1);
  const toIndex = new Channel<Task>('index', 1);
  const deletes = new Channel<Lease>('delete', 100);
  const settle = new Settler(deps.source, deletes, deps.telemetry, deps.logger, opts);
  const ctx: StageContext = { ...deps, opts: { ...opts, tmpDir }, settle, health: { receiveError: undefined } };
  const budget = new ByteBudget(opts.downloadBytesBudget);
  const download = downloadHandler(ctx, budget, toExtract, toIndex);
  const extract = extractHandler(ctx, budget, new ByteBudget(opts.extractBytesBudget), toIndex);
  try {
    while (!o.signal.aborted) {
      const deliveries = await deps.source.receive(o.receiveBatch, o.signal);
      for (const d of deliveries) {
        const msg = newMessageState(d.lease, d.jobs?.length ?? 0);
        settle.track(msg);
        if (d.malformed) await settle.malformed(msg, d.malformed);
        else if (d.jobs.length === 0) await settle.empty(msg);
        else {
          for (const spec of d.jobs) {
            msg.sources.push(sourceOf(spec.ref.bucket, spec.ref.key));
            const task: Task = { msg, spec, id: documentId(spec.ref.bucket, spec.ref.key), reservedBytes: 0 };
            // Each handler hands its task on through a one-slot channel; take it straight back out.
            await download(task);
            if (toExtract.depth) await extract(await take(toExtract));
            if (toIndex.depth) await indexOne(ctx, await take(toIndex));
          }
        }
        // One DeleteMessage per finished message, before the next message starts.
        while (deletes.depth) {
          const lease = await take(deletes);
          const { failed } = await deps.source.ack([lease]);
          if (failed.length === 0) deps.telemetry.messagesDeleted(1);
        }
      }
    }
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

async function take<T>(ch: Channel<T>): Promise<T> {
  const r = await ch.pull();
  if (r.done) throw new Error(`channel ${ch.name} closed`);
  return r.value;
}

/** The index stage's write for a batch of one, settling the task by its result. */
async function indexOne(ctx: StageContext, task: Task): Promise<void> {
  let ok = false;
  let stale = false;
  let error;
  try {
    const [r] = await ctx.index.write([task.op!]);
    if (r?.ok) {
      ok = true;
      stale = r.stale === true;
    } else error = r?.error ?? new RetryableError('index returned no result for this op');
  } catch (err) {
    error = new RetryableError(`index write: ${errorMessage(err)}`, { cause: err });
  }
  await ctx.settle.finish(task, ok ? (stale ? 'skipped' : 'ok') : 'failed', error);
}
