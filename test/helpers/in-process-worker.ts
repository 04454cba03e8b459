// The pipeline in this process with the production AWS client settings (createAwsClients), talking to
// fauxqs through the fault-injecting proxy: what a fault test needs to start a worker, read its logs
// and metrics, and stop it.
import { Pipeline, type PipelineOptions } from '../../src/pipeline.ts';
import { pipelineOptions } from '../../src/wiring.ts';
import { loadConfig } from '../../src/config.ts';
import { createAwsClients, type AwsClientOptions } from '../../src/adapters/aws-clients.ts';
import { SqsJobSource } from '../../src/adapters/sqs-source.ts';
import { S3BlobStore } from '../../src/adapters/s3-blob-store.ts';
import { createLogger, type Logger } from '../../src/telemetry/log.ts';
import { PrometheusTelemetry } from '../../src/telemetry/metrics.ts';
import type { SearchIndex } from '../../src/types.ts';
import type { SqsS3Fixture } from './fauxqs.ts';
import type { FaultProxy } from './fault-proxy.ts';
import { parsePromText, type Samples } from './prom-text.ts';
import { TextExtractor } from './fakes.ts';

export type LogLine = { level: number; msg: string; [k: string]: unknown };

/** Small stages so that "bounded" is visible: a worker that held every message would break the bound. */
export const SMALL: Partial<PipelineOptions> = {
  pollers: 2, receiveBatch: 5, queueCapacity: 2, downloadConcurrency: 2, extractConcurrency: 1,
  indexBatchSize: 5, indexConcurrency: 1, indexFlushMs: 20, deleteFlushMs: 20, deleteRetries: 2,
  retryBaseSeconds: 1, retryMaxSeconds: 2, shutdownTimeoutMs: 5_000, wantThumbnails: false,
};

/** Most messages the pipeline can hold at once with these options (each stage's queue and workers). */
export function heldBound(o: PipelineOptions): number {
  return o.pollers * o.receiveBatch + 2 * o.queueCapacity + o.downloadConcurrency + o.extractConcurrency +
    Math.max(o.queueCapacity, o.indexBatchSize) + o.indexBatchSize * (o.indexConcurrency + 1) + 10;
}

export type InProcessWorkerOptions = {
  fx: SqsS3Fixture;
  proxy: FaultProxy;
  tmp: string;
  index: SearchIndex | ((telemetry: PrometheusTelemetry, logger: Logger) => SearchIndex);
  opts?: Partial<PipelineOptions>;
  aws?: Partial<AwsClientOptions>;
  visibilitySeconds?: number;
  heartbeatSeconds?: number;
  extractDelayMs?: number;
};

export type InProcessWorker = Awaited<ReturnType<typeof startInProcessWorker>>;

export async function startInProcessWorker(o: InProcessWorkerOptions) {
  const { fx, proxy, tmp } = o;
  const config = loadConfig({ ...fx.env, QUEUE_WAIT_SECONDS: '1', TMPDIR: tmp, LOG_LEVEL: 'warn' });
  const aws = createAwsClients(config, {
    endpoint: proxy.url, region: fx.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, ...o.aws,
  }, {});
  const telemetry = new PrometheusTelemetry({ defaultMetrics: false });
  const logs: LogLine[] = [];
  const logger = createLogger('warn', { write: (s: string) => void logs.push(JSON.parse(s) as LogLine) });
  const source = new SqsJobSource({
    client: aws.sqs, queueUrl: fx.queueUrl, waitTimeSeconds: 1,
    visibilityTimeoutSeconds: o.visibilitySeconds ?? 10, heartbeatSeconds: o.heartbeatSeconds ?? 3, telemetry, logger,
  });
  const index = typeof o.index === 'function' ? o.index(telemetry, logger) : o.index;
  const extractor = new TextExtractor();
  extractor.delayMs = o.extractDelayMs ?? 0;
  const opts = pipelineOptions(config, { ...SMALL, ...o.opts, tmpDir: tmp });
  const pipeline = new Pipeline({ source, blobs: new S3BlobStore({ client: aws.s3, telemetry }), extractor, index, telemetry, logger }, opts);
  await index.init();
  await pipeline.start();
  let maxHeld = 0;
  let maxRss = 0;
  const startRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    maxHeld = Math.max(maxHeld, source.inFlight().count);
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
  }, 20);
  return {
    telemetry, logs, source, extractor, opts, pipeline,
    get maxHeld() { return maxHeld; },
    async metrics(): Promise<Samples> {
      return parsePromText(await telemetry.metricsText());
    },
    logged(msg: string | RegExp): LogLine[] {
      return logs.filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
    },
    /** Stops and releases everything; returns a one-line figure of what it held and its memory. */
    async stop(name: string): Promise<string> {
      clearInterval(sampler);
      await pipeline.stop(5_000);
      await source.close();
      await pipeline.cleanup();
      aws.destroy();
      return `${name}: max messages held ${maxHeld} (bound ${heldBound(opts)}), rss ${mb(startRss)} -> max ${mb(maxRss)} MiB`;
    },
  };
}

function mb(n: number): string {
  return (n / 1024 / 1024).toFixed(0);
}
