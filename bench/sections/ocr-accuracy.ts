// OCR per engine (issue 11): every page of ../shared/corpus/ocr (and the Japanese set in
// test/fixtures/ja-ocr when present) through the extract pool on ONE thread, once per engine and model
// (auto, native best, wasm fast, wasm best), each page followed in the same process by the native
// tesseract CLI run as the seed's worker ran it (the original file, `tesseract FILE stdout -l LANGS`,
// OMP_THREAD_LIMIT=1). Ratios are taken page by page against that interleaved CLI run, so load from
// other processes on a shared machine hits both sides alike. CER = edit distance ÷ truth length,
// whitespace removed (Japanese has none; layout spacing is not what search depends on).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { editDistance } from '../../src/workers/extract/result.ts';
import { runChild } from '../harness/child.ts';
import { round, workerEnv, type BenchContext } from '../harness/context.ts';
import { CORPUS, corpusAvailable } from '../harness/corpus.ts';
import type { OcrProbeResult, StageTask } from '../harness/stage-probe.ts';

export type OcrEngineConfig = { label: string; env: Record<string, string> };
export type OcrPageRow = { corpus: string; name: string; cer: number; seconds: number; cliCer?: number; cliSeconds?: number };
export type OcrCorpusFigures = {
  corpus: string;
  pages: number;
  cer: number;
  secondsPerPage: number;
  cliCer?: number;
  cliSecondsPerPage?: number;
  timeRatio?: number;
  /** Time ratio over the pages the CLI reads too (its CER under 50 %): the same work on both sides. Turned or Japanese-only pages the CLI misses cost this engine an orientation check and a second read. */
  readByCliRatio?: number;
  readByCli?: number;
};
export type OcrEngineRun = { label: string; engine: string; model: string; corpora: OcrCorpusFigures[]; pages: OcrPageRow[]; error?: string };
export type OcrAccuracyResult = {
  langs: string;
  native: string;
  runs: OcrEngineRun[];
  /** Orientation detection, measured alone on every corpus page (native and wasm): seconds per call, and how many pages needed it. */
  osd?: { native?: number; wasm?: number; pagesNeeding: number; pages: number };
};

/** The engines compared; `auto` is the default configuration (native where the CLI is installed). */
export const OCR_ENGINE_CONFIGS: OcrEngineConfig[] = [
  { label: 'auto, fast (default)', env: { OCR_ENGINE: 'auto', OCR_MODEL: 'fast' } },
  { label: 'native, best', env: { OCR_ENGINE: 'native', OCR_MODEL: 'best' } },
  { label: 'wasm, fast', env: { OCR_ENGINE: 'wasm', OCR_MODEL: 'fast' } },
  { label: 'wasm, best', env: { OCR_ENGINE: 'wasm', OCR_MODEL: 'best' } },
];

const JA_CORPUS = fileURLToPath(new URL('../../test/fixtures/ja-ocr/', import.meta.url));

/** Ground truth: NAME.txt beside the image; rotated copies of phototest share phototest.txt. */
function truthFor(dir: string, image: string): string | undefined {
  const stem = image.replace(/\.[^.]+$/, '');
  for (const cand of [stem, stem.replace(/-rotated-.*$/, ''), stem.replace(/rot$/, '')]) {
    if (existsSync(`${dir}${cand}.txt`)) return `${dir}${cand}.txt`;
  }
  return undefined;
}

const fold = (s: string) => s.normalize('NFKC').replace(/\s+/g, '');

function nativeVersion(): string | undefined {
  try {
    return execFileSync('tesseract', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]?.trim();
  } catch {
    return undefined;
  }
}

type CorpusFile = { corpus: string; dir: string; name: string };

function corpusFiles(): CorpusFile[] {
  const out: CorpusFile[] = [];
  const add = (corpus: (name: string) => string, dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir).filter((f) => /\.(tif|png|jpg)$/i.test(f) && truthFor(dir, f)).sort()) out.push({ corpus: corpus(name), dir, name });
  };
  add(() => 'corpus/ocr', `${CORPUS}ocr/`);
  // The Japanese set in two rows, horizontal and vertical writing (its manifest says which page is which).
  const writing = new Map<string, string>();
  if (existsSync(`${JA_CORPUS}manifest.json`)) {
    for (const p of JSON.parse(readFileSync(`${JA_CORPUS}manifest.json`, 'utf8')) as { file: string; writing: string }[]) writing.set(p.file, p.writing);
  }
  add((name) => `ja-ocr ${writing.get(name) ?? ''}`.trim(), JA_CORPUS);
  return out;
}

