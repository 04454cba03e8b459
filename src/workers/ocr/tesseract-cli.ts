// The native engine: the tesseract 5 CLI, one child process per call. The page goes in on stdin as
// an uncompressed graymap (encoding PNG would cost seconds on a big scan), TSV comes back on stdout.
// OMP_THREAD_LIMIT=1: the pool already runs one OCR per core. Each pool thread has at most one child
// at a time, so POOL_SIZE stays the OCR concurrency; a call past its deadline kills its child.
// In a pool thread the child is spawned by the MAIN thread (spawner.ts) on the thread's behalf: a
// child spawned by a thread that is then terminated (document deadline, memory governor) is never
// reaped and stays a zombie; the main thread lives as long as the process and kills a dead thread's child.
import { execFileSync } from 'node:child_process';
import type { OcrEngine, OcrImage, OcrModel, OcrRead, OcrReadRequest, Orientation } from './engine.ts';
import { OcrEngineError, OcrTimeoutError, parseTsv } from './engine.ts';
import { nativeTessdataDir } from './models.ts';
import { requestRun, runProcess } from './spawner.ts';
import type { ProcessResult } from './spawner.ts';

export const TESSERACT_BIN = 'tesseract';

export type NativeProbe = { usable: true; version: string; langs: string[] } | { usable: false; reason: string };

/** Is the CLI on PATH with every language needed (and osd)? Run once, in the main thread. */
export function probeNative(langs: string[], bin = TESSERACT_BIN): NativeProbe {
  let version: string;
  let listed: string[];
  try {
    version = execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }).split('\n')[0]!.trim();
    const out = execFileSync(bin, ['--list-langs'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    listed = out.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { usable: false, reason: code === 'ENOENT' ? `${bin} is not on PATH` : `${bin} does not run: ${(err as Error).message.split('\n')[0]}` };
  }
  const major = Number(/(\d+)\./.exec(version)?.[1] ?? 0);
  if (major < 4) return { usable: false, reason: `${version} is too old (tesseract 4 or 5 needed)` };
  const missing = [...new Set([...langs, 'osd'])].filter((l) => !listed.includes(l));
  if (missing.length) return { usable: false, reason: `${version} lacks language data for ${missing.join(', ')}` };
  return { usable: true, version, langs: listed };
}

/** Portable graymap: Leptonica reads it without decoding work. */
export function toPgm(img: OcrImage): Buffer {
  return Buffer.concat([Buffer.from(`P5\n${img.width} ${img.height}\n255\n`, 'latin1'), img.data]);
}

export class NativeEngine implements OcrEngine {
  readonly kind = 'native';
  readonly model: OcrModel;
  readonly #bin: string;
  readonly #viaMain: boolean;
  readonly #inFlight = new Set<AbortController>();

  /** viaMain: spawn through the main thread's spawner (pool threads); else spawn here (main thread, tests). */
  constructor(opts: { model: OcrModel; bin?: string; viaMain?: boolean }) {
    this.model = opts.model;
    this.#bin = opts.bin ?? TESSERACT_BIN;
    this.#viaMain = opts.viaMain ?? false;
  }

  async read(img: OcrImage, req: OcrReadRequest): Promise<OcrRead> {
    const args = ['-', '-', '-l', req.langs, '--psm', String(req.psm ?? 3), '--dpi', String(img.dpi), '-c', 'tessedit_create_tsv=1'];
    const tsv = await this.#run(args, req.langs.split('+'), img, req.timeoutMs);
    return parseTsv(tsv);
  }

  async orientation(img: OcrImage, timeoutMs: number): Promise<Orientation | undefined> {
    const out = await this.#run(['-', '-', '--psm', '0', '--dpi', String(img.dpi)], [], img, timeoutMs, true);
    return parseOsd(out);
  }

  async close(): Promise<void> {
    for (const ac of this.#inFlight) ac.abort();
    this.#inFlight.clear();
  }

  async #run(args: string[], langs: string[], img: OcrImage, timeoutMs: number, osd = false): Promise<string> {
    if (timeoutMs <= 0) throw new OcrTimeoutError('page OCR deadline reached');
    const dir = nativeTessdataDir(this.model, langs);
    const argv = dir ? ['--tessdata-dir', dir, ...args] : args;
    const ac = new AbortController();
    this.#inFlight.add(ac);
    let r: ProcessResult;
    try {
      const job = { bin: this.#bin, args: argv, input: toPgm(img), timeoutMs, env: { OMP_THREAD_LIMIT: '1' } };
      r = this.#viaMain ? await requestRun(job, ac.signal) : await runProcess(job, ac.signal);
    } finally {
      this.#inFlight.delete(ac);
    }
    if (r.timedOut) throw new OcrTimeoutError(`page OCR took longer than ${timeoutMs} ms; the tesseract process was killed`);
    if (r.error) throw new OcrEngineError(`tesseract could not run: ${r.error}`);
    if (r.code !== 0) {
      const missing = [...r.stderr.matchAll(/Failed loading language '([^']+)'/g)].map((m) => m[1]);
      if (missing.length) throw new OcrEngineError(`tesseract has no language data for ${missing.join(', ')}${dir ? ` in ${dir}` : ''}`);
      // OSD on a page with too few characters exits 1: that is "cannot tell", not a failure.
      if (osd && /too few characters|OSD failed/i.test(r.stderr)) return '';
      const why = r.stderr.split('\n').filter((l) => l && !/^(Estimating resolution|Warning|Page number|Detected \d+ diacritics)/.test(l)).slice(-2).join('; ');
      throw new OcrEngineError(`tesseract failed (${r.signal ? `signal ${r.signal}` : `exit ${r.code}`})${why ? `: ${why}` : ''}`);
    }
    return r.stdout;
  }
}

/** The CLI's --psm 0 report: "Rotate: 90", "Orientation confidence: 2.5", "Script: Latin". */
export function parseOsd(out: string): Orientation | undefined {
  const rotate = /Rotate:\s*(\d+)/.exec(out);
  if (!rotate) return undefined;
  const rotation = Number(rotate[1]) as Orientation['rotation'];
  if (![0, 90, 180, 270].includes(rotation)) return undefined;
  const confidence = Number(/Orientation confidence:\s*([\d.]+)/.exec(out)?.[1] ?? 0);
  const script = /Script:\s*(\S+)/.exec(out)?.[1] ?? 'unknown';
  return { rotation, confidence, script };
}
