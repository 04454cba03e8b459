// src/commands/: one CLI command a file; src/cli.ts parses argv and calls one. Commands build their
// worker through buildWorker (src/wiring.ts) and never choose adapters themselves.
//
// `run`: the SQS consumer. SIGTERM/SIGINT — from the first moment of start-up — stop receiving and
// drain within the shutdown deadline, releasing what did not finish; a second signal exits at once.
import type { Config } from '../config.ts';
import type { Logger } from '../telemetry/log.ts';
import { buildWorker } from '../wiring.ts';
import { PrometheusTelemetry } from '../telemetry/metrics.ts';
import { portProblem, startOpsServer, type OpsServer } from '../telemetry/ops-server.ts';
import { errorMessage } from '../errors.ts';
import type { ShutdownSignals } from './shutdown-signals.ts';

export async function runWorker(config: Config, logger: Logger, signals: ShutdownSignals): Promise<number> {
  if (!config.queue.url) {
    console.error('filesearch-worker: bad configuration: QUEUE_URL: is required for `run` (the SQS queue that receives the S3 events)');
    return 78;
  }
  const telemetry = new PrometheusTelemetry();
  const worker = await buildWorker(config, { telemetry, logger });
  const { pipeline, index } = worker;
  signals.onSecond((sig) => {
    logger.warn({ signal: sig }, 'second signal: exiting now');
    pipeline.cleanupSync();
    process.exit(130);
  });
  let ops: OpsServer | undefined;
  // Start-up, step by step; a signal during any step skips the rest and goes straight to draining.
  try {
    if (!signals.requested) {
      // The index must answer and take our writes before we take a single message: a wrong role, policy
      // or URL is a configuration error (exit 78, one clear line), not a reason to cycle messages to the DLQ.
      try {
        await index.init();
        await index.checkWritable?.();
      } catch (err) {
        const where = config.index.kind === 'opensearch' ? `${config.index.node}/${config.index.index}` : config.index.path;
        console.error(`filesearch-worker: the index at ${where} is not usable: ${errorMessage(err)}`);
        return 78;
      }
    }
    if (!signals.requested) {
      try {
        ops = await startOpsServer({ port: config.metricsPort, registry: telemetry.registry, logger, ready: () => pipeline.readiness() });
      } catch (err) {
        const problem = portProblem(err, config.metricsPort);
        if (!problem) throw err;
        console.error(`filesearch-worker: bad configuration: ${problem}`);
        return 78;
      }
    }
    if (!signals.requested) {
      await pipeline.start();
      logger.info({ queueUrl: config.queue.url, index: index.kind, poolSize: config.pool.size, poolSizeFrom: config.pool.source }, 'worker started');
      await Promise.race([signals.wait(), pipeline.done()]);
    }
    if (signals.requested) logger.info({ signal: signals.requested, deadlineMs: config.shutdownTimeoutMs }, 'stopping: no new messages; draining');
  } finally {
    await pipeline.stop();
    await worker.close();
    await ops?.close();
    logger.info('stopped');
    logger.flush?.();
  }
  return 0;
}
