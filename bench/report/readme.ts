// results/README.md: the latest full run, readable at a glance: machine, chart, tables and the targets
// (TARGETS in results.ts). The method and the analysis are prose, written by people: bench/README.md.
import { TARGETS, type BenchResults } from './results.ts';
import { machineLine, renderMarkdownTables } from './table.ts';

export function renderReadme(r: BenchResults): string {
  return `# Benchmark results

Written by \`npm run bench\` — do not edit by hand; run it again. Latest full run:
${machineLine(r)}.

How each figure is measured, and what limits it: [../README.md](../README.md).

![docs/min by configuration, control plane and scale-out, stage throughput](chart.svg)

${renderMarkdownTables(r)}
## Targets (read from the results, never asserted)

${targets(r)}
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
  const idle = r.memory?.rssIdleMb;
  rows.push(['RSS at rest after work', `< ${TARGETS.idleRssMb} MB`, idle === undefined ? '–' : `${idle} MB`, v(idle === undefined ? undefined : idle < TARGETS.idleRssMb)]);
  const sr = r.search && r.search.documents >= 100_000 ? r.search : undefined;
  rows.push(['search p95, 100,000 documents (SQLite)', `< ${TARGETS.searchP95Ms} ms`, sr ? `${sr.overall.p95Ms} ms` : '–', v(sr && sr.overall.p95Ms < TARGETS.searchP95Ms)]);
  return ['| figure | target | result | |', '| --- | --- | ---: | --- |', ...rows.map((x) => `| ${x.join(' | ')} |`)].join('\n');
}
