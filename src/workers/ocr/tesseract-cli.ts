// The native engine: the tesseract 5 CLI, one child process per call. The page goes in on stdin as
// an uncompressed graymap (encoding PNG would cost seconds on a big scan), TSV comes back on stdout.
// OMP_THREAD_LIMIT=1: the pool already runs one OCR per core. Each pool thread has at most one child
// at a time, so POOL_SIZE stays the OCR concurrency; a call past its deadline kills its child.
// In a pool thread the child is spawned by the MAIN thread (spawner.ts) on the thread's behalf: a
// child spawned by a thread that is then terminated (document deadline, memory governor) is never
// reaped and stays a zombie; the main thread lives as long as the process and kills a dead thread's child.
// The page reads (the configured languages, --psm 3: every page pays one) go to ONE long-lived
// tesseract per thread that reads image files named on its stdin (process-session.ts): models load
// once, not once a page. The rarer reads (OSD, one line, vertical, other language order) run one-shot.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { OcrEngine, OcrImage, OcrModel, OcrRead, OcrReadRequest, Orientation } from './engine.ts';
import { OcrEngineError, OcrTimeoutError, parseTsv } from './engine.ts';
import { nativeTessdataDir } from './models.ts';
import { askWithPage, ProcessSession } from './process-session.ts';
import type { PageAsk, SessionLimits, SessionSpec } from './process-session.ts';
import { requestCloseSessions, requestRun, requestSession, runProcess } from './spawner.ts';
import type { ProcessResult } from './spawner.ts';

export const TESSERACT_BIN = 'tesseract';

const MiB = 1024 * 1024;
/**
 * What a tesseract child holds at most for one page, for its admission under the memory budget.
 * Measured (tesseract 5, tessdata_fast eng+jpn, VmHWM): 59-65 MB for OSD, 70 MB for a small image,
 * 78-85 MB for an A4 page at 200 dpi (2-4 MP), 107 MB for 8 MP: its models (~64 MB) plus about 6 bytes a pixel.
 */
export function tesseractBytes(img: { width: number; height: number }): number {
  return 64 * MiB + 6 * img.width * img.height;
}

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

/**
 * Uncompressed 8-bit grey TIFF (one strip) with the page's dpi in its resolution tags: what the
 * long-lived tesseract reads from a file (a graymap has no dpi, and --dpi is one value per process).
 */
export function toTiff(img: OcrImage): Buffer {
  const SHORT = 3;
  const LONG = 4;
  const RATIONAL = 5;
  const ifd = 8;
  const count = 12;
  const rational = ifd + 2 + count * 12 + 4;
  const dataAt = rational + 16;
  const entries: Array<[number, number, number]> = [
    [256, LONG, img.width], [257, LONG, img.height], [258, SHORT, 8], [259, SHORT, 1], [262, SHORT, 1],
    [273, LONG, dataAt], [277, SHORT, 1], [278, LONG, img.height], [279, LONG, img.width * img.height],
    [282, RATIONAL, rational], [283, RATIONAL, rational + 8], [296, SHORT, 2],
  ];
  const b = Buffer.alloc(dataAt + img.width * img.height);
  b.write('II', 0, 'latin1');
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(ifd, 4);
  b.writeUInt16LE(count, ifd);
  entries.forEach(([tag, type, value], i) => {
    const at = ifd + 2 + i * 12;
    b.writeUInt16LE(tag, at);
    b.writeUInt16LE(type, at + 2);
    b.writeUInt32LE(1, at + 4);
    if (type === SHORT) b.writeUInt16LE(value, at + 8);
    else b.writeUInt32LE(value, at + 8);
  });
  b.writeUInt32LE(0, ifd + 2 + count * 12);
  for (const at of [rational, rational + 8]) {
    b.writeUInt32LE(Math.max(1, Math.round(img.dpi)), at);
    b.writeUInt32LE(1, at + 4);
  }
  b.set(img.data, dataAt);
  return b;
}

/**
 * The blank image listed after each page: its TSV page row ("1 N 0 0 0 0 0 0 13 5 -1") marks the end
 * of the page's answer. A page of exactly this size is read one-shot instead.
 */
const END_IMAGE = { width: 13, height: 5 };
const END_TIFF = toTiff({ ...END_IMAGE, data: Buffer.alloc(END_IMAGE.width * END_IMAGE.height, 255), dpi: 200 });
const END_OF_ANSWER = `^1\t\\d+\t0\t0\t0\t0\t0\t0\t${END_IMAGE.width}\t${END_IMAGE.height}\t-1\t`;
/**
 * A long-lived tesseract ends after this long without a page, so its ~80 MB go back between OCR
 * documents; pages of one scanned document, or of a run of them, come far closer together.
 */
export const SESSION_IDLE_MS = 10_000;

export class NativeEngine implements OcrEngine {
  readonly kind = 'native';
  readonly model: OcrModel;
  readonly #bin: string;
  readonly #viaMain: boolean;
  readonly #inFlight = new Set<AbortController>();
  readonly #limits: SessionLimits;
  /** The languages and psm of the first read: the page read, which goes to the long-lived process. */
  #sessionFor: string | undefined;
  /** Used when not viaMain (main thread, tests): the session lives here. */
  #session: ProcessSession | undefined;

  /**
   * viaMain: spawn through the main thread's spawner (pool threads); else spawn here (main thread, tests).
   * recycleAfterPages: the long-lived tesseract is replaced after this many pages.
   */
  constructor(opts: { model: OcrModel; bin?: string; viaMain?: boolean; recycleAfterPages?: number; idleMs?: number }) {
    this.model = opts.model;
    this.#bin = opts.bin ?? TESSERACT_BIN;
    this.#viaMain = opts.viaMain ?? false;
    this.#limits = { idleMs: opts.idleMs ?? SESSION_IDLE_MS, maxRequests: opts.recycleAfterPages ?? Number.MAX_SAFE_INTEGER };
  }

