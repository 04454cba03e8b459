// What every stage is given: the adapters, options and the settle function. Stages never import an SDK.
import type { Logger } from '../telemetry/log.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import type { BlobStore, Extractor, ExtractLimits, JobSource, SearchIndex, ThumbnailSink } from '../types.ts';
import type { Settler } from '../flow/settle.ts';

export type PipelineOptions = {
  receiveBatch: number;
  pollers: number;
  queueCapacity: number;
  downloadConcurrency: number;
  downloadBytesBudget: number;
  /** Bytes reserved for an object whose size is not known before download. */
  unknownSizeReserve: number;
  extractConcurrency: number;
  /** Bytes of documents in extraction at once; a document larger than this runs alone. */
  extractBytesBudget: number;
  indexBatchSize: number;
  indexBatchBytes: number;
  indexFlushMs: number;
  indexConcurrency: number;
  deleteFlushMs: number;
  /** Leases per DeleteMessageBatch call (SQS allows 10). */
  deleteBatchSize: number;
  deleteConcurrency: number;
  deleteRetries: number;
  deleteRetryBaseMs: number;
  limits: ExtractLimits & { maxBytes: number };
  ocrLangs: string;
  /** Private temp dir for downloads (created by the pipeline, mode 0700). */
  tmpDir: string;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  shutdownTimeoutMs: number;
  wantThumbnails: boolean;
};

/** The outside world, behind its interfaces. */
export type PipelineDeps = {
  source: JobSource;
  blobs: BlobStore;
  extractor: Extractor;
  index: SearchIndex;
  thumbnails?: ThumbnailSink;
  telemetry: Telemetry;
  logger: Logger;
};

export type StageContext = PipelineDeps & {
  opts: PipelineOptions;
  settle: Settler;
  /** Shared, read by readiness: did the last receive call fail, and why. */
  health: { receiveError: string | undefined };
};

export function seconds(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}
