// `index <paths...>`: the same stages over local files, into the SQLite index. A progress line on a
// terminal; a summary at the end.
import type { Config } from '../config.ts';
import type { Logger } from '../telemetry/log.ts';
import { buildWorker, defaultThumbnailDir } from '../wiring.ts';
import { DirectorySource } from '../adapters/directory-source.ts';
import { SqliteIndex } from '../adapters/sqlite-index.ts';
import { documentId } from '../ids.ts';
import { PrometheusTelemetry } from '../telemetry/metrics.ts';
import { startOpsServer, type OpsServer } from '../telemetry/ops-server.ts';
import { noTelemetry, teeTelemetry, type Telemetry } from '../telemetry/telemetry.ts';
import type { DocStatus } from '../types.ts';

export type IndexCommandOptions = { paths: string[]; db: string; serveMetrics: boolean; thumbnails: boolean };

export async function runIndexCommand(config: Config, logger: Logger, o: IndexCommandOptions): Promise<number> {
  const index = new SqliteIndex(o.db);
  await index.init();
  const counts: Partial<Record<DocStatus, number>> = {};
  let done = 0;
  const base: Telemetry = o.serveMetrics ? new PrometheusTelemetry() : noTelemetry;
  // Count documents by status for the progress line and summary.
  const telemetry = teeTelemetry(base, {
    documentStatus(s) {
      counts[s] = (counts[s] ?? 0) + 1;
      done++;
    },
  });
  const source = new DirectorySource({
    paths: o.paths,
    isUnchanged: async (ref) => (await index.get(documentId(ref.bucket, ref.key)))?.etag === ref.etag,
  });
  const worker = await buildWorker(config, {
    input: { kind: 'files', paths: o.paths },
    source,
    index,
    telemetry,
    logger,
    localThumbnailDir: defaultThumbnailDir(o.db),
    ...(o.thumbnails ? {} : { thumbnails: null }),
    pipeline: { pollers: 1, retryBaseSeconds: 0 },
  });
  const { pipeline } = worker;
  let ops: OpsServer | undefined;
  if (o.serveMetrics && base instanceof PrometheusTelemetry) {
    ops = await startOpsServer({ port: config.metricsPort, registry: base.registry, logger, host: '127.0.0.1', ready: () => pipeline.readiness() });
    console.error(`metrics on http://127.0.0.1:${ops.port}/metrics`);
  }
  const started = Date.now();
  const tty = process.stderr.isTTY;
  const progress = tty
    ? setInterval(() => {
        const mins = (Date.now() - started) / 60_000;
        process.stderr.write(`\r\x1b[Kindexed ${done} · found ${source.found} · unchanged ${source.skipped} · ${mins > 0 ? Math.round(done / mins) : 0} docs/min`);
      }, 250)
    : undefined;
  let failed = false;
  const onSignal = () => void pipeline.stop(5_000);
  process.once('SIGINT', onSignal);
  try {
    await pipeline.start();
    await pipeline.drainFinite();
  } catch (err) {
    failed = true;
    console.error(`index: ${String(err)}`);
  } finally {
    if (progress) clearInterval(progress);
    if (tty) process.stderr.write('\r\x1b[K');
    process.off('SIGINT', onSignal);
    await worker.close();
    await ops?.close();
  }
  const secs = (Date.now() - started) / 1000;
  const byStatus = Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  console.log(`indexed ${done} document(s) in ${secs.toFixed(1)} s (${byStatus}); ${source.skipped} unchanged; index: ${o.db}`);
  return failed ? 1 : 0;
}
