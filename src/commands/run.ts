// src/commands/: one CLI command a file; src/cli.ts parses argv and calls one. Commands build their
// worker through buildWorker (src/wiring.ts) and never choose adapters themselves.
//
// `run`: the SQS consumer. SIGTERM/SIGINT stop receiving and drain within the shutdown deadline,
// releasing what did not finish; a second signal exits at once.
import type { Config } from '../config.ts';
import type { Logger } from '../telemetry/log.ts';
import { buildWorker } from '../wiring.ts';
import { PrometheusTelemetry } from '../telemetry/metrics.ts';
import { startOpsServer } from '../telemetry/ops-server.ts';

export async function runWorker(config: Config, logger: Logger): Promise<number> {
  if (!config.queue.url) {
    console.error('filesearch-worker: bad configuration: QUEUE_URL: is required for `run` (the SQS queue that receives the S3 events)');
    return 78;
  }
  const telemetry = new PrometheusTelemetry();
  const worker = await buildWorker(config, { telemetry, logger });
  const { pipeline, index } = worker;
  const ops = await startOpsServer({
    port: config.metricsPort,
    registry: telemetry.registry,
    logger,
    ready: () => pipeline.readiness(),
  });

  let signals = 0;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal: sig }, 'second signal: exiting now');
        pipeline.cleanupSync();
        process.exit(130);
      }
      logger.info({ signal: sig, deadlineMs: config.shutdownTimeoutMs }, 'stopping: no new messages; draining');
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  try {
    await index.init();
  } catch (err) {
    logger.error({ err: String(err) }, 'index is not reachable; will retry on first write');
  }
  await pipeline.start();
  logger.info({ queueUrl: config.queue.url, index: index.kind, poolSize: config.pool.size, poolSizeFrom: config.pool.source }, 'worker started');
  await Promise.race([stopped, pipeline.done()]);
  await pipeline.stop();
  await worker.close();
  await ops.close();
  logger.info('stopped');
  logger.flush?.();
  return 0;
}
