// results/README.md: the latest full run, readable at a glance: machine, chart, tables, targets, and
// what limits each figure.
import { analysis } from './analysis.ts';
import { TARGETS, type BenchResults } from './results.ts';
import { machineLine, renderMarkdownTables } from './table.ts';

export function renderReadme(r: BenchResults): string {
  return `# Benchmark results

Written by \`npm run bench\` — do not edit by hand; run it again. Latest full run:
${machineLine(r)}.

![docs/min by configuration, control plane and scale-out, stage throughput](chart.svg)

${renderMarkdownTables(r)}
## Targets (read from the results, never asserted)

${targets(r)}

${analysis(r)}
## How each figure is measured

- **Everything runs on this machine**: fauxqs (SQS + S3 emulator) on 127.0.0.1 in the bench process; every
  worker under test runs in **its own process** (\`bench/worker-process.ts\`, built like
  \`src/commands/run.ts\` from the same environment variables), so the emulator's CPU is not counted as the
  worker's and does not share its event loop. The emulator does share the cores: its share is shown for
  scale-out. Each run gets a fresh queue (a long poll abandoned by a stopped worker would otherwise steal
  messages) and its own SQLite index. Timing starts when every worker process is warm (pool threads loaded)
  and a backlog is already queued, and stops when the last message is deleted.
- **Seed loop** (\`bench/seed-loop.ts\`): ReceiveMessage (5, WaitTimeSeconds 10), then for each message in turn:
  download, extract, index one document, DeleteMessage — with the project's own S3, extract and SQLite
  adapters, so only the control plane differs.
- **Pipeline**: \`src/pipeline.ts\` with the defaults (batch 10, 2 long polls, delete batches of 10 flushed
  after 100 ms, index batches of 100).
- **Simulated round trip** (\`bench/delay-proxy.ts\`): a node:http proxy in front of the emulator that holds
  every SQS call for ${r.controlPlaneRtt?.rttMs ?? 20} ms before forwarding it (S3 stays direct).
- **Sequential worker** (\`bench/sequential-worker.ts\`): the seed's worker.py design — receive 5, then one
  message at a time through the pipeline's own stage handlers (\`downloadHandler\`, \`extractHandler\`, the
  index write, \`Settler\`) and one DeleteMessage, with one pool thread. Not the Pipeline with concurrency 1:
  its stages would still overlap (one document downloading while another is extracted), which a one-loop
  worker never does.
- **CPU use** = worker process CPU-seconds (\`process.cpuUsage()\`, which includes the pool's threads) ÷
  (wall × cores).
- **Peak RSS**: the worker process's own RSS sampled every ${50} ms, and the kernel's high-water mark
  (VmHWM); the higher is reported. The 50 MB PDFs and the 100-megapixel image are generated into a temp
  dir on every run.
- **Per stage** (\`bench/stage-probe.ts\`): one adapter driven the way its stage drives it (same concurrency
  and batching), in its own process, fed from memory; CPU per item is that process's CPU ÷ items.
- \`npm run bench -- --quick\` runs every section with tiny sizes (CI smoke test) and writes \`quick.json\`
  only; \`--only=control-plane,stages,full-work,memory,ocr\` runs some sections and writes \`partial.json\`.
`;
}

function targets(r: BenchResults): string {
  const rows: string[][] = [];
  const v = (ok: boolean | undefined) => (ok === undefined ? 'not run' : ok ? 'met' : '**missed**');
  rows.push(['control plane, loopback', `≥ ${TARGETS.controlPlaneRatio}× the seed loop`, r.controlPlane ? `${r.controlPlane.ratio}×` : '–', v(r.controlPlane && r.controlPlane.ratio >= TARGETS.controlPlaneRatio)]);
  rows.push(['control plane, simulated round trip', `≥ ${TARGETS.controlPlaneRttRatio}× the seed loop`, r.controlPlaneRtt ? `${r.controlPlaneRtt.ratio}×` : '–', v(r.controlPlaneRtt && r.controlPlaneRtt.ratio >= TARGETS.controlPlaneRttRatio)]);
  rows.push(['full work', `≥ ${TARGETS.fullWorkRatio}× the sequential worker`, r.fullPipeline ? `${r.fullPipeline.ratio}×` : '–', v(r.fullPipeline && r.fullPipeline.ratio >= TARGETS.fullWorkRatio)]);
  rows.push(['CPU use, full work', `≥ ${TARGETS.cpuUtilization * 100} %`, r.fullPipeline ? `${Math.round(r.fullPipeline.cpuUtilization * 100)} %` : '–', v(r.fullPipeline && r.fullPipeline.cpuUtilization >= TARGETS.cpuUtilization)]);
  rows.push(['peak RSS', `< ${TARGETS.peakRssMb} MB (limit ${TARGETS.rssLimitMb})`, r.memory ? `${r.memory.peakRssMb} MB` : '–', v(r.memory && r.memory.peakRssMb < TARGETS.peakRssMb)]);
  return ['| figure | target | result | |', '| --- | --- | ---: | --- |', ...rows.map((x) => `| ${x.join(' | ')} |`)].join('\n');
}
