// `reconcile s3://bucket[/prefix]`: brings the index back in line with the bucket in one pass, for
// events that were lost. Documents whose object is gone are removed; objects the index lacks are sent
// to the queue (or only reported without QUEUE_URL). --dry-run prints what it would do. The index's
// keys under the prefix are held in memory while the bucket is listed (about 100 bytes a document).
import type { Config } from '../config.ts';
import { sourceOf } from '../ids.ts';
import type { Logger } from '../telemetry/log.ts';
import type { IndexOp, StoredState } from '../types.ts';
import { listObjects } from '../adapters/s3-inventory.ts';
import { openSync, parseS3Target, progressLine, type SyncOverrides } from './bucket-sync.ts';

export type ReconcileOptions = { target: string; dryRun: boolean; maxRate: number };
export type ReconcileCounts = { listed: number; indexed: number; gone: number; removed: number; missing: number; sent: number };

const REMOVE_BATCH = 100;

export async function runReconcileCommand(config: Config, logger: Logger, o: ReconcileOptions, overrides: SyncOverrides = {}): Promise<{ code: number; counts: ReconcileCounts }> {
  const { bucket, prefix } = parseS3Target(o.target);
  const sync = await openSync(config, logger, overrides);
  const counts: ReconcileCounts = { listed: 0, indexed: 0, gone: 0, removed: 0, missing: 0, sent: 0 };
  const progress = progressLine(() => `indexed ${counts.indexed} · listed ${counts.listed} · not indexed ${counts.missing} · removed ${counts.removed}`);
  let code = 0;
  try {
    const scan = sync.index.scan;
    if (!scan) throw new Error(`the ${sync.index.kind} index cannot list its documents`);
    const indexed = new Map<string, StoredState>();
    for await (const s of scan.call(sync.index, bucket, prefix)) indexed.set(s.key, s);
    counts.indexed = indexed.size;

    const sender = o.dryRun ? undefined : sync.sender(o.maxRate);
    for await (const page of listObjects(sync.aws.s3, bucket, prefix)) {
      counts.listed += page.length;
      for (const ref of page) {
        if (indexed.delete(ref.key)) continue;
        counts.missing++;
        if (o.dryRun || !sender) console.log(`not indexed ${sourceOf(bucket, ref.key)}`);
        else await sender.add({ ref });
      }
    }
    if (sender) {
      await sender.flush();
      counts.sent = sender.sent;
    }

    // What is left in the index has no object any more.
    const gone = [...indexed.values()];
    counts.gone = gone.length;
    for (const s of gone) if (o.dryRun) console.log(`remove ${sourceOf(bucket, s.key)}`);
    if (!o.dryRun) {
      for (let i = 0; i < gone.length; i += REMOVE_BATCH) {
        const ids = gone.slice(i, i + REMOVE_BATCH).map((s) => s.id);
        // Thumbnails first: a document whose thumbnail could not be deleted stays, so a re-run retries both.
        try {
          await sync.thumbnails?.remove(ids);
        } catch (err) {
          code = 1;
          logger.warn({ err, documents: ids.length }, 'thumbnails of deleted objects could not be deleted; their documents are kept; run reconcile again');
          continue;
        }
        const results = await sync.index.write(ids.map((id): IndexOp => ({ kind: 'remove', id })));
        const failed = results.filter((r) => !r.ok);
        counts.removed += results.length - failed.length;
        if (failed.length) {
          code = 1;
          logger.warn({ failed: failed.length }, 'some documents could not be removed; run reconcile again');
        }
      }
    }
  } finally {
    progress.stop();
    await sync.close();
  }
  const gone = o.dryRun ? `would remove ${counts.gone}` : `removed ${counts.removed}`;
  const missing = counts.sent ? `sent the ${counts.sent} not indexed to the queue` : `${counts.missing} not indexed${o.dryRun || counts.missing === 0 ? '' : ' (set QUEUE_URL to send them, or run backfill)'}`;
  console.log(`reconcile s3://${bucket}/${prefix}: ${counts.listed} objects, ${counts.indexed} documents; ${gone} of deleted objects; ${missing}`);
  return { code, counts };
}
