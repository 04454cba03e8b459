// What backfill, reconcile and reprocess share: the s3://bucket/prefix argument, the AWS clients and
// index they open, the queue they send to, and a progress line on a terminal (a summary otherwise).
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import type { Logger } from '../telemetry/log.ts';
import { noTelemetry } from '../telemetry/telemetry.ts';
import type { Extractor, SearchIndex, ThumbnailSink } from '../types.ts';
import { openAws, openIndex, openThumbnails } from '../wiring.ts';
import type { AwsClientOptions } from '../adapters/aws-clients.ts';
import { JobSender } from '../adapters/sqs-sender.ts';

export type S3Target = { bucket: string; prefix: string };

/** Tests point the commands at an emulator and a counting extractor; production passes nothing. */
export type SyncOverrides = { clients?: Partial<AwsClientOptions>; extractor?: Extractor; thumbnails?: ThumbnailSink };

export function parseS3Target(raw: string | undefined): S3Target {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(raw ?? '');
  if (!m) throw new ConfigError('target', `must be s3://bucket or s3://bucket/prefix, got ${JSON.stringify(raw ?? '')}`);
  return { bucket: m[1]!, prefix: m[2]! };
}

export type SyncContext = {
  aws: Awaited<ReturnType<typeof openAws>>;
  index: SearchIndex;
  /** Where the worker stores thumbnails (THUMBNAIL_URL), if anywhere: removed documents take theirs along. */
  thumbnails: ThumbnailSink | undefined;
  /** The queue the worker reads (QUEUE_URL), if configured. */
  sender(maxRate: number): JobSender | undefined;
  /** Closes the index, the thumbnail sink (given or built) and the AWS clients, even when one fails. */
  close(): Promise<void>;
};

export async function openSync(config: Config, logger: Logger, o: SyncOverrides = {}): Promise<SyncContext> {
  const aws = await openAws(config, noTelemetry, logger, o.clients);
  let index: SearchIndex | undefined;
  let thumbnails: ThumbnailSink | undefined = o.thumbnails;
  const close = async () => {
    const closed = await Promise.allSettled([index?.close(), thumbnails?.close()]);
    aws.destroy();
    const failed = closed.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  };
  try {
    index = await openIndex(config, noTelemetry, logger);
    await index.init();
    thumbnails ??= await openThumbnails(config, undefined, o.clients);
  } catch (err) {
    // What opened before the failure must not keep the command's process alive.
    await close().catch(() => {});
    throw err;
  }
  return {
    aws,
    index,
    thumbnails,
    sender: (maxRate) => (config.queue.url ? new JobSender(aws.sqs, config.queue.url, maxRate) : undefined),
    close,
  };
}

/** A line rewritten in place on a terminal; nothing otherwise (the command prints a summary). */
export function progressLine(render: () => string): { stop(): void } {
  if (!process.stderr.isTTY) return { stop() {} };
  const t = setInterval(() => process.stderr.write(`\r\x1b[K${render()}`), 250);
  return {
    stop() {
      clearInterval(t);
      process.stderr.write('\r\x1b[K');
    },
  };
}
