// The wiring: the only place that turns a typed Config into a running worker — it chooses SQS or a
// directory, S3 or local files, OpenSearch or SQLite, where thumbnails go, and sizes the extract pool.
// Every command, the bench and the end-to-end tests build through buildWorker, so none of them can
// drift from production wiring; an override replaces one piece and leaves the rest as configured.
import { join } from 'node:path';
import type { Config } from './config.ts';
import { Pipeline, type PipelineOptions } from './pipeline.ts';
import { silentLogger, type Logger } from './telemetry/log.ts';
import { noTelemetry, type Telemetry } from './telemetry/telemetry.ts';
import type { BlobStore, Extractor, JobSource, ObjectRef, SearchIndex, ThumbnailSink } from './types.ts';
import type { SearchBackend } from './search/query.ts';
import { DirThumbnails, noThumbnails, type ThumbnailResolver } from './search/thumbnails.ts';
import { SqliteIndex } from './adapters/sqlite-index.ts';
import { DirThumbnailSink } from './adapters/dir-thumbnail-sink.ts';
import { DirectorySource } from './adapters/directory-source.ts';
import { FileBlobStore } from './adapters/file-blob-store.ts';
import { createExtractor } from './pool/extract-pool.ts';
import { IntakeBreaker } from './flow/intake-breaker.ts';
import type { Task } from './flow/work.ts';
import { MemoryGovernor } from './pool/memory-governor.ts';
import type { AwsClientOptions } from './adapters/aws-clients.ts';

/** Where jobs come from: the SQS queue of S3 events (production), or files and folders on this machine. */
export type WorkerInput =
  | { kind: 'sqs' }
  | { kind: 'files'; paths: string[]; isUnchanged?: (ref: ObjectRef) => Promise<boolean> };

export type WorkerOverrides = {
  /** Default: SQS at config.queue.url, objects from S3. */
  input?: WorkerInput;
  /** Replace one adapter outright (tests, the bench); what is not given is built from the config. */
  source?: JobSource;
  blobs?: BlobStore;
  index?: SearchIndex;
  extractor?: Extractor;
  /** null: no thumbnails. Default: config.thumbnails, else (input 'files') `localThumbnailDir`. */
  thumbnails?: ThumbnailSink | null;
  /** Where local runs keep thumbnails when THUMBNAIL_URL is unset. */
  localThumbnailDir?: string;
  telemetry?: Telemetry;
  logger?: Logger;
  pipeline?: Partial<PipelineOptions>;
  /** null: no intake breaker. Default: one from config.breaker for SQS input (a local run has no outage to wait out). */
  breaker?: IntakeBreaker<Task> | null;
};

export type BuiltWorker = {
  pipeline: Pipeline;
  source: JobSource;
  blobs: BlobStore;
  index: SearchIndex;
  extractor: Extractor;
  /** Keeps the process tree under MEMORY_LIMIT_MB through the pool (none when the extractor was given). */
  governor: MemoryGovernor | undefined;
  thumbnails: ThumbnailSink | undefined;
  /** Pauses intake while the index or S3 keeps failing (SQS input only). */
  breaker: IntakeBreaker<Task> | undefined;
  telemetry: Telemetry;
  logger: Logger;
  options: PipelineOptions;
  /**
   * Closes everything the worker holds — given or built: the source, the extractor, the index, the
   * thumbnail sink, the AWS clients and the pipeline's temp files. Stop the pipeline first
   * (pipeline.stop / drainFinite).
   */
  close(): Promise<void>;
};

