// `backfill s3://bucket[/prefix]`: indexes what a bucket already holds. Lists the objects, compares each
// with the index (key + ETag + extractor version: what is indexed and current is skipped, so a re-run
// resumes), and sends the rest to the queue as plain {bucket, key, etag, size} messages — or with
// --direct runs them through the same pipeline in this process. --dry-run only counts.
import type { Config } from '../config.ts';
import { documentId } from '../ids.ts';
import type { Logger } from '../telemetry/log.ts';
import type { ObjectRef, SearchIndex } from '../types.ts';
import { buildWorker } from '../wiring.ts';
import { createPacer } from '../flow/pacer.ts';
import { isUpToDate } from '../stages/document.ts';
import { listObjects } from '../adapters/s3-inventory.ts';
import { ListingSource } from '../adapters/listing-source.ts';
import { openSync, parseS3Target, progressLine, type SyncOverrides } from './bucket-sync.ts';

export type BackfillOptions = { target: string; direct: boolean; dryRun: boolean; maxRate: number };

export type BackfillCounts = { listed: number; current: number; todo: number; sent: number; indexed: number; notDone: number };

export async function runBackfillCommand(config: Config, logger: Logger, o: BackfillOptions, overrides: SyncOverrides = {}): Promise<{ code: number; counts: BackfillCounts }> {
  const { bucket, prefix } = parseS3Target(o.target);
  const sync = await openSync(config, logger, overrides);
  const counts: BackfillCounts = { listed: 0, current: 0, todo: 0, sent: 0, indexed: 0, notDone: 0 };
  const todo = toDo(sync.aws.s3, sync.index, bucket, prefix, counts);
  const progress = progressLine(() => `listed ${counts.listed} · already indexed ${counts.current} · to do ${counts.todo} · ${o.direct ? `indexed ${counts.indexed}` : `sent ${counts.sent}`}`);
  let code = 0;
  try {
    if (o.dryRun) {
      for await (const _ of todo) void _;
    } else if (o.direct) {
      const pace = createPacer(o.maxRate);
      const source = new ListingSource((async function* () {
        for await (const ref of todo) {
          await pace();
          yield ref;
        }
      })());
      const worker = await buildWorker(config, {
        source, blobs: sync.aws.blobs, index: sync.index, logger, ...(overrides.extractor ? { extractor: overrides.extractor } : {}),
        pipeline: { pollers: 1, retryBaseSeconds: 0 },
      });
      const tick = setInterval(() => (counts.indexed = source.done), 250);
      try {
        await worker.pipeline.start();
        await worker.pipeline.drainFinite();
      } finally {
        clearInterval(tick);
        await worker.close();
      }
      counts.indexed = source.done;
      counts.notDone = source.notDone;
      if (counts.notDone) code = 1;
    } else {
      const sender = sync.sender(o.maxRate);
      if (!sender) throw new Error('QUEUE_URL is not set: set it to the queue the worker reads, or use --direct');
      for await (const ref of todo) {
        await sender.add({ ref });
        counts.sent = sender.sent;
      }
      await sender.flush();
      counts.sent = sender.sent;
    }
  } finally {
    progress.stop();
    await sync.close();
  }
  const done = o.dryRun ? `would ${o.direct ? 'index' : 'send'} ${counts.todo}` : o.direct ? `indexed ${counts.indexed}${counts.notDone ? `, ${counts.notDone} not done (run again)` : ''}` : `sent ${counts.sent} to the queue`;
  console.log(`backfill s3://${bucket}/${prefix}: ${counts.listed} objects, ${counts.current} already indexed; ${done}`);
  return { code, counts };
}

/** The listed objects that the index does not hold in their current version. */
async function* toDo(s3: Parameters<typeof listObjects>[0], index: SearchIndex, bucket: string, prefix: string, counts: BackfillCounts): AsyncGenerator<ObjectRef> {
  for await (const page of listObjects(s3, bucket, prefix)) {
    counts.listed += page.length;
    const ids = page.map((r) => documentId(bucket, r.key));
    const states = index.states ? await index.states(ids) : new Map();
    for (const [i, ref] of page.entries()) {
      if (isUpToDate(states.get(ids[i]!), ref)) {
        counts.current++;
        continue;
      }
      counts.todo++;
      yield ref;
    }
  }
}