  /** The long-lived tesseract this engine runs itself (not viaMain), while it runs. */
  get sessionPid(): number | undefined {
    return this.#session?.pid;
  }

  async read(img: OcrImage, req: OcrReadRequest): Promise<OcrRead> {
    const psm = String(req.psm ?? 3);
    this.#sessionFor ??= `${req.langs} ${psm}`;
    if (this.#sessionFor === `${req.langs} ${psm}` && !(img.width === END_IMAGE.width && img.height === END_IMAGE.height)) {
      const tsv = await this.#readInSession(img, req.langs, psm, req.timeoutMs);
      if (tsv !== undefined) return parseTsv(tsv);
      // No place for page files: every read is one-shot from now on.
      this.#sessionFor = 'none';
    }
    const args = ['-', '-', '-l', req.langs, '--psm', psm, '--dpi', String(img.dpi), '-c', 'tessedit_create_tsv=1'];
    return parseTsv(await this.#run(args, req.langs.split('+'), img, req.timeoutMs));
  }

  /**
   * The page as a TIFF file named on the long-lived tesseract's stdin, then the end image. The files go
   * to the main thread's work dir (spawner.ts; swept after a crash), or to a dir for the page alone when
   * this engine runs its processes itself. Undefined when no dir can be had.
   */
  async #readInSession(img: OcrImage, langs: string, psm: string, timeoutMs: number): Promise<string | undefined> {
    if (timeoutMs <= 0) throw new OcrTimeoutError('page OCR deadline reached');
    const dir = nativeTessdataDir(this.model, langs.split('+'));
    const args = ['-', '-', '-l', langs, '--psm', psm, '-c', 'stream_filelist=1', '-c', 'tessedit_create_tsv=1'];
    const spec: SessionSpec = { bin: this.#bin, args: dir ? ['--tessdata-dir', dir, ...args] : args, env: { OMP_THREAD_LIMIT: '1' } };
    const ask: PageAsk = { page: toTiff(img), end: END_TIFF, until: END_OF_ANSWER, timeoutMs, expectedBytes: tesseractBytes(img) };
    const ac = new AbortController();
    this.#inFlight.add(ac);
    let r: ProcessResult;
    try {
      if (this.#viaMain) r = await requestSession(spec, ask, this.#limits, ac.signal);
      else {
        // Spawned here (tests, the main thread): a dir for this page only, gone with its answer (an
        // engine here may never be closed, and nothing would sweep a dir kept across pages).
        let work: string;
        try {
          work = mkdtempSync(path.join(tmpdir(), 'filesearch-ocr-'));
        } catch {
          return undefined;
        }
        try {
          this.#session ??= new ProcessSession(spec, this.#limits);
          r = await askWithPage(this.#session, work, 'page', ask, ac.signal);
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
      }
    } finally {
      this.#inFlight.delete(ac);
    }
    if (r.unavailable) return undefined;
    return this.#check(r, timeoutMs, dir);
  }

  async orientation(img: OcrImage, timeoutMs: number): Promise<Orientation | undefined> {
    const out = await this.#run(['-', '-', '--psm', '0', '--dpi', String(img.dpi)], [], img, timeoutMs, true);
    return parseOsd(out);
  }

  async close(): Promise<void> {
    for (const ac of this.#inFlight) ac.abort();
    this.#inFlight.clear();
    this.#session?.close();
    this.#session = undefined;
    if (this.#viaMain && this.#sessionFor) requestCloseSessions();
    this.#sessionFor = undefined;
  }

  async #run(args: string[], langs: string[], img: OcrImage, timeoutMs: number, osd = false): Promise<string> {
    if (timeoutMs <= 0) throw new OcrTimeoutError('page OCR deadline reached');
    const dir = nativeTessdataDir(this.model, langs);
    const argv = dir ? ['--tessdata-dir', dir, ...args] : args;
    const ac = new AbortController();
    this.#inFlight.add(ac);
    let r: ProcessResult;
    try {
      const job = { bin: this.#bin, args: argv, input: toPgm(img), timeoutMs, env: { OMP_THREAD_LIMIT: '1' }, expectedBytes: tesseractBytes(img) };
      r = this.#viaMain ? await requestRun(job, ac.signal) : await runProcess(job, ac.signal);
    } finally {
      this.#inFlight.delete(ac);
    }
    return this.#check(r, timeoutMs, dir, osd);
  }

  /** stdout of a call that went well, else the typed error that says why it did not. */
  #check(r: ProcessResult, timeoutMs: number, dir: string | undefined, osd = false): string {
    if (r.timedOut) throw new OcrTimeoutError(`page OCR took longer than ${timeoutMs} ms; the tesseract process was killed`);
    // Refused by the memory admission: the reason already says so.
    if (r.error?.startsWith('memory:')) throw new OcrEngineError(r.error);
    if (r.error) throw new OcrEngineError(`tesseract could not run: ${r.error}`);
    if (r.code !== 0) {
      const missing = [...r.stderr.matchAll(/Failed loading language '([^']+)'/g)].map((m) => m[1]);
      if (missing.length) throw new OcrEngineError(`tesseract has no language data for ${missing.join(', ')}${dir ? ` in ${dir}` : ''}`);
      // OSD on a page with too few characters exits 1: that is "cannot tell", not a failure.
      if (osd && /too few characters|OSD failed/i.test(r.stderr)) return '';
      const why = r.stderr.split('\n').filter((l) => l && !/^(Estimating resolution|Warning|Page number|Page \d+ :|Detected \d+ diacritics)/.test(l)).slice(-2).join('; ');
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
