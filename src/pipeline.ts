// The pipeline, read top to bottom as the picture:
//
//   source ─receive─▶[download q]─download─▶[extract q]─extract (pool)─▶[index q]─index (batched)─┐
//      ▲                  (remove / too large go straight to the index q)                            │
//      └── heartbeat while leased (inside the source) ◀── settle: all tasks of a message done ◀─────┘
//                                                        ok ─▶[delete q]─delete (batches of 10)
//                                                        retryable / malformed ─▶ release with backoff
//
// Each arrow into a [queue] is `await channel.push()`: a full queue stops the stage before it, and
// the receive pollers wait for room before they poll, so memory stays bounded.
import { Channel, ChannelClosedError } from './flow/channel.ts';
import { OwnedTempDir } from './flow/temp-dir.ts';
import { RetryableError, errorMessage } from './errors.ts';
import { Settler } from './flow/settle.ts';
import { ExtractionCache } from './flow/extraction-cache.ts';
import { batchedStateLookup } from './flow/state-lookup.ts';
import { ByteBudget, runStage } from './flow/stage.ts';
import type { PipelineDeps, PipelineOptions, StageContext } from './stages/context.ts';
import { runDelete } from './stages/delete.ts';
import { downloadHandler } from './stages/download.ts';
import { extractHandler } from './stages/extract.ts';
import { runIndex } from './stages/index.ts';
import { runReceive } from './stages/receive.ts';
import type { Lease } from './types.ts';
import type { Task } from './flow/work.ts';

export type { PipelineDeps, PipelineOptions } from './stages/context.ts';

export type PipelineState = 'starting' | 'running' | 'draining' | 'stopped';

export class Pipeline {
  readonly deps: PipelineDeps;
  readonly opts: PipelineOptions;
  readonly queues: { download: Channel<Task>; extract: Channel<Task>; index: Channel<Task>; delete: Channel<Lease> };
  #state: PipelineState = 'starting';
  #receiveAbort = new AbortController();
  #done: Promise<void> | undefined;
  #settler: Settler | undefined;
  #tmpDir: OwnedTempDir | undefined;
  #stopping: Promise<void> | undefined;
  #deleted: Promise<void> | undefined;
  #health: StageContext['health'] = { receiveError: undefined };

  constructor(deps: PipelineDeps, opts: PipelineOptions) {
    this.deps = deps;
    this.opts = opts;
    const cap = opts.queueCapacity;
    this.queues = {
      download: new Channel<Task>('download', cap),
      extract: new Channel<Task>('extract', cap),
      index: new Channel<Task>('index', Math.max(cap, opts.indexBatchSize)),
      // Leases are tiny; a roomy delete queue keeps settle from ever waiting on SQS.
      delete: new Channel<Lease>('delete', 10_000),
    };
    for (const q of Object.values(this.queues)) {
      const ch = q as Channel<unknown>;
      deps.telemetry.watchQueue(ch.name, () => ({ depth: ch.depth, capacity: ch.capacity }));
    }
    deps.telemetry.watchLeases(() => deps.source.inFlight());
    deps.telemetry.watchPool(() => deps.extractor.stats());
  }

  get state(): PipelineState {
    return this.#state;
  }

  /** Starts every stage; resolves once running. `done()` resolves when the pipeline has stopped. */
  async start(): Promise<void> {
    if (this.#done) throw new Error('pipeline already started');
    const { deps, opts, queues } = this;
    // A private dir for downloads, locked so that no other worker's start-up sweep removes it.
    const tmp = await OwnedTempDir.create(opts.tmpDir, deps.logger);
    this.#tmpDir = tmp;
    const settle = new Settler(deps.source, queues.delete, deps.telemetry, deps.logger, opts);
    this.#settler = settle;
    const ctx: StageContext = { ...deps, opts: { ...opts, tmpDir: tmp.path }, settle, health: this.#health, tempDir: tmp, cache: new ExtractionCache(deps.index), lookup: batchedStateLookup(deps.index) };
    const budget = new ByteBudget(opts.downloadBytesBudget);
    const signal = this.#receiveAbort.signal;

    // Each stage closes the queue after it once its input is drained, so shutdown flows downstream.
    const receive = runReceive(ctx, queues.download, signal).finally(() => queues.download.close());
    // A handler that throws (a bug, or a queue closed at the shutdown deadline) fails only its task.
    const onError = (task: Task, err: unknown) => {
      if (task.reservedBytes) budget.release(task.reservedBytes);
      task.reservedBytes = 0;
      return settle.finish(task, 'failed', new RetryableError(`internal: ${errorMessage(err)}`, { cause: err }));
    };
    // Held tasks go back where they failed: to the index queue with their document, or to download again.
    if (deps.breaker) deps.breaker.resume = (tasks) => void this.#requeue(tasks, settle);
    const download = runStage(queues.download, opts.downloadConcurrency, downloadHandler(ctx, budget, queues.extract, queues.index), onError).finally(() =>
      queues.extract.close(),
    );
    const extract = runStage(queues.extract, opts.extractConcurrency, extractHandler(ctx, budget, new ByteBudget(opts.extractBytesBudget), queues.index), onError);
    // Both download (removes, too-large) and extract feed the index queue: close it when both are done.
    const indexInputDone = Promise.all([download, extract]).then(() => queues.index.close());
    const indexed = Promise.all([runIndex(ctx, queues.index), indexInputDone]);
    const deleted = runDelete(ctx, queues.delete);
    this.#deleted = deleted;
    this.#done = (async () => {
      await Promise.all([receive, download, extract, indexed]);
      queues.delete.close();
      await deleted;
    })();
    this.#done.catch((err) => deps.logger.error({ err }, 'pipeline failed'));
    this.#state = 'running';
  }

