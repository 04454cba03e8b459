// Download: gives each upsert task a local file inside the private temp dir, within a byte budget. An
// upsert whose version the index already holds (same ETag/version, same extractor) ends here, unread.
// A remove task only checks that no newer object has taken the key (a stale remove is dropped).
// Gone or changed objects finish the task with nothing indexed; too-large objects are indexed by
// name with status too_large, unreadable ones (a permanent refusal) with status failed and the reason.
import { type WorkerError, RetryableError, TooLargeError, classifyDependencyError, errorMessage } from '../errors.ts';
import type { Channel } from '../flow/channel.ts';
import type { ByteBudget } from '../flow/stage.ts';
import type { Task } from '../flow/work.ts';
import { isUpToDate, metadataDocument } from './document.ts';
import { type StageContext, seconds } from './context.ts';

export function downloadHandler(ctx: StageContext, budget: ByteBudget, toExtract: Channel<Task>, toIndex: Channel<Task>) {
  return async (task: Task): Promise<void> => {
    const t0 = process.hrtime.bigint();
    const ref = task.spec.ref;
    const breaker = ctx.breaker;
    // Intake is paused for the blob store: hold the task instead of calling it (the breaker probes).
    if (breaker?.blocks('blobs')) {
      if (breaker.hold(task)) return;
      await ctx.settle.finish(task, 'failed', new RetryableError(`download ${ref.key} not attempted: ${breaker.readiness().reason ?? 'intake paused'}`));
      return;
    }
    /** A retryable failure of the blob store: counts toward the breaker, and the task may be held. */
    const blobsFailed = (e: WorkerError): boolean => {
      if (!breaker || !e.retryable) return false;
      breaker.failure('blobs', e, () => ctx.blobs.exists(ref));
      return breaker.hold(task);
    };
    if (task.spec.action === 'remove') {
      try {
        const exists = await ctx.blobs.exists(ref);
        breaker?.success('blobs');
        if (exists) {
          // A newer upload overtook this delete event: its own event (re)indexes the key.
          ctx.telemetry.stageItem('download', 'skipped', seconds(t0));
          await ctx.settle.finish(task, 'skipped');
          return;
        }
      } catch (err) {
        ctx.telemetry.stageItem('download', 'retry', seconds(t0));
        const e = classifyDependencyError(err, `check ${ref.key}`);
        if (blobsFailed(e)) return;
        await ctx.settle.finish(task, 'failed', e);
        return;
      }
      task.op = { kind: 'remove', id: task.id, ...(ref.sequencer ? { sequencer: ref.sequencer } : {}) };
      ctx.telemetry.stageItem('download', 'ok', seconds(t0));
      await toIndex.push(task);
      return;
    }

    if (!task.spec.force && (await alreadyIndexed(ctx, task))) {
      ctx.telemetry.documentSkipped('unchanged');
      ctx.telemetry.stageItem('download', 'skipped', seconds(t0));
      await ctx.settle.finish(task, 'skipped');
      return;
    }
    const limit = ctx.opts.limits.maxBytes;
    if (ref.size !== undefined && ref.size > limit) {
      task.doc = metadataDocument(task, { size: ref.size, status: 'too_large', error: new TooLargeError(ref.size, limit).message });
      task.op = { kind: 'upsert', doc: task.doc };
      ctx.telemetry.stageItem('download', 'skipped', seconds(t0));
      await toIndex.push(task);
      return;
    }
    task.reservedBytes = await budget.acquire(Math.min(ref.size ?? ctx.opts.unknownSizeReserve, limit));
    try {
      try {
        task.file = await ctx.blobs.download(ref, { dir: ctx.opts.tmpDir, maxBytes: limit });
      } catch (err) {
        // The temp dir vanished under us (a tmp cleaner, a sweep by an older worker): make it again, try once more.
        if (!(causeCode(err) === 'ENOENT' && (await ctx.tempDir?.recreate()))) throw err;
        ctx.logger.warn({ dir: ctx.opts.tmpDir }, 'temp dir was removed by someone else; made it again');
        task.file = await ctx.blobs.download(ref, { dir: ctx.opts.tmpDir, maxBytes: limit });
      }
    } catch (err) {
      budget.release(task.reservedBytes);
      task.reservedBytes = 0;
      const e: WorkerError = classifyDependencyError(err, `download ${ref.key}`);
      task.msg.ms.download += seconds(t0) * 1000;
      if (!e.retryable) breaker?.success('blobs'); // it answered: the object is the problem, not the store
      if (e instanceof TooLargeError) {
        task.doc = metadataDocument(task, { size: e.size, status: 'too_large', error: e.message });
        task.op = { kind: 'upsert', doc: task.doc };
        ctx.telemetry.stageItem('download', 'skipped', seconds(t0));
        await toIndex.push(task);
      } else if (e.code === 'NOT_FOUND' || e.code === 'STALE_EVENT') {
        // The object is gone or has changed since this event: a later event describes it.
        ctx.logger.info({ messageId: task.msg.lease.id, code: e.code }, 'object gone or changed; nothing to index');
        ctx.telemetry.stageItem('download', 'skipped', seconds(t0));
        await ctx.settle.finish(task, 'skipped');
      } else if (e.kind === 'permanent') {
        // The object exists but cannot be read, for a reason a retry will not change: store it by name
        // with the reason, so the message never ends with nothing written.
        task.doc = metadataDocument(task, { size: ref.size ?? 0, status: 'failed', error: e.message });
        task.op = { kind: 'upsert', doc: task.doc };
        ctx.telemetry.stageItem('download', 'failed', seconds(t0));
        await toIndex.push(task);
      } else {
        ctx.telemetry.stageItem('download', 'retry', seconds(t0));
        if (blobsFailed(e)) return;
        await ctx.settle.finish(task, 'failed', e);
      }
      return;
    }
    breaker?.success('blobs');
    task.reservedBytes = budget.resize(task.reservedBytes, task.file.size);
    task.msg.ms.download += seconds(t0) * 1000;
    ctx.telemetry.stageItem('download', 'ok', seconds(t0));
    await toExtract.push(task);
  };
}

/** The errno code of an error or of the first cause that has one. */
function causeCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code)) return e.code;
  }
  return undefined;
}

/** The index holds this version already. A failed lookup only costs the work: the object is processed. */
async function alreadyIndexed(ctx: StageContext, task: Task): Promise<boolean> {
  const ref = task.spec.ref;
  if (!ctx.lookup || (!ref.etag && !ref.versionId)) return false;
  try {
    return isUpToDate(await ctx.lookup(task.id), ref);
  } catch (err) {
    ctx.logger.warn({ messageId: task.msg.lease.id, err }, 'index lookup failed; processing the object');
    return false;
  }
}
