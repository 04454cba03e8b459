// 2. Per stage: each stage alone, fed from memory, in its own process: receive and delete against
// the emulator's queue, download by object size from its S3, extract by file type with the real
// pool, index into SQLite and into the OpenSearch double. Items/s, MB/s and CPU per item.
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { startOpenSearchDouble } from '../../test/helpers/opensearch-double.ts';
import { runChild } from '../harness/child.ts';
import { round, workerEnv, type BenchContext } from '../harness/context.ts';
import { mapLimit } from '../harness/map-limit.ts';
import { extractSamples } from '../harness/corpus.ts';
import type { Measure, StageProbeResult, StageTask } from '../harness/stage-probe.ts';

export type StageFigure = {
  stage: string;
  variant: string;
  items: number;
  itemsPerSec: number;
  mbPerSec: number;
  cpuMsPerItem: number;
  pagesPerSec?: number;
  note?: string;
};

const MB = 1024 * 1024;

function figure(stage: string, variant: string, m: Measure, note?: string): StageFigure {
  const s = m.wallMs / 1000;
  return {
    stage,
    variant,
    items: m.items,
    itemsPerSec: round(m.items / s, 1),
    mbPerSec: round(m.bytes / MB / s, 2),
    cpuMsPerItem: round(m.cpuMs / Math.max(1, m.items), 3),
    ...(m.pages !== undefined ? { pagesPerSec: round(m.pages / s, 2) } : {}),
    ...(note ? { note } : {}),
  };
}

export async function runStages(ctx: BenchContext): Promise<StageFigure[]> {
  const o = ctx.opts.stages;
  const out: StageFigure[] = [];
  const probe = (task: StageTask, queueUrl = ctx.emu.fixture.queueUrl, extra: Record<string, string> = {}) =>
    runChild<StageProbeResult>('./stage-probe.ts', task, workerEnv(ctx, queueUrl, extra), ctx.tmpRoot, 600_000);

  // Receive and delete: a full queue of S3 event messages.
  ctx.progress('stages: receive and delete');
  const objects = await mapLimit(Array.from({ length: 50 }, (_, i) => i), 16, (i) => ctx.emu.putBytes(`stage/recv/obj-${i}.txt`, `object ${i}`));
  const q = ctx.emu.newQueue('stage-receive');
  const refs = Array.from({ length: o.receiveMessages }, (_, i) => objects[i % objects.length]!);
  ctx.emu.enqueueUpserts(q.name, refs);
  const bodyBytes = (ctx.emu.fixture.server.inspectQueue(q.name)?.messages.ready ?? []).reduce((n, m) => n + Buffer.byteLength(m.body), 0);
  const rd = await probe({ stage: 'receive+delete', messages: o.receiveMessages, bodyBytes }, q.url);
  out.push(figure('receive', 'batches of 10, 2 pollers', rd.receive!));
  out.push(figure('delete', 'batches of 10, 4 in flight', rd.delete!));

  // Download by object size (random bytes, so nothing compresses).
  for (const d of o.downloads) {
    ctx.progress(`stages: download ${d.label}`);
    const stored = await ctx.emu.putBytes(`stage/download/${d.label.replace(/\s/g, '')}.bin`, randomBytes(d.bytes), 'application/octet-stream');
    const list = Array.from({ length: d.count }, () => stored);
    const r = await probe({ stage: 'download', bucket: ctx.emu.fixture.bucket, objects: list });
    out.push(figure('download', d.label, r.download!, '8 at once'));
  }

  // Extract by file type, with the real pool (POOL_SIZE = cores).
  ctx.progress('stages: extract by file type');
  const samples = extractSamples(ctx.opts.quick);
  const groups = await Promise.all(
    samples.map(async (s) => {
      const size = (await stat(s.path)).size;
      const copies = s.ocr ? Math.min(ctx.cores, o.extractCopies) : o.extractCopies;
      return { label: s.label, files: Array.from({ length: copies }, () => ({ path: s.path, name: basename(s.path), size })) };
    }),
  );
  try {
    const r = await probe({ stage: 'extract', groups });
    for (const s of samples) {
      const m = r[s.label]!;
      const detail = Object.entries(m.detail ?? {}).map(([k, v]) => `${k} ${v}`).join(', ');
      out.push(figure('extract', s.label, m, `${basename(s.path)} ×${m.items}; ${detail}`));
    }
  } catch (err) {
    out.push({ stage: 'extract', variant: 'all types', items: 0, itemsPerSec: 0, mbPerSec: 0, cpuMsPerItem: 0, note: `failed: ${String(err).split('\n')[0]}` });
  }

  // Index: SQLite file and the OpenSearch double (an in-memory stand-in: it measures the client side).
  ctx.progress('stages: index');
  const sq = await probe({ stage: 'index', target: 'sqlite', docs: o.indexDocs, textChars: o.indexTextChars });
  for (const [k, m] of Object.entries(sq)) out.push(figure('index', k.replace(/^index \((.*)\)$/, '$1'), m, `batches of 100, ${o.indexTextChars} chars each`));
  const os = await startOpenSearchDouble();
  try {
    const r = await probe({ stage: 'index', target: 'opensearch', url: os.url, docs: o.indexDocs, textChars: o.indexTextChars });
    for (const [k, m] of Object.entries(r)) out.push(figure('index', k.replace(/^index \((.*)\)$/, '$1'), m, 'double runs in the bench process'));
  } finally {
    await os.stop();
  }
  return out;
}

/** stage -> variant -> figures, for latest.json. */
export function stagesByName(figures: StageFigure[]): Record<string, Record<string, Omit<StageFigure, 'stage' | 'variant'>>> {
  const out: Record<string, Record<string, Omit<StageFigure, 'stage' | 'variant'>>> = {};
  for (const { stage, variant, ...rest } of figures) (out[stage] ??= {})[variant] = rest;
  return out;
}
