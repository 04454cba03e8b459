// One worker process of the bench. The parent starts it with a WorkerSpec (argv[2]) and the worker's
// environment (QUEUE_URL, AWS_ENDPOINT_URL…, INDEX_URL, POOL_SIZE…): exactly what `filesearch-worker
// run` reads. It builds the worker with the production builder (buildWorker), warms the pool, says 'ready',
// starts on 'go', and reports wall time, CPU and peak RSS once it has deleted `expect` messages (or on
// 'stop'). Measuring here, in the worker's own process, keeps the emulator's CPU and memory out of
// the figures.
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { buildWorker, openIndex } from '../../src/wiring.ts';
import { createAwsClients } from '../../src/adapters/aws-clients.ts';
import { PrometheusTelemetry } from '../../src/telemetry/metrics.ts';
import type { Extractor } from '../../src/types.ts';
import { BusyGauge, CountingIndex, NoopExtractor, countingTelemetry, newCounts } from './counting.ts';
import { runSeedLoop } from '../baselines/seed-loop.ts';
import { runSequentialWorker } from '../baselines/sequential-worker.ts';
import type { FromWorker, ToWorker, WorkerResult, WorkerSpec } from './worker-protocol.ts';
import { waitWarm } from './warm.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as WorkerSpec;
const send = (m: FromWorker) => process.send?.(m);
// The bench went away (Ctrl-C, a crash): do not linger.
process.on('disconnect', () => process.exit(1));

main().catch((err) => {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  setTimeout(() => process.exit(1), 100);
});

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  const counts = newCounts();
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const telemetry = countingTelemetry(new PrometheusTelemetry(), counts, () => {
    if (spec.expect !== undefined && counts.deleted >= spec.expect) finish();
  });
  const index = new CountingIndex(await openIndex(config, telemetry, logger), counts);
  await index.init();

  const warm0 = performance.now();
  // The real pool runs under the memory governor, as buildWorker wires it in production.
  const governor = spec.extractor === 'noop' ? undefined : new (await import('../../src/pool/memory-governor.ts')).MemoryGovernor({ ...config.memory, telemetry, logger });
  const pool: Extractor = spec.extractor === 'noop' ? new NoopExtractor() : (await import('../../src/pool/extract-pool.ts')).createExtractor(config, telemetry, logger, governor);
  await waitWarm(pool, 180_000);
  const extractor = new BusyGauge(pool, config.pool.size);
  const warmMs = performance.now() - warm0;

  // The production wiring, with the counting index and the busy gauge in place of the plain ones.
  const worker = await buildWorker(config, { telemetry, logger, index, extractor, ...(spec.overrides ? { pipeline: spec.overrides } : {}) });
  const { pipeline, source, blobs, thumbnails, options: opts } = worker;
  const deps = { source, blobs, extractor, index, ...(thumbnails ? { thumbnails } : {}), telemetry, logger };
  // The seed loop talks to SQS itself.
  const aws = createAwsClients(config);

  // The process and its children (native OCR), as the memory governor counts it.
  const { processTreeRss } = await import('../../src/pool/memory-governor.ts');
  let peakRss = processTreeRss();
  let measuring = false;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, processTreeRss());
    if (measuring) extractor.sample();
  }, spec.sampleMs);

  const rssAtReadyMb = process.memoryUsage.rss() / 2 ** 20;
  send({ type: 'ready', warmMs });
  await new Promise<void>((resolve) => {
    process.on('message', (m: ToWorker) => {
      if (m.type === 'go') resolve();
      if (m.type === 'stop') finish();
    });
  });

  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  measuring = true;
  let incomplete = false;
  const deadline = setTimeout(() => {
    incomplete = true;
    finish();
  }, spec.timeoutMs);
  const abort = new AbortController();
  let stopWorker: () => Promise<unknown> = async () => {};
  let running: Promise<unknown>;

  if (spec.mode === 'pipeline') {
    await pipeline.start();
    running = pipeline.done();
    stopWorker = () => pipeline.stop(2_000);
  } else if (spec.mode === 'sequential') {
    running = runSequentialWorker(deps, opts, { receiveBatch: 5, signal: abort.signal });
  } else {
    const tmpDir = await mkdtemp(join(opts.tmpDir, 'filesearch-seed-'));
    running = runSeedLoop({
      sqs: aws.sqs,
      queueUrl: config.queue.url!,
      blobs,
      extractor,
      index,
      tmpDir,
      maxBytes: opts.limits.maxBytes,
      limits: opts.limits,
      ocrLangs: opts.ocrLangs,
      onDeleted: () => telemetry.messagesDeleted(1),
      shouldStop: () => abort.signal.aborted,
    });
  }
  running.catch((err) => {
    send({ type: 'error', message: `worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}` });
    setTimeout(() => process.exit(1), 100);
  });

  await finished;
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearTimeout(deadline);
  clearInterval(sampler);
  peakRss = Math.max(peakRss, processTreeRss());
  const kernelPeakMb = await kernelPeakRssMb();
  // At rest after the work, as a worker between bursts: the pipeline keeps polling the empty queue.
  let rssIdleMb: number | undefined;
  let threadsIdle: number | undefined;
  if (spec.idleAfterMs) {
    await new Promise((r) => setTimeout(r, spec.idleAfterMs));
    rssIdleMb = processTreeRss() / 2 ** 20;
    threadsIdle = pool.stats().threads;
  }
  const result: WorkerResult = {
    mode: spec.mode,
    counts,
    wallMs,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    peakRssSampledMb: peakRss / 2 ** 20,
    peakRssKernelMb: kernelPeakMb,
    ...(rssIdleMb !== undefined ? { rssIdleMb, threadsIdle } : {}),
    warmMs,
    rssAtReadyMb,
    poolBusy: extractor.busyShare(),
    incomplete,
  };
  send({ type: 'result', result });

  // Tidy up briefly; the parent owns the queue and the temp root, so a slow close changes nothing.
  abort.abort();
  await Promise.race([
    (async () => {
      await stopWorker();
      await worker.close();
      aws.destroy();
    })().catch(() => {}),
    new Promise((r) => setTimeout(r, 4_000)),
  ]);
  logger.flush?.();
  process.exit(0);
}

/** VmHWM from /proc/self/status (Linux); falls back to the current RSS elsewhere. */
async function kernelPeakRssMb(): Promise<number> {
  try {
    const status = await readFile('/proc/self/status', 'utf8');
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage.rss() / 2 ** 20;
}