  async #requeue(tasks: Task[], settle: Settler): Promise<void> {
    for (const task of tasks) {
      try {
        if (task.op) await this.queues.index.push(task);
        else await this.queues.download.push(task);
      } catch (err) {
        if (!(err instanceof ChannelClosedError)) throw err;
        await settle.finish(task, 'failed', new RetryableError('shutting down: a held task was not retried'));
      }
    }
  }

  /** For /readyz: running, the pool warm, the queue answering, intake not paused, downloads writable. Not ready while draining. */
  readiness(): { ready: boolean; reason?: string } {
    if (this.#state !== 'running') return { ready: false, reason: `pipeline is ${this.#state}` };
    const breaker = this.deps.breaker?.readiness();
    if (breaker?.open) return { ready: false, reason: breaker.reason ?? 'intake paused' };
    if (!this.deps.extractor.stats().warm) return { ready: false, reason: 'extract pool is warming up' };
    if (this.#health.receiveError) return { ready: false, reason: `queue not reachable: ${this.#health.receiveError}` };
    // Downloads cannot be written: take no work until the dir is back (problem() starts recreating it).
    const tmp = this.#tmpDir?.problem();
    if (tmp) return { ready: false, reason: tmp };
    return { ready: true };
  }

  /** Resolves when every stage has ended (after stop(), or when a finite source is exhausted). */
  async done(): Promise<void> {
    await this.#done;
  }

  /** Resolves when a finite source is exhausted and every message it gave is settled. */
  async drainFinite(): Promise<void> {
    // The pollers return by themselves once the source is exhausted; the queues then close in order.
    await this.#done;
    this.#state = 'stopped';
  }

  /**
   * Graceful stop: stop receiving (aborts the idle long poll), let the stages drain in order, and at
   * the deadline release every message not yet settled (visibility 0) so another worker takes it.
   */
  stop(deadlineMs = this.opts.shutdownTimeoutMs): Promise<void> {
    this.#stopping ??= this.#stop(deadlineMs);
    return this.#stopping;
  }

  async #stop(deadlineMs: number): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'draining';
    this.#receiveAbort.abort();
    const { deps, queues } = this;
    // Held tasks will not be retried now: their messages go back with the usual backoff.
    const held = deps.breaker?.stop() ?? [];
    await Promise.all(held.map((t) => this.#settler?.finish(t, 'failed', new RetryableError('shutting down while intake was paused'))));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => { timer = setTimeout(resolve, deadlineMs, 'deadline'); });
    const drained = this.#done ? this.#done.then(() => 'drained' as const) : Promise.resolve('drained' as const);
    const how = await Promise.race([drained, deadline]);
    clearTimeout(timer);
    if (how === 'deadline') {
      // Work still queued or in a stage is abandoned; its messages become visible again at once.
      queues.download.drainNow();
      queues.extract.drainNow();
      const released = (await this.#settler?.releaseAll()) ?? 0;
      deps.logger.warn({ released }, 'shutdown deadline reached; unfinished messages released');
      queues.download.close();
      queues.extract.close();
      queues.index.close();
      queues.delete.close();
      // Flush the deletes of what settled before the deadline; bounded so a stuck SQS cannot hold the exit.
      await Promise.race([this.#deleted?.catch(() => {}), new Promise((r) => setTimeout(r, 3000).unref())]);
    }
    this.#state = 'stopped';
  }

  /** Frees the private temp dir. Call after stop() and after closing the source/extractor/index. */
  async cleanup(): Promise<void> {
    await this.#tmpDir?.remove();
  }

  /** For an exit that cannot wait (a second signal): remove the temp dir synchronously. */
  cleanupSync(): void {
    this.#tmpDir?.removeSync();
  }
}
