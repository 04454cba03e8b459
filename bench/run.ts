// `npm run bench [-- --quick] [-- --only=control-plane,stages,full-work,memory,ocr] [-- --render-only]`
//
// Stage throughput side by side with the baselines, in one run, against fauxqs on 127.0.0.1 and the
// SQLite index (and the OpenSearch double for the index stage), all started here. Writes
// bench/results/latest.json, README.md and chart.svg (or only quick.json with --quick, the CI smoke
// run). Speeds are reported, never asserted.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchContext } from './harness/context.ts';
import { startEmulator } from './harness/emulator.ts';
import { fillCompileCache } from './harness/workers.ts';
import { machineFacts } from './harness/machine.ts';
import { FULL, QUICK } from './harness/options.ts';
import { renderChart } from './report/chart.ts';
import { renderReadme } from './report/readme.ts';
import { renderTable } from './report/table.ts';
import type { BenchResults } from './report/results.ts';
import { runControlPlane } from './sections/control-plane.ts';
import { runFullWork } from './sections/full-work.ts';
import { runMemory } from './sections/memory.ts';
import { runOcrAccuracy } from './sections/ocr-accuracy.ts';
import { runRedelivery } from './sections/redelivery.ts';
import { runStages, stagesByName } from './sections/stages.ts';
import { runSearchLatency } from './sections/search.ts';

const SECTIONS = ['control-plane', 'stages', 'full-work', 'memory', 'ocr', 'search', 'redelivery'] as const;
type Section = (typeof SECTIONS)[number];

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, 'render-only': { type: 'boolean', default: false } } });
  if (values['render-only']) {
    // Rewrites README.md and chart.svg from latest.json (after a change to the report code).
    const results = JSON.parse(await readFile(join(RESULTS_DIR, 'latest.json'), 'utf8')) as BenchResults;
    await writeFile(join(RESULTS_DIR, 'chart.svg'), renderChart(results));
    await writeFile(join(RESULTS_DIR, 'README.md'), renderReadme(results));
    process.stdout.write(`${renderTable(results)}\n`);
    return 0;
  }
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : [...SECTIONS];
  const unknown = only.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length) {
    console.error(`bench: unknown section ${unknown.join(', ')}; known: ${SECTIONS.join(', ')}`);
    return 2;
  }
  const opts = values.quick ? QUICK : FULL;
  const machine = machineFacts();
  const started = performance.now();
  const tmpRoot = await mkdtemp(join(os.tmpdir(), 'filesearch-bench-'));
  const emu = await startEmulator();
  const ctx: BenchContext = {
    emu,
    opts,
    tmpRoot,
    cores: machine.cores,
    progress: (msg) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`),
  };
  ctx.progress(`${values.quick ? 'quick' : 'full'} bench on ${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}`);

  const results: BenchResults = { machine, quick: opts.quick, sections: only, errors: {} };
  await fillCompileCache(ctx);
  const run = async (name: Section, fn: () => Promise<void>) => {
    if (!only.includes(name)) return;
    try {
      await fn();
    } catch (err) {
      results.errors[name] = err instanceof Error ? err.message : String(err);
      ctx.progress(`${name} FAILED: ${results.errors[name]}`);
    }
  };
  try {
    await run('control-plane', async () => {
      Object.assign(results, await runControlPlane(ctx));
    });
    await run('stages', async () => {
      results.stageFigures = await runStages(ctx);
      results.stages = stagesByName(results.stageFigures);
    });
    await run('full-work', async () => {
      Object.assign(results, await runFullWork(ctx));
      const failed = results.poolScaling?.runs.filter((x) => x.error) ?? [];
      if (failed.length) results.errors['pool-scaling'] = failed.map((x) => `POOL_SIZE ${x.poolSize}: ${x.error}`).join('; ');
    });
    await run('memory', async () => {
      results.memory = await runMemory(ctx);
    });
    if (opts.ocrAccuracy.enabled) await run('ocr', async () => {
      results.ocr = await runOcrAccuracy(ctx);
    });
    await run('redelivery', async () => {
      results.redelivery = await runRedelivery(ctx);
    });
    await run('search', async () => {
      results.search = await runSearchLatency(ctx);
    });
  } finally {
    await emu.stop();
    await rm(tmpRoot, { recursive: true, force: true });
  }
  results.durationSeconds = Math.round((performance.now() - started) / 1000);

  process.stdout.write(`${renderTable(results)}\n`);
  await mkdir(RESULTS_DIR, { recursive: true });
  const complete = only.length === SECTIONS.length;
  if (opts.quick) {
    await writeFile(join(RESULTS_DIR, 'quick.json'), `${JSON.stringify(results, null, 2)}\n`);
  } else if (complete) {
    await writeFile(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    await writeFile(join(RESULTS_DIR, 'chart.svg'), renderChart(results));
    await writeFile(join(RESULTS_DIR, 'README.md'), renderReadme(results));
  } else {
    // A partial run never overwrites the committed figures.
    await writeFile(join(RESULTS_DIR, 'partial.json'), `${JSON.stringify(results, null, 2)}\n`);
  }
  ctx.progress(`done in ${results.durationSeconds} s`);
  return Object.keys(results.errors).length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
