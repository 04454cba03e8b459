// Builds the adapters a command needs from the typed Config. The only place that chooses between
// SQS and a directory, S3 and local files, OpenSearch and SQLite.
import { join } from 'node:path';
import type { Config } from './config.ts';
import { parseIndexUrl, parseThumbnailUrl } from './config.ts';
import type { Logger } from './telemetry/log.ts';
import type { PipelineOptions } from './pipeline.ts';
import type { Telemetry } from './telemetry/telemetry.ts';
import type { SearchIndex, ThumbnailSink, QueryableIndex } from './types.ts';
import { SqliteIndex } from './adapters/sqlite-index.ts';
import { DirThumbnailSink } from './adapters/dir-thumbnail-sink.ts';

export function pipelineOptions(config: Config, overrides: Partial<PipelineOptions> = {}): PipelineOptions {
  return {
    receiveBatch: config.queue.batchSize,
    pollers: config.queue.pollers,
    queueCapacity: config.stages.queueCapacity,
    downloadConcurrency: config.stages.downloadConcurrency,
    downloadBytesBudget: config.stages.downloadBytesBudget,
    unknownSizeReserve: 8 * 1024 * 1024,
    extractConcurrency: config.stages.extractConcurrency,
    extractBytesBudget: config.stages.extractBytesBudget,
    indexBatchSize: config.stages.indexBatchSize,
    indexBatchBytes: config.stages.indexBatchBytes,
    indexFlushMs: config.stages.indexFlushMs,
    indexConcurrency: 2,
    deleteFlushMs: config.queue.deleteFlushMs,
    deleteRetries: 3,
    limits: { ...config.limits },
    ocrLangs: config.pool.ocrLangs,
    tmpDir: config.tmpDir,
    retryBaseSeconds: config.queue.retryBaseSeconds,
    retryMaxSeconds: config.queue.retryMaxSeconds,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    wantThumbnails: true,
    ...overrides,
  };
}

/** The index named by INDEX_URL (or a --db file for the local commands). */
export async function openIndex(config: Config, telemetry: Telemetry, logger: Logger, dbOverride?: string): Promise<SearchIndex> {
  if (dbOverride) return new SqliteIndex(dbOverride);
  const target = parseIndexUrl(config.indexUrl);
  if (target.kind === 'sqlite') return new SqliteIndex(target.path);
  const { OpenSearchIndex } = await import('./adapters/opensearch-index.ts');
  return new OpenSearchIndex({ node: target.node, index: target.index, telemetry, logger });
}

export function openLocalIndex(config: Config, dbOverride?: string): QueryableIndex {
  if (dbOverride) return new SqliteIndex(dbOverride);
  const target = parseIndexUrl(config.indexUrl);
  if (target.kind !== 'sqlite') throw new Error(`this command reads the local SQLite index; INDEX_URL is ${config.indexUrl} (pass --db FILE)`);
  return new SqliteIndex(target.path);
}

/** Thumbnails go where THUMBNAIL_URL says; locally they default to a folder beside the database. */
export async function openThumbnails(config: Config, localDefaultDir: string | undefined): Promise<ThumbnailSink | undefined> {
  if (config.thumbnailUrl) {
    const t = parseThumbnailUrl(config.thumbnailUrl);
    if (t.kind === 'dir') return new DirThumbnailSink(t.path);
    const { S3ThumbnailSink } = await import('./adapters/s3-thumbnail-sink.ts');
    const { createS3Client } = await import('./adapters/aws-clients.ts');
    return new S3ThumbnailSink({ client: createS3Client(config), bucket: t.bucket, prefix: t.prefix });
  }
  return localDefaultDir ? new DirThumbnailSink(localDefaultDir) : undefined;
}

export function defaultThumbnailDir(dbPath: string): string {
  return join(dbPath, '..', 'thumbnails');
}
