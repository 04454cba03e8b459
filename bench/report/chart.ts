// results/chart.svg: horizontal bars, written by hand (no chart library). Three panels: documents
// per minute by configuration, the control plane and scale-out, and every stage's items per second
// on a log scale (they span five orders of magnitude).
import type { BenchResults } from './results.ts';
import { fmt } from './table.ts';

type Bar = { label: string; value: number; text: string; color: string };

const W = 820;
const LABEL_W = 300;
const BAR_MAX = W - LABEL_W - 200;
const ROW = 22;
const BLUE = '#3b6fb6';
const GREY = '#9aa5b1';
const GREEN = '#3f8f5a';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panel(y0: number, title: string, bars: Bar[], log = false): { svg: string; height: number } {
  const parts = [`<text x="12" y="${y0 + 18}" class="title">${esc(title)}</text>`];
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const min = log ? Math.max(Math.min(...bars.filter((b) => b.value > 0).map((b) => b.value)) / 2, 1e-3) : 0;
  const scale = (v: number) => {
    if (v <= 0) return 0;
    if (!log) return (v / max) * BAR_MAX;
    return Math.max(2, (Math.log10(v / min) / Math.log10(max / min)) * BAR_MAX);
  };
  bars.forEach((b, i) => {
    const y = y0 + 30 + i * ROW;
    const w = scale(b.value);
    parts.push(
      `<text x="${LABEL_W - 8}" y="${y + 14}" class="label" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${LABEL_W}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW - 6}" fill="${b.color}" rx="2"/>`,
      `<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${y + 14}" class="value">${esc(b.text)}</text>`,
    );
  });
  if (log) parts.push(`<text x="${LABEL_W}" y="${y0 + 30 + bars.length * ROW + 12}" class="note">log scale</text>`);
  return { svg: parts.join('\n'), height: 30 + bars.length * ROW + (log ? 26 : 14) };
}

export function renderChart(r: BenchResults): string {
  const panels: Array<{ title: string; bars: Bar[]; log?: boolean }> = [];
  const fw = r.fullPipeline;
  if (fw) {
    const bars: Bar[] = [{ label: 'sequential worker (1 pool thread)', value: fw.sequentialDocsPerMin, text: `${fmt(fw.sequentialDocsPerMin, 1)} docs/min`, color: GREY }];
    for (const p of (r.poolScaling?.runs ?? []).filter((x) => !x.error)) bars.push({ label: `pipeline, POOL_SIZE ${p.poolSize}`, value: p.docsPerMin, text: `${fmt(p.docsPerMin, 1)} docs/min`, color: BLUE });
    if (!r.poolScaling?.runs.length) bars.push({ label: 'pipeline', value: fw.pipelineDocsPerMin, text: `${fmt(fw.pipelineDocsPerMin, 1)} docs/min`, color: BLUE });
    panels.push({ title: `Full work: documents per minute (${fw.mix.documents}-document mix)`, bars });
  }
  const cp = r.controlPlane;
  const rtt = r.controlPlaneRtt;
  if (cp || rtt) {
    const bars: Bar[] = [];
    if (cp) {
      bars.push({ label: 'seed loop, loopback', value: cp.seedLoopMsgsPerMin, text: `${fmt(cp.seedLoopMsgsPerMin)} msgs/min`, color: GREY });
      bars.push({ label: 'pipeline, loopback', value: cp.pipelineMsgsPerMin, text: `${fmt(cp.pipelineMsgsPerMin)} msgs/min (${cp.ratio}×)`, color: BLUE });
    }
    if (rtt) {
      bars.push({ label: `seed loop, ${rtt.rttMs} ms per call`, value: rtt.seedLoopMsgsPerMin, text: `${fmt(rtt.seedLoopMsgsPerMin)} msgs/min`, color: GREY });
      bars.push({ label: `pipeline, ${rtt.rttMs} ms per call`, value: rtt.pipelineMsgsPerMin, text: `${fmt(rtt.pipelineMsgsPerMin)} msgs/min (${rtt.ratio}×)`, color: BLUE });
    }
    for (const s of r.scaleOut?.runs ?? []) {
      bars.push({ label: `${s.processes} worker process${s.processes > 1 ? 'es' : ''}, ${r.scaleOut!.rttMs} ms per call`, value: s.msgsPerMin, text: `${fmt(s.msgsPerMin)} msgs/min (${s.speedup}×)`, color: GREEN });
    }
    panels.push({ title: 'Control plane and scale-out: messages per minute (tiny objects, no-op extract)', bars });
  }
  if (r.stageFigures?.length) {
    panels.push({
      title: 'Each stage alone: items per second',
      log: true,
      bars: r.stageFigures
        .filter((s) => s.items > 0)
        .map((s) => ({
          label: `${s.stage}: ${s.variant}`.slice(0, 46),
          value: s.itemsPerSec,
          text: `${fmt(s.itemsPerSec, s.itemsPerSec < 10 ? 2 : 0)}/s${s.mbPerSec >= 0.01 ? ` · ${fmt(s.mbPerSec, s.mbPerSec < 1 ? 2 : 1)} MB/s` : ''}`,
          color: BLUE,
        })),
    });
  }
  let y = 44;
  const body: string[] = [];
  for (const p of panels) {
    const out = panel(y, p.title, p.bars, p.log);
    body.push(out.svg);
    y += out.height + 16;
  }
  const m = r.machine;
  const header = `filesearch-worker bench · ${m.date.slice(0, 10)} · ${m.cores} cores ${m.cpuModel} · Node ${m.node}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>
.title { font-size: 14px; font-weight: 600; fill: #1f2933; }
.label { font-size: 12px; fill: #323f4b; }
.value { font-size: 12px; fill: #1f2933; }
.note { font-size: 11px; fill: #7b8794; }
.head { font-size: 12px; fill: #52606d; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="12" y="24" class="head">${esc(header)}</text>
${body.join('\n')}
</svg>
`;
}
