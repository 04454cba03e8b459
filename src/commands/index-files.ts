// `index <paths...>`: the same stages over local files, into the SQLite index. A progress line on a
// terminal; a summary at the end.
import type { Config } from '../config.ts';
import type { Logger } from '../telemetry/log.ts';
import { buildWorker, defaultThumbnailDir, openThumbnails } from '../wiring.ts';
import { DirectorySource } from '../adapters/directory-source.ts';
import { SqliteIndex } from '../adapters/sqlite-index.ts';
import { documentId } from '../ids.ts';
import { isUpToDate } from '../stages/document.ts';
import { PrometheusTelemetry } from '../telemetry/metrics.ts';
import { portProblem, startOpsServer, type OpsServer } from '../telemetry/ops-server.ts';
import { noTelemetry, teeTelemetry, type Telemetry } from '../telemetry/telemetry.ts';
import type { DocStatus, ThumbnailSink } from '../types.ts';
import { errorMessage } from '../errors.ts';
import { stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

export type IndexCommandOptions = { paths: string[]; db: string; serveMetrics: boolean; thumbnails: boolean; strict?: boolean };

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
    // Same size and mtime as indexed, by this extractor version: not even read (files with new bytes
    // identical to an indexed file are read and hashed, and reuse its extraction).
    isUnchanged: async (ref) => {
      const id = documentId(ref.bucket, ref.key);
      return isUpToDate((await index.states([id])).get(id), ref);
    },
    onProblem: (p) => console.error(`index: skipped ${p.path}: ${p.reason}`),
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
    try {
      ops = await startOpsServer({ port: config.metricsPort, registry: base.registry, logger, host: '127.0.0.1', ready: () => pipeline.readiness() });
    } catch (err) {
      const problem = portProblem(err, config.metricsPort);
      if (!problem) throw err;
      console.error(`filesearch-worker: bad configuration: ${problem}`);
      await worker.close();
      return 78;
    }
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
  let stoppedEarly = false;
  const onSignal = () => {
    stoppedEarly = true;
    void pipeline.stop(5_000);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let removed = 0;
  try {
    await pipeline.start();
    await pipeline.drainFinite();
    if (!stoppedEarly) {
      // Thumbnails of earlier runs go with their documents even when this run makes none (a sink opened
      // for that is closed here; the worker's closes with the worker).
      const thumbnails = worker.thumbnails ?? (await openThumbnails(config, defaultThumbnailDir(o.db)));
      try {
        removed = await removeVanished(index, thumbnails, o.paths);
      } finally {
        if (thumbnails !== worker.thumbnails) await thumbnails?.close();
      }
    }
  } catch (err) {
    failed = true;
    console.error(`index: ${errorMessage(err)}`);
  } finally {
    if (progress) clearInterval(progress);
    if (tty) process.stderr.write('\r\x1b[K');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await worker.close();
    await ops?.close();
  }
  const secs = (Date.now() - started) / 1000;
  const byStatus = Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  console.log(`indexed ${done} document(s) in ${secs.toFixed(1)} s (${byStatus}); ${source.skipped} unchanged; ${removed ? `${removed} removed (files gone); ` : ''}index: ${o.db}`);
  // Exit codes a script can trust: 0 only when every file found has its document.
  const problems = source.problems.length;
  if (problems) console.error(`index: ${problems} path(s) could not be indexed (listed above)`);
  if (stoppedEarly) console.error('index: stopped before the end; run it again to finish');
  const weak = (counts.failed ?? 0) + (counts.partial ?? 0);
  if (o.strict && weak) console.error(`index: --strict: ${weak} document(s) failed or partial`);
  return failed || problems > 0 || stoppedEarly || (o.strict && weak > 0) ? 1 : 0;
}

/** Documents of local files under the indexed roots whose file is gone: removed, so a re-run is a true picture. */
async function removeVanished(index: SqliteIndex, thumbnails: ThumbnailSink | undefined, paths: string[]): Promise<number> {
  const roots = paths.map((p) => resolve(p));
  const under = (key: string) => roots.some((r) => key === r || key.startsWith(r.endsWith(sep) ? r : r + sep));
  const gone: string[] = [];
  for await (const doc of index.searcher().dump()) {
    if (doc.bucket !== '' || !under(doc.key)) continue;
    try {
      await stat(doc.key);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') gone.push(doc.id);
    }
  }
  if (gone.length === 0) return 0;
  // Thumbnails first: if they cannot be deleted the documents stay, and the next run tries both again.
  await thumbnails?.remove(gone);
  await index.write(gone.map((id) => ({ kind: 'remove', id })));
  return gone.length;
}