export async function runOcrAccuracy(ctx: BenchContext): Promise<OcrAccuracyResult> {
  if (!corpusAvailable()) throw new Error(`the shared corpus is not at ${CORPUS}: OCR accuracy needs corpus/ocr`);
  const files = corpusFiles();
  const native = nativeVersion();
  const truths = new Map<string, string>();
  for (const f of files) truths.set(`${f.dir}${f.name}`, fold(await readFile(truthFor(f.dir, f.name)!, 'utf8')));
  const task: StageTask = { stage: 'ocr', native: native !== undefined, files: files.map((f) => ({ path: `${f.dir}${f.name}`, name: f.name, size: statSync(`${f.dir}${f.name}`).size })) };
  const runs: OcrEngineRun[] = [];
  for (const cfg of OCR_ENGINE_CONFIGS) {
    if (cfg.env.OCR_ENGINE === 'native' && !native) {
      runs.push({ label: cfg.label, engine: 'native', model: cfg.env.OCR_MODEL!, corpora: [], pages: [], error: 'tesseract CLI not installed' });
      continue;
    }
    ctx.progress(`ocr: ${cfg.label}: ${files.length} pages through one pool thread${native ? `, each followed by ${native}` : ''}`);
    try {
      const probe = await runChild<{ engine: string; rows: OcrProbeResult }>('./stage-probe.ts', task, workerEnv(ctx, ctx.emu.fixture.queueUrl, { POOL_SIZE: '1', ...cfg.env }), ctx.tmpRoot, 1_200_000);
      const pages: OcrPageRow[] = probe.rows.map((r, i) => {
        const f = files[i]!;
        const truth = truths.get(`${f.dir}${f.name}`)!;
        const row: OcrPageRow = { corpus: f.corpus, name: r.name, cer: round(editDistance(fold(r.text), truth) / [...truth].length, 3), seconds: round(r.seconds, 2) };
        if (r.nativeText !== undefined) {
          row.cliCer = round(editDistance(fold(r.nativeText), truth) / [...truth].length, 3);
          row.cliSeconds = round(r.nativeSeconds ?? 0, 2);
        }
        return row;
      });
      runs.push({ label: cfg.label, engine: probe.engine, model: cfg.env.OCR_MODEL!, corpora: figuresByCorpus(pages, files, truths), pages });
    } catch (err) {
      runs.push({ label: cfg.label, engine: cfg.env.OCR_ENGINE!, model: cfg.env.OCR_MODEL!, corpora: [], pages: [], error: (err instanceof Error ? err.message : String(err)).split('\n')[0] });
    }
  }
  ctx.progress('ocr: orientation detection cost per call');
  const osd = await runChild<OcrAccuracyResult['osd']>('./ocr-osd-probe.ts', { files: files.map((f) => `${f.dir}${f.name}`), native: native !== undefined }, process.env as Record<string, string>, ctx.tmpRoot, 600_000).catch(() => undefined);
  return { langs: process.env.OCR_LANGS || 'eng+jpn (default)', native: native ?? 'not installed', runs, ...(osd ? { osd } : {}) };
}

/** CER over all characters of a corpus (not the mean of pages) and seconds per page; ratio against the CLI. */
function figuresByCorpus(pages: OcrPageRow[], files: CorpusFile[], truths: Map<string, string>): OcrCorpusFigures[] {
  const out: OcrCorpusFigures[] = [];
  for (const corpus of [...new Set(pages.map((p) => p.corpus))]) {
    let edits = 0;
    let cliEdits = 0;
    let chars = 0;
    let secs = 0;
    let cliSecs = 0;
    let withCli = true;
    let n = 0;
    let sameSecs = 0;
    let sameCliSecs = 0;
    let same = 0;
    pages.forEach((p, i) => {
      if (p.corpus !== corpus) return;
      const f = files[i]!;
      const len = [...truths.get(`${f.dir}${f.name}`)!].length;
      chars += len;
      edits += p.cer * len;
      secs += p.seconds;
      n++;
      if (p.cliSeconds === undefined) withCli = false;
      else {
        cliEdits += (p.cliCer ?? 0) * len;
        cliSecs += p.cliSeconds;
        if ((p.cliCer ?? 1) < 0.5) {
          same++;
          sameSecs += p.seconds;
          sameCliSecs += p.cliSeconds;
        }
      }
    });
    out.push({
      corpus,
      pages: n,
      cer: round(edits / chars, 3),
      secondsPerPage: round(secs / n, 2),
      ...(withCli ? { cliCer: round(cliEdits / chars, 3), cliSecondsPerPage: round(cliSecs / n, 2), timeRatio: round(secs / cliSecs, 2) } : {}),
      ...(withCli && same ? { readByCli: same, readByCliRatio: round(sameSecs / sameCliSecs, 2) } : {}),
    });
  }
  return out;
}
