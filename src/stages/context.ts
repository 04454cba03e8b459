// src/stages/: one file a stage (receive, download, extract, index, delete), each given this context;
// src/pipeline.ts joins them with the channels of src/flow/.
//
// What every stage is given: the adapters, options and the settle function. Stages never import an SDK.
import type { Config } from '../config.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import type { BlobStore, Extractor, ExtractLimits, JobSource, SearchIndex, ThumbnailSink } from '../types.ts';
import type { Settler } from '../flow/settle.ts';
import type { IntakeBreaker } from '../flow/intake-breaker.ts';
import type { Task } from '../flow/work.ts';
import type { ExtractionCache } from '../flow/extraction-cache.ts';
import type { StateLookup } from '../flow/state-lookup.ts';

/** The stage settings of Config (documented there), plus what a command decides. */
export type PipelineOptions = Config['stages'] &
  Pick<Config['queue'], 'pollers' | 'retryBaseSeconds' | 'retryMaxSeconds' | 'deleteFlushMs' | 'deleteBatchSize' | 'deleteConcurrency' | 'deleteRetries' | 'deleteRetryBaseMs'> & {
    /** Messages per receive call (QUEUE_BATCH_SIZE). */
    receiveBatch: number;
    limits: ExtractLimits & { maxBytes: number };
    ocrLangs: string;
    /** Private temp dir for downloads (created by the pipeline, mode 0700). */
    tmpDir: string;
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
  /** Pauses intake while the index or blob store keeps failing (optional: local runs go without). */
  breaker?: IntakeBreaker<Task>;
};

export type StageContext = PipelineDeps & {
  opts: PipelineOptions;
  settle: Settler;
  /** One extraction per content (absent: every task is extracted). */
  cache?: ExtractionCache;
  /** What the index holds for a document id, asked in batches (absent: nothing is skipped). */
  lookup?: StateLookup;
  /** Shared, read by readiness: did the last receive call fail, and why. */
  health: { receiveError: string | undefined };
  /** The private temp dir (opts.tmpDir): made again if something removed it. */
  tempDir?: { recreate(): Promise<boolean> };
};

export function seconds(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}
