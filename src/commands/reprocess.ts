// `reprocess s3://bucket[/prefix] --status failed,partial | --below-version N`: sends indexed documents
// back through the worker — the day a new reader arrives or a limit is raised. Messages carry
// "force": the worker redoes them even though the index holds this version and the same bytes.
import type { Config } from '../config.ts';
import { sourceOf } from '../ids.ts';
import type { Logger } from '../telemetry/log.ts';
import type { DocStatus } from '../types.ts';
import { openSync, parseS3Target, progressLine, type SyncOverrides } from './bucket-sync.ts';

export type ReprocessOptions = { target: string; statuses: DocStatus[]; belowVersion: number | undefined; dryRun: boolean; maxRate: number };
export type ReprocessCounts = { scanned: number; selected: number; sent: number };

export async function runReprocessCommand(config: Config, logger: Logger, o: ReprocessOptions, overrides: SyncOverrides = {}): Promise<{ code: number; counts: ReprocessCounts }> {
  const { bucket, prefix } = parseS3Target(o.target);
  if (o.statuses.length === 0 && o.belowVersion === undefined) throw new Error('reprocess: give --status and/or --below-version');
  const sync = await openSync(config, logger, overrides);
  const counts: ReprocessCounts = { scanned: 0, selected: 0, sent: 0 };
  const progress = progressLine(() => `scanned ${counts.scanned} · selected ${counts.selected} · sent ${counts.sent}`);
  const statuses = new Set(o.statuses);
  try {
    const scan = sync.index.scan;
    if (!scan) throw new Error(`the ${sync.index.kind} index cannot list its documents`);
    const sender = o.dryRun ? undefined : sync.sender(o.maxRate);
    if (!o.dryRun && !sender) throw new Error('QUEUE_URL is not set: reprocess sends to the queue the worker reads');
    for await (const s of scan.call(sync.index, bucket, prefix)) {
      counts.scanned++;
      const old = o.belowVersion !== undefined && (s.extractorVersion ?? 0) < o.belowVersion;
      if (!statuses.has(s.status) && !old) continue;
      counts.selected++;
      if (sender) {
        await sender.add({ ref: { bucket, key: s.key }, force: true });
        counts.sent = sender.sent;
      } else console.log(`reprocess ${sourceOf(bucket, s.key)} [${s.status}, extractor ${s.extractorVersion ?? 'unknown'}]`);
    }
    if (sender) {
      await sender.flush();
      counts.sent = sender.sent;
    }
  } finally {
    progress.stop();
    await sync.close();
  }
  console.log(`reprocess s3://${bucket}/${prefix}: ${counts.scanned} documents, ${counts.selected} selected; ${o.dryRun ? 'dry run, nothing sent' : `sent ${counts.sent} to the queue`}`);
  return { code: 0, counts };
}
