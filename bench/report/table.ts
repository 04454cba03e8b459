// The readable table printed on stdout (and reused, as Markdown, in results/README.md).
import { TARGETS, type BenchResults } from './results.ts';
import { IDLE_SETTLE_SECONDS } from '../sections/memory.ts';

export const fmt = (x: number | undefined, digits = 0): string =>
  x === undefined || Number.isNaN(x) ? '–' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (x: number | undefined) => (x === undefined ? '–' : `${Math.round(x * 100)} %`);
const pct1 = (x: number | undefined) => (x === undefined ? '–' : `${(x * 100).toFixed(1)} %`);
const times = (x: number | undefined) => (x === undefined ? '–' : `${x.toFixed(2)}×`);
const verdict = (ok: boolean) => (ok ? 'met' : 'missed');

export type Block = { title: string; head: string[]; rows: string[][]; notes?: string[] };

/** Every section as a titled block of rows: the one source for both renderings. */
export function blocks(r: BenchResults): Block[] {
  const out: Block[] = [];
  const cp = r.controlPlane;
  const rtt = r.controlPlaneRtt;
  if (cp || rtt) {
    const rows: string[][] = [];
    if (cp) rows.push(['bare loopback', fmt(cp.seedLoopMsgsPerMin), fmt(cp.pipelineMsgsPerMin), times(cp.ratio), `≥ ${TARGETS.controlPlaneRatio}× ${verdict(cp.ratio >= TARGETS.controlPlaneRatio)}`, `${cp.cpuMsPerMsg.seedLoop} / ${cp.cpuMsPerMsg.pipeline}`]);
    if (rtt) rows.push([`${rtt.rttMs} ms per SQS call`, fmt(rtt.seedLoopMsgsPerMin), fmt(rtt.pipelineMsgsPerMin), times(rtt.ratio), `≥ ${TARGETS.controlPlaneRttRatio}× ${verdict(rtt.ratio >= TARGETS.controlPlaneRttRatio)}`, `${rtt.cpuMsPerMsg.seedLoop} / ${rtt.cpuMsPerMsg.pipeline}`]);
    const other = [cp?.otherLoad.seedLoop, cp?.otherLoad.pipeline, rtt?.otherLoad.seedLoop, rtt?.otherLoad.pipeline].filter((x): x is number => x !== undefined);
    out.push({
      title: '1. Control plane — tiny objects, no-op extract (msgs/min)',
      head: ['network', 'seed loop', 'pipeline', 'ratio', 'target', 'worker CPU ms/msg (seed / pipeline)'],
      rows,
      notes: [`best of ${(cp ?? rtt)!.runs.pipeline.length} runs each; other processes used up to ${pct(other.length ? Math.max(...other) : undefined)} of the cores meanwhile`],
    });
  }
  if (r.stageFigures?.length) {
    out.push({
      title: '2. Per stage — each stage alone, fed from memory',
      head: ['stage', 'variant', 'items/s', 'MB/s', 'pages/s', 'CPU ms/item', 'note'],
      rows: r.stageFigures.map((s) => [s.stage, s.variant, fmt(s.itemsPerSec, s.itemsPerSec < 10 ? 2 : 0), fmt(s.mbPerSec, 2), s.pagesPerSec === undefined ? '' : fmt(s.pagesPerSec, 1), fmt(s.cpuMsPerItem, s.cpuMsPerItem < 10 ? 2 : 0), s.note ?? '']),
    });
  }
  const fw = r.fullPipeline;
  if (fw) {
    const s = fw.sequential;
    const p = fw.pipeline;
    const kinds = Object.entries(fw.mix.byKind).map(([k, n]) => `${n} ${k}`).join(', ');
    out.push({
      title: `3. Full work — ${fw.mix.documents} documents (${kinds}; ${fmt(fw.mix.bytes / 2 ** 20, 1)} MB)`,
      head: ['', 'sequential', 'pipeline', 'ratio', 'target'],
      rows: [
        ['docs/min', fmt(s.docsPerMin, 1), fmt(p.docsPerMin, 1), times(fw.ratio), `≥ ${TARGETS.fullWorkRatio}× ${verdict(fw.ratio >= TARGETS.fullWorkRatio)}`],
        ['pages/min', fmt(s.pagesPerMin, 1), fmt(p.pagesPerMin, 1), times(p.pagesPerMin / s.pagesPerMin), ''],
        ['CPU use (CPU-s ÷ wall × cores)', pct(s.cpuUtilization), pct(p.cpuUtilization), '', `≥ ${pct(TARGETS.cpuUtilization)} ${verdict(p.cpuUtilization >= TARGETS.cpuUtilization)}`],
        ['pool threads (share busy with a document)', `${s.poolSize} (${pct(s.poolBusy)})`, `${p.poolSize} (${pct(p.poolBusy)})`, '', ''],
        ['wall, s', fmt(s.wallSeconds, 1), fmt(p.wallSeconds, 1), '', ''],
        ['documents / pages / OCR pages', `${s.docs} / ${s.pages} / ${s.ocrPages}`, `${p.docs} / ${p.pages} / ${p.ocrPages}`, '', ''],
        ['other processes on the machine', pct(s.otherLoad), pct(p.otherLoad), '', ''],
        ['peak RSS, MB (warm, idle)', `${fmt(s.peakRssMb)} (${fmt(s.rssAtReadyMb)})`, `${fmt(p.peakRssMb)} (${fmt(p.rssAtReadyMb)})`, '', ''],
        ['statuses', statusText(s.statuses), statusText(p.statuses), '', ''],
        ...(fw.ocrEngines ?? []).map((e) => [`pipeline with OCR_ENGINE=${e.engine}: docs/min · pages/min · peak RSS MB (process)`, '', e.error ? `failed: ${e.error}` : `${fmt(e.docsPerMin, 1)} · ${fmt(e.pagesPerMin, 1)} · ${fmt(e.peakRssMb)}`, '', '']),
      ],
    });
  }
  const m = r.memory;
  if (m) {
    out.push({
      title: '4. Memory — peak RSS of the pipeline process',
      head: ['peak RSS, MB', 'sampled / VmHWM', 'RSS warm / at rest', 'limit / target', 'docs', 'wall, s'],
      rows: [[fmt(m.peakRssMb), `${fmt(m.peakRssSampledMb)} / ${fmt(m.peakRssKernelMb)}`, `${fmt(m.rssAtReadyMb)} / ${fmt(m.rssIdleMb)}`, `< ${m.limitMb} / < ${TARGETS.peakRssMb} ${verdict(m.peakRssMb < TARGETS.peakRssMb)}`, `${m.run.docs} (${statusText(m.run.statuses)})`, fmt(m.run.wallSeconds, 1)]],
      notes: [
        `backlog: ${m.backlog.join('; ')}`,
        ...(m.rssIdleMb === undefined ? [] : [`at rest: ${m.idleSeconds + IDLE_SETTLE_SECONDS} s after the backlog, POOL_IDLE_SECONDS=${m.idleSeconds}, ${m.threadsIdle ?? '?'} pool threads left: ${fmt(m.rssIdleMb)} MB (target < ${TARGETS.idleRssMb}: ${verdict(m.rssIdleMb < TARGETS.idleRssMb)})`]),
        ...m.byFile.map((f) => `alone on one thread: ${f.file}: peak ${fmt(f.peakRssMb)} MB (idle ${fmt(f.rssAtReadyMb)}), ${f.wallSeconds} s, ${f.status}`),
      ],
    });
  }
  if (r.poolScaling?.runs.length) {
    const base = r.poolScaling.runs[0]!.docsPerMin;
    out.push({
      title: '5. Pool scaling — full work, pipeline',
      head: ['POOL_SIZE', 'docs/min', 'pages/min', 'vs first', 'CPU use', 'peak RSS, MB', 'other processes'],
      rows: r.poolScaling.runs.map((p) =>
        p.error ? [String(p.poolSize), `FAILED: ${p.error.slice(0, 80)}`, '', '', '', '', ''] : [String(p.poolSize), fmt(p.docsPerMin, 1), fmt(p.pagesPerMin, 1), times(p.docsPerMin / base), pct(p.cpuUtilization), fmt(p.peakRssMb), pct(p.otherLoad)],
      ),
    });
  }
  const so = r.scaleOut;
  if (so) {
    out.push({
      title: `6. Scale-out — worker processes on one queue, control plane, ${so.rttMs} ms per SQS call (${fmt(so.messages)} messages)`,
      head: ['processes', 'msgs/min (all)', 'msgs/min each', 'speedup', 'messages per process', 'CPU: workers / emulator+proxy / other processes'],
      rows: so.runs.map((x) => [String(x.processes), fmt(x.msgsPerMin), fmt(x.msgsPerMin / x.processes), times(x.speedup), x.perProcess.join(' / '), `${pct(x.workerCpuShare)} / ${pct(x.emulatorCpuShare)} / ${pct(x.otherLoad)}`]),
    });
  }
  const o = r.ocr;
  if (o?.runs) {
    const rows: string[][] = [];
    for (const run of o.runs) {
      if (run.error) {
        rows.push([run.label, '–', '–', '–', '–', '–', '–', '–', '–', `not run: ${run.error}`]);
        continue;
      }
      const goal = run.label.startsWith('auto') ? TARGETS.ocrAutoRatio : run.engine.startsWith('wasm') ? TARGETS.ocrWasmRatio : undefined;
      for (const c of run.corpora) {
        const ratio = c.readByCliRatio ?? c.timeRatio;
        const met = goal === undefined || ratio === undefined ? '' : `≤ ${goal}× ${verdict(ratio <= goal && (!run.label.startsWith('auto') || c.cer <= (c.cliCer ?? 1)))}`;
        rows.push([run.label, run.engine.split(' ')[0]!, c.corpus, String(c.pages), fmt(c.secondsPerPage, 2), fmt(c.cliSecondsPerPage, 2), times(c.timeRatio), c.readByCli === undefined ? '–' : `${times(c.readByCliRatio)} (${c.readByCli})`, pct1(c.cer), `${pct1(c.cliCer)}${met ? ` · ${met}` : ''}`]);
      }
    }
    const osd = o.osd;
    out.push({
      title: `OCR — per page on one thread, each page followed by the native CLI in the same process (${o.langs})`,
      head: ['configuration', 'engine', 'corpus', 'pages', 's/page', 'CLI s/page', 'time ÷ CLI', '÷ CLI, pages the CLI reads (n)', 'CER', 'CLI CER · target'],
      rows,
      notes: [
        `CLI: ${o.native}, \`tesseract FILE stdout -l LANGS\` on the original file, OMP_THREAD_LIMIT=1; targets: auto ≤ ${TARGETS.ocrAutoRatio}× at equal or lower CER, wasm ≤ ${TARGETS.ocrWasmRatio}×, judged on the pages the CLI reads too (the same work: turned and Japanese-only pages, which the CLI returns as garbage, cost this project an orientation check and a second read)`,
        'timings on a shared machine (other sessions running): compare the ratios, taken page by page in the same process, not the absolute seconds',
        ...(osd ? [`orientation detection (OSD) per call: native ${fmt(osd.native, 2)} s, wasm ${fmt(osd.wasm, 2)} s; needed (first read below the confidence bar) on ${osd.pagesNeeding} of ${osd.pages} pages`] : []),
      ],
    });
  }
  const sr = r.search;
  if (sr) {
    const met = sr.documents >= 100_000 ? `< ${TARGETS.searchP95Ms} ms ${verdict(sr.overall.p95Ms < TARGETS.searchP95Ms)}` : `(target is for 100,000 documents)`;
    out.push({
      title: `Search latency — SQLite index of ${fmt(sr.documents)} generated documents (~${fmt(sr.textChars)} chars each, ${fmt(sr.indexMb, 1)} MB; built in ${fmt(sr.buildSeconds, 1)} s)`,
      head: ['queries', 'n', 'p50 ms', 'p95 ms', 'max ms', 'CPU p50 / p95 ms', 'target p95'],
      rows: [
        ...Object.entries(sr.byClass).map(([k, l]) => [k, String(l.queries), fmt(l.p50Ms, 1), fmt(l.p95Ms, 1), fmt(l.maxMs, 1), `${fmt(l.cpuP50Ms, 1)} / ${fmt(l.cpuP95Ms, 1)}`, '']),
        ['all', String(sr.overall.queries), fmt(sr.overall.p50Ms, 1), fmt(sr.overall.p95Ms, 1), fmt(sr.overall.maxMs, 1), `${fmt(sr.overall.cpuP50Ms, 1)} / ${fmt(sr.overall.cpuP95Ms, 1)}`, met],
      ],
      notes: ['one query = what `serve` answers: total, status/type facets and a page of 20 hits with snippets, in-process (no HTTP); CPU = the bench process\'s CPU time per query, what it costs on an idle core'],
    });
  }
  const rd = r.redelivery;
  if (rd) {
    const row = (x: typeof rd.cold, speedup?: number) => [x.label, String(x.messages), fmt(x.msgsPerMin, 1), speedup === undefined ? '' : times(speedup), fmt(x.wallSeconds, 1), String(x.extracted), pct(x.otherLoad)];
    out.push({
      title: `Re-delivery — the mix (${rd.documents} documents) drained cold, then every event again, then the same bytes under new keys`,
      head: ['run', 'messages', 'msgs/min', 'vs cold', 'wall, s', 'documents written', 'other processes'],
      rows: [row(rd.cold), row(rd.redelivered, rd.redeliveredSpeedup), row(rd.copies, rd.copiesSpeedup)],
      notes: ['one index for the three runs; a re-delivered event for an indexed version ends before its download, a copy is downloaded and hashed but not extracted (documents written: 0 for skipped events, one per copy)'],
    });
  }
  for (const [name, err] of Object.entries(r.errors)) out.push({ title: `${name}: FAILED`, head: ['error'], rows: [[err.split('\n')[0] ?? err]] });
  return out;
}