export async function buildWorker(config: Config, overrides: WorkerOverrides = {}): Promise<BuiltWorker> {
  const telemetry = overrides.telemetry ?? noTelemetry;
  const logger = overrides.logger ?? silentLogger;
  const input = overrides.input ?? { kind: 'sqs' };
  let destroyAws = () => {};

  let source = overrides.source;
  let blobs = overrides.blobs;
  if (input.kind === 'files') {
    source ??= new DirectorySource({ paths: input.paths, ...(input.isUnchanged ? { isUnchanged: input.isUnchanged } : {}) });
    blobs ??= new FileBlobStore();
  } else if (!source || !blobs) {
    const aws = await openAws(config, telemetry, logger);
    destroyAws = aws.destroy;
    source ??= aws.source();
    blobs ??= aws.blobs;
  }

  const index = overrides.index ?? (await openIndex(config, telemetry, logger));
  const thumbnails =
    overrides.thumbnails === null
      ? undefined
      : (overrides.thumbnails ?? (await openThumbnails(config, input.kind === 'files' ? overrides.localThumbnailDir : undefined)));
  const governor = overrides.extractor ? undefined : new MemoryGovernor({ ...config.memory, telemetry, logger });
  const extractor = overrides.extractor ?? createExtractor(config, telemetry, logger, governor);
  const options = pipelineOptions(config, { wantThumbnails: thumbnails !== undefined, ...overrides.pipeline });
  const breaker = overrides.breaker === null ? undefined : (overrides.breaker ?? (input.kind === 'sqs' ? intakeBreaker(config, telemetry, logger) : undefined));
  const pipeline = new Pipeline({ source, blobs, extractor, index, ...(thumbnails ? { thumbnails } : {}), ...(breaker ? { breaker } : {}), telemetry, logger }, options);

  const sourceToClose = source;
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      await sourceToClose.close();
      await Promise.allSettled([extractor.close(), index.close(), thumbnails?.close()]);
      governor?.stop();
      await pipeline.cleanup();
      destroyAws();
    })());
  return { pipeline, source, blobs, index, extractor, governor, thumbnails, breaker, telemetry, logger, options, close };
}

/** The intake breaker of config.breaker, reporting its state changes as metrics. */
export function intakeBreaker(config: Config, telemetry: Telemetry, logger: Logger): IntakeBreaker<Task> {
  return new IntakeBreaker<Task>({
    threshold: config.breaker.threshold,
    probeMs: config.breaker.probeSeconds * 1000,
    probeMaxMs: config.breaker.probeMaxSeconds * 1000,
    holdMax: config.breaker.holdMax,
    logger,
    onChange: (dependency, open) => telemetry.intakeBreaker(dependency, open),
  });
}

/**
 * The AWS side: S3 objects, and (on demand, as it needs QUEUE_URL) the SQS source of S3 events. The SDK
 * reads endpoint, region and credentials from the environment; `clients` overrides them (tests).
 */
export async function openAws(
  config: Config,
  telemetry: Telemetry = noTelemetry,
  logger: Logger = silentLogger,
  clients: Partial<AwsClientOptions> = {},
): Promise<{ source(): JobSource; blobs: BlobStore; sqs: import('@aws-sdk/client-sqs').SQSClient; s3: import('@aws-sdk/client-s3').S3Client; destroy(): void }> {
  const [{ createAwsClients }, { SqsJobSource }, { S3BlobStore }] = await Promise.all([
    import('./adapters/aws-clients.ts'),
    import('./adapters/sqs-source.ts'),
    import('./adapters/s3-blob-store.ts'),
  ]);
  const aws = createAwsClients(config, clients);
  return {
    sqs: aws.sqs,
    s3: aws.s3,
    source: () => {
      if (!config.queue.url) throw new Error('QUEUE_URL is required to consume from SQS');
      return new SqsJobSource({
        client: aws.sqs,
        queueUrl: config.queue.url,
        waitTimeSeconds: config.queue.waitTimeSeconds,
        visibilityTimeoutSeconds: config.queue.visibilityTimeoutSeconds,
        heartbeatSeconds: config.queue.heartbeatSeconds,
        telemetry,
        logger,
      });
    },
    blobs: new S3BlobStore({ client: aws.s3, telemetry }),
    destroy: () => aws.destroy(),
  };
}

