// OCR accuracy and cost per page (issue 3 asks for it in the bench output): the scans in
// ../shared/corpus/ocr through the extract pool, one page at a time, and through native tesseract
// (one thread, as the Python worker called it per page) where it is installed. Character error rate
// = edit distance ÷ ground-truth length, after folding whitespace.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { runChild } from '../harness/child.ts';
import { round, workerEnv, type BenchContext } from '../harness/context.ts';
import { CORPUS, corpusAvailable } from '../harness/corpus.ts';
import type { OcrProbeResult, StageTask } from '../harness/stage-probe.ts';

export type OcrImage = { name: string; cer: number; seconds: number; nativeCer?: number; nativeSeconds?: number };
export type OcrAccuracyResult = {
  langs: string;
  images: OcrImage[];
  totalCer: number;
  nativeTotalCer?: number;
  secondsPerPage: number;
  nativeSecondsPerPage?: number;
  /** tesseract.js time ÷ native time, same images, including preprocessing. */
  timeRatio?: number;
  native: string;
};

/** Ground truth: NAME.txt beside the image; rotated copies of phototest share phototest.txt. */
function truthFor(dir: string, image: string): string | undefined {
  const stem = image.replace(/\.[^.]+$/, '');
  for (const cand of [stem, stem.replace(/-rotated-.*$/, ''), stem.replace(/rot$/, '')]) {
    if (existsSync(`${dir}${cand}.txt`)) return `${dir}${cand}.txt`;
  }
  return undefined;
}

const fold = (s: string) => s.normalize('NFKC').replace(/\s+/g, ' ').trim();

export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length]!;
}

function nativeVersion(): string | undefined {
  try {
    return execFileSync('tesseract', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]?.trim();
  } catch {
    return undefined;
  }
}

export async function runOcrAccuracy(ctx: BenchContext): Promise<OcrAccuracyResult> {
  if (!corpusAvailable()) throw new Error(`the shared corpus is not at ${CORPUS}: OCR accuracy needs corpus/ocr`);
  const dir = `${CORPUS}ocr/`;
  const images = readdirSync(dir).filter((f) => /\.(tif|png|jpg)$/i.test(f) && truthFor(dir, f)).sort();
  const native = nativeVersion();
  ctx.progress(`ocr: ${images.length} scans through the pool${native ? ` and ${native}` : ''}`);
  const task: StageTask = { stage: 'ocr', native: native !== undefined, files: images.map((name) => ({ path: `${dir}${name}`, name, size: statSync(`${dir}${name}`).size })) };
  // One pool thread: the figure is the cost of a page on one core, comparable with native per page.
  const rows = await runChild<OcrProbeResult>('./stage-probe.ts', task, workerEnv(ctx, ctx.emu.fixture.queueUrl, { POOL_SIZE: '1' }), ctx.tmpRoot, 600_000);
  const out: OcrImage[] = [];
  let edits = 0;
  let nativeEdits = 0;
  let truthChars = 0;
  for (const r of rows) {
    const truth = fold(await readFile(truthFor(dir, r.name)!, 'utf8'));
    const e = editDistance(fold(r.text), truth);
    edits += e;
    truthChars += [...truth].length;
    const img: OcrImage = { name: r.name, cer: round(e / [...truth].length, 3), seconds: round(r.seconds, 2) };
    if (r.nativeText !== undefined) {
      const ne = editDistance(fold(r.nativeText), truth);
      nativeEdits += ne;
      img.nativeCer = round(ne / [...truth].length, 3);
      img.nativeSeconds = round(r.nativeSeconds ?? 0, 2);
    }
    out.push(img);
  }
  const js = out.reduce((n, i) => n + i.seconds, 0);
  const nat = out.every((i) => i.nativeSeconds !== undefined) ? out.reduce((n, i) => n + (i.nativeSeconds ?? 0), 0) : undefined;
  return {
    langs: process.env.OCR_LANGS || 'eng+jpn (default)',
    images: out,
    totalCer: round(edits / truthChars, 3),
    ...(nat !== undefined ? { nativeTotalCer: round(nativeEdits / truthChars, 3), nativeSecondsPerPage: round(nat / out.length, 2), timeRatio: round(js / nat, 2) } : {}),
    secondsPerPage: round(js / out.length, 2),
    native: native ?? 'not installed',
  };
}