function statusText(s: Record<string, number>): string {
  return Object.entries(s).map(([k, n]) => `${k} ${n}`).join(', ');
}

export function machineLine(r: BenchResults): string {
  const m = r.machine;
  return `${m.date.slice(0, 16).replace('T', ' ')} UTC · ${m.cores} cores (${m.cpuModel}) · ${m.memoryGb} GB · Node ${m.node} · ${m.platform} · load avg at start ${m.loadAvg}${r.quick ? ' · QUICK run (tiny sizes)' : ''}${r.durationSeconds ? ` · ${r.durationSeconds} s` : ''}`;
}

/** Plain-text table for the terminal. */
export function renderTable(r: BenchResults): string {
  const lines = [`filesearch-worker bench — ${machineLine(r)}`, ''];
  for (const b of blocks(r)) {
    lines.push(b.title);
    const rows = [b.head, ...b.rows];
    const widths = b.head.map((_, i) => Math.min(60, Math.max(...rows.map((row) => (row[i] ?? '').length))));
    for (const row of rows) lines.push(`  ${row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd()}`);
    for (const n of b.notes ?? []) lines.push(`  ${n}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The same blocks as Markdown tables. */
export function renderMarkdownTables(r: BenchResults): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out: string[] = [];
  for (const b of blocks(r)) {
    out.push(`**${b.title}**`, '', `| ${b.head.map(esc).join(' | ')} |`, `|${b.head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const row of b.rows) out.push(`| ${row.map(esc).join(' | ')} |`);
    for (const n of b.notes ?? []) out.push('', n);
    out.push('');
  }
  return out.join('\n');
}