/** The pipeline's options, all from the configuration; overrides for a command's needs or a test. */
export function pipelineOptions(config: Config, overrides: Partial<PipelineOptions> = {}): PipelineOptions {
  return {
    ...config.stages,
    receiveBatch: config.queue.batchSize,
    pollers: config.queue.pollers,
    deleteFlushMs: config.queue.deleteFlushMs,
    deleteBatchSize: config.queue.deleteBatchSize,
    deleteConcurrency: config.queue.deleteConcurrency,
    deleteRetries: config.queue.deleteRetries,
    deleteRetryBaseMs: config.queue.deleteRetryBaseMs,
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

/** The index named by INDEX_URL. */
export async function openIndex(config: Config, telemetry: Telemetry = noTelemetry, logger: Logger = silentLogger): Promise<SearchIndex> {
  const target = config.index;
  if (target.kind === 'sqlite') return new SqliteIndex(target.path);
  const { OpenSearchIndex } = await import('./adapters/opensearch-index.ts');
  return new OpenSearchIndex({ node: target.node, index: target.index, auth: target.auth, telemetry, logger });
}

/** The read-only query side of the index INDEX_URL names, or of a --db SQLite file (search, dump, serve). */
export async function openSearchBackend(config: Config, dbOverride?: string): Promise<SearchBackend> {
  const target = dbOverride ? { kind: 'sqlite' as const, path: dbOverride } : config.index;
  if (target.kind === 'sqlite') {
    const { SqliteSearch } = await import('./adapters/sqlite-search.ts');
    return new SqliteSearch(target.path);
  }
  const { OpenSearchSearch } = await import('./adapters/opensearch-search.ts');
  return new OpenSearchSearch({ node: target.node, index: target.index, auth: target.auth, requestTimeoutMs: config.serve.indexTimeoutMs });
}

/** Where `serve` finds thumbnails: THUMBNAIL_URL, else beside the SQLite file (none for OpenSearch). */
export async function openThumbnailLinks(config: Config, dbOverride?: string): Promise<ThumbnailResolver> {
  const t = config.thumbnails;
  if (t?.kind === 'dir') return new DirThumbnails(t.path);
  if (t?.kind === 's3') {
    const { s3ThumbnailLinks } = await import('./adapters/s3-thumbnail-links.ts');
    const { createS3Client } = await import('./adapters/aws-clients.ts');
    return s3ThumbnailLinks({ client: createS3Client(config), bucket: t.bucket, prefix: t.prefix, expiresInSeconds: config.serve.thumbnailLinkSeconds });
  }
  const db = dbOverride ?? (config.index.kind === 'sqlite' ? config.index.path : undefined);
  return db ? new DirThumbnails(defaultThumbnailDir(db)) : noThumbnails;
}

/** The SQLite file the local commands use when no --db is given. */
export function localDbPath(config: Config): string {
  return config.index.kind === 'sqlite' ? config.index.path : './data/index.db';
}

/**
 * Thumbnails go where THUMBNAIL_URL says; local runs default to a folder (see defaultThumbnailDir).
 * The caller closes the sink (an S3 one owns its client). `clients` overrides the SDK's settings (tests).
 */
export async function openThumbnails(config: Config, localDefaultDir: string | undefined, clients: Partial<AwsClientOptions> = {}): Promise<ThumbnailSink | undefined> {
  const t = config.thumbnails;
  if (t?.kind === 'dir') return new DirThumbnailSink(t.path);
  if (t?.kind === 's3') {
    const { S3ThumbnailSink } = await import('./adapters/s3-thumbnail-sink.ts');
    const { createS3Client } = await import('./adapters/aws-clients.ts');
    return new S3ThumbnailSink({ client: createS3Client(config, clients), bucket: t.bucket, prefix: t.prefix });
  }
  return localDefaultDir ? new DirThumbnailSink(localDefaultDir) : undefined;
}

/** Local runs keep thumbnails in a folder beside the database. */
export function defaultThumbnailDir(dbPath: string): string {
  return join(dbPath, '..', 'thumbnails');
}
