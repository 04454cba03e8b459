// 4. Memory: a backlog with 50 MB PDFs and a 100-megapixel image among ordinary documents, drained
// by the pipeline with production settings in its own process. Peak RSS is that process's: sampled
// every 50 ms from inside it and the kernel's high-water mark (VmHWM), whichever is higher.
import { join } from 'node:path';
import { round, type BenchContext } from '../harness/context.ts';
import { corpusAvailable, examplePdf, fullMix, quickMix, type MixFile } from '../harness/corpus.ts';
import { writeImageHeavyPdf, writeLargeImage, writeTruncatedCopy } from '../harness/big-files.ts';
import { drainWith, toRun, uploadMix, type WorkRun } from './full-work.ts';

export type MemoryResult = {
  peakRssMb: number;
  peakRssSampledMb: number;
  peakRssKernelMb: number;
  /** RSS with the pool warm and no document yet: what the documents added is the difference. */
  rssAtReadyMb: number;
  /** RSS at rest after the backlog, once the pool threads idled out (POOL_IDLE_SECONDS = idleSeconds). */
  rssIdleMb: number | undefined;
  /** Pool threads alive then (0 once they idled out). */
  threadsIdle: number | undefined;
  idleSeconds: number;
  limitMb: number;
  backlog: string[];
  run: WorkRun;
  /** Each large file alone, one pool thread: which file the peak comes from. */
  byFile: Array<{ file: string; peakRssMb: number; rssAtReadyMb: number; wallSeconds: number; status: string }>;
};

const MB = 1024 * 1024;
/** After its threads end, V8 keeps their freed heap pages pooled for 5-15 s before giving them back. */
export const IDLE_SETTLE_SECONDS = 20;

export async function runMemory(ctx: BenchContext): Promise<MemoryResult> {
  const m = ctx.opts.memory;
  ctx.progress(`memory: generating ${m.bigPdfs} × ${m.bigPdfMb} MB PDF and a ${m.imageMegapixels} MP image`);
  const big: MixFile[] = [];
  const bigLabels: string[] = [];
  const backlog: string[] = [];
  for (let i = 0; i < m.bigPdfs; i++) {
    const path = join(ctx.tmpRoot, `catalogue-${i + 1}.pdf`);
    const pdf = await writeImageHeavyPdf(path, m.bigPdfMb * MB);
    big.push({ kind: 'text PDF', path });
    bigLabels.push(`${(pdf.bytes / MB).toFixed(0)} MB PDF`);
    backlog.push(`${(pdf.bytes / MB).toFixed(1)} MB PDF, ${pdf.pages} pages each with a 2000×2000 JPEG and a text layer`);
  }
  const imgPath = join(ctx.tmpRoot, 'poster.png');
  const img = await writeLargeImage(imgPath, m.imageMegapixels);
  big.push({ kind: 'image', path: imgPath });
  bigLabels.push(`${round((img.width * img.height) / 1e6)} MP image`);
  backlog.push(`${img.width}×${img.height} PNG (${round((img.width * img.height) / 1e6)} MP) with text`);

  // Ordinary documents around them: the scans and some text PDFs and office files.
  let others: MixFile[];
  if (ctx.opts.quick) {
    others = []; // the smoke run: the large files only
  } else if (!corpusAvailable()) {
    const broken = join(ctx.tmpRoot, 'truncated-mem.pdf');
    await writeTruncatedCopy(examplePdf(), broken);
    others = quickMix(broken);
  } else {
    const mix = fullMix();
    others = [...mix.filter((f) => f.kind === 'scan').slice(0, 2), ...mix.filter((f) => f.kind === 'text PDF').slice(0, 5), ...mix.filter((f) => f.kind === 'office').slice(0, 5)];
  }
  if (others.length) backlog.push(`${others.length} ordinary documents (scans, text PDFs, office files)`);
  // Big files first, so they are in flight together with the rest.
  const objects = await uploadMix(ctx, [...big, ...others], 'memory');

  ctx.progress('memory: draining the backlog with the pipeline');
  const d = await drainWith(
    ctx,
    objects,
    'pipeline',
    { THUMBNAIL_URL: `s3://${ctx.emu.fixture.bucket}/thumbnails/`, POOL_SIZE: String(ctx.cores), POOL_IDLE_SECONDS: String(m.idleSeconds) },
    600_000,
    { idleAfterMs: (m.idleSeconds + IDLE_SETTLE_SECONDS) * 1000 },
  );
  const { r } = d;
  const run = toRun('memory', d, ctx.cores, ctx.cores);

  // Then each kind of large file alone, on one thread (one of the identical PDFs is enough).
  const byFile: MemoryResult['byFile'] = [];
  for (const i of ctx.opts.quick ? [] : [0, big.length - 1]) {
    ctx.progress(`memory: ${bigLabels[i]} alone, POOL_SIZE 1`);
    const one = await drainWith(ctx, [objects[i]!], 'pipeline', { POOL_SIZE: '1' });
    byFile.push({
      file: bigLabels[i]!,
      peakRssMb: round(Math.max(one.r.peakRssSampledMb, one.r.peakRssKernelMb)),
      rssAtReadyMb: round(one.r.rssAtReadyMb),
      wallSeconds: round(one.r.wallMs / 1000, 1),
      status: Object.keys(one.r.counts.statuses).join(', '),
    });
  }
  return {
    peakRssMb: round(Math.max(r.peakRssSampledMb, r.peakRssKernelMb)),
    peakRssSampledMb: round(r.peakRssSampledMb),
    peakRssKernelMb: round(r.peakRssKernelMb),
    rssAtReadyMb: round(r.rssAtReadyMb),
    rssIdleMb: r.rssIdleMb === undefined ? undefined : round(r.rssIdleMb),
    threadsIdle: r.threadsIdle,
    idleSeconds: m.idleSeconds,
    limitMb: 500,
    backlog,
    run,
    byFile,
  };
}
