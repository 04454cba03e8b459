// Extract: hands the file to the CPU pool (by path; only clonable data crosses the thread boundary),
// stores the thumbnail, builds the document, then frees the temp file and its download budget. Bytes
// already extracted (same SHA-256: another key, a re-delivery) reuse that extraction (flow/extraction-cache.ts).
import { RetryableError, errorMessage } from '../errors.ts';
import type { Channel } from '../flow/channel.ts';
import type { ByteBudget } from '../flow/stage.ts';
import type { DocStatus, ExtractResult } from '../types.ts';
import type { StageOutcome } from '../telemetry/telemetry.ts';
import { nameOf } from '../ids.ts';
import type { Task } from '../flow/work.ts';
import type { Extraction } from '../flow/extraction-cache.ts';
import { extractedDocument, metadataDocument, unexpectedlyEmpty } from './document.ts';
import { type StageContext, seconds } from './context.ts';

export function extractHandler(ctx: StageContext, budget: ByteBudget, inExtraction: ByteBudget, toIndex: Channel<Task>) {
  return async (task: Task): Promise<void> => {
    const t0 = process.hrtime.bigint();
    const file = task.file!;
    let extraction: Extraction;
    let reused = false;
    try {
      const once = () => extractOnce(ctx, task, inExtraction);
      if (file.sha256 && ctx.cache && !task.spec.force) ({ value: extraction, reused } = await ctx.cache.get(file.sha256, once));
      else extraction = await once();
    } catch (err) {
      // The extractor reports bad files as a status; a throw means the pool itself failed (closed, crashed).
      release(task, budget);
      ctx.telemetry.stageItem('extract', 'retry', seconds(t0));
      await ctx.settle.finish(task, 'failed', new RetryableError(`extract ${task.spec.ref.key}: ${errorMessage(err)}`, { cause: err }));
      return;
    }
    if (reused && extraction.thumbnail) {
      const { thumbnail: from, ...rest } = extraction;
      extraction = { ...rest, ...(await ownThumbnail(ctx, task, from)) };
    }
    task.msg.ms.extract += seconds(t0) * 1000;
    const result = extraction.result;
    if (!reused && unexpectedlyEmpty(result)) {
      ctx.logger.warn({ messageId: task.msg.lease.id, key: task.spec.ref.key, contentType: result.contentType }, 'document extracted ok but has no text');
      ctx.telemetry.documentWithoutText();
    }
    task.doc = result.status === 'too_large' && !result.text
      ? metadataDocument(task, { size: file.size, status: 'too_large', ...(result.error ? { error: result.error } : {}), contentType: result.contentType })
      : extractedDocument(task, result, extraction.thumbnail);
    task.op = { kind: 'upsert', doc: task.doc };
    if (reused) ctx.telemetry.documentSkipped('same_content');
    else if (result.ocrPages) ctx.telemetry.pagesOcrd(result.ocrPages);
    release(task, budget);
    ctx.telemetry.stageItem('extract', reused ? 'skipped' : EXTRACT_OUTCOME[result.status], seconds(t0));
    await toIndex.push(task);
  };
}

/** The pool's extraction of this task's file, with its thumbnail stored under the task's document id. */
async function extractOnce(ctx: StageContext, task: Task, inExtraction: ByteBudget): Promise<Extraction> {
  const file = task.file!;
  // Memory follows document size (pdf.js holds the whole file and its images): two 50 MB PDFs are
  // never parsed side by side, while small documents keep both threads busy.
  const weight = await inExtraction.acquire(file.size);
  let result: ExtractResult;
  try {
    result = await ctx.extractor.extract({
      path: file.path,
      name: nameOf(task.spec.ref.key),
      ...(file.contentType ? { contentType: file.contentType } : {}),
      size: file.size,
      limits: ctx.opts.limits,
      ocrLangs: ctx.opts.ocrLangs,
      wantThumbnail: ctx.opts.wantThumbnails && ctx.thumbnails !== undefined,
    });
  } finally {
    inExtraction.release(weight);
  }
  let thumbnail: string | undefined;
  if (result.thumbnail && ctx.thumbnails) {
    try {
      thumbnail = await ctx.thumbnails.put(task.id, result.thumbnail);
    } catch (err) {
      ctx.logger.warn({ messageId: task.msg.lease.id, err }, 'thumbnail not stored');
    }
  }
  const { thumbnail: _bytes, ...rest } = result;
  return { result: rest, ...(thumbnail ? { thumbnail } : {}) };
}

/**
 * A document that reuses another key's extraction gets its own copy of the thumbnail, so removing
 * either document can delete its thumbnail without taking the other's.
 */
async function ownThumbnail(ctx: StageContext, task: Task, from: string): Promise<{ thumbnail?: string }> {
  if (!ctx.thumbnails) return {};
  try {
    return { thumbnail: await ctx.thumbnails.copy(from, task.id) };
  } catch (err) {
    ctx.logger.warn({ messageId: task.msg.lease.id, from, err }, 'thumbnail not copied');
    return {};
  }
}

/** How a document status counts in filesearch_stage_items_total{stage="extract"}. */
const EXTRACT_OUTCOME: Record<DocStatus, StageOutcome> = { ok: 'ok', partial: 'ok', failed: 'failed', unsupported: 'skipped', too_large: 'skipped', encrypted: 'skipped' };

function release(task: Task, budget: ByteBudget): void {
  const file = task.file;
  task.file = undefined;
  budget.release(task.reservedBytes);
  task.reservedBytes = 0;
  // Disposal is not awaited on the hot path; failures are harmless (the temp dir is private and swept at exit).
  void file?.dispose().catch(() => {});
}
