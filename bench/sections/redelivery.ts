// 8. Re-delivery: work that should not be done twice. The mix is drained once into a fresh index (cold),
// then every event is delivered again (100 % duplicates of versions the index holds: no download), then
// the same bytes arrive under new keys (copies: downloaded and hashed, not extracted). All three drain
// the same index; figures are messages finished per minute, side by side in one run.
import { join } from 'node:path';
import type { StoredObject } from '../harness/emulator.ts';
import { mapLimit } from '../harness/map-limit.ts';
import { perMin, round, type BenchContext } from '../harness/context.ts';
import { examplePdf, fullMix, quickMix, corpusAvailable, type MixFile } from '../harness/corpus.ts';
import { writeTruncatedCopy } from '../harness/big-files.ts';
import { drainWith, uploadMix } from './full-work.ts';

export type RedeliveryRun = { label: string; messages: number; wallSeconds: number; msgsPerMin: number; extracted: number; otherLoad: number | undefined };
export type RedeliveryResult = { documents: number; cold: RedeliveryRun; redelivered: RedeliveryRun; copies: RedeliveryRun; redeliveredSpeedup: number; copiesSpeedup: number };

export async function runRedelivery(ctx: BenchContext): Promise<RedeliveryResult> {
  let files: MixFile[];
  if (ctx.opts.fullWork.mix === 'full' && corpusAvailable()) files = fullMix();
  else {
    const broken = join(ctx.tmpRoot, 'truncated-redelivery.pdf');
    await writeTruncatedCopy(examplePdf(), broken);
    files = quickMix(broken);
  }
  ctx.progress(`re-delivery: uploading ${files.length} documents`);
  const objects = await uploadMix(ctx, files, 'redelivery');
  const env = { INDEX_URL: `sqlite:${join(ctx.tmpRoot, 'redelivery.db')}`, POOL_SIZE: String(ctx.cores) };

  const run = async (label: string, objs: StoredObject[]): Promise<RedeliveryRun> => {
    ctx.progress(`re-delivery: ${label}`);
    const { r, otherLoad } = await drainWith(ctx, objs, 'pipeline', env);
    return {
      label,
      messages: r.counts.deleted,
      wallSeconds: round(r.wallMs / 1000, 2),
      msgsPerMin: round(perMin(r.counts.deleted, r.wallMs), 1),
      // Documents written with pages: a reused extraction is written too, so count what was not skipped.
      extracted: r.counts.docs,
      otherLoad,
    };
  };
  const cold = await run('cold (empty index)', objects);
  const redelivered = await run('every event again (versions already indexed)', objects);
  ctx.progress('re-delivery: uploading copies under new keys');
  const copies = await mapLimit(files, 4, (f, i) => ctx.emu.putFile(`redelivery-copies/${String(i).padStart(3, '0')}-${f.path.split('/').pop()}`, f.path));
  const copied = await run('the same bytes under new keys', copies);
  return {
    documents: objects.length,
    cold,
    redelivered,
    copies: copied,
    redeliveredSpeedup: round(redelivered.msgsPerMin / Math.max(cold.msgsPerMin, 1e-9), 1),
    copiesSpeedup: round(copied.msgsPerMin / Math.max(cold.msgsPerMin, 1e-9), 1),
  };
}
