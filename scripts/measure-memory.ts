// Peak RSS of the extract pool, phase by phase: a PoolExtractor with POOL_SIZE threads (default 2, as
// on a 2-vCPU box) works through a backlog of text PDFs, scans, scanned PDFs, a 50 MB scanned PDF, a
// 100-megapixel image and two hostile PDFs, while the whole process's RSS is sampled every 50 ms.
//
//   node_modules/.bin/node scripts/measure-memory.ts            # all phases
//   MALLOC_ARENA_MAX=2 node_modules/.bin/node scripts/measure-memory.ts
//   node_modules/.bin/node scripts/measure-memory.ts --phases=idle,text-pdfs --json
//
// Needs ../shared/corpus (ocr, pdfjs). The generated inputs go to a temp dir removed at the end.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { DEFAULTS } from '../src/config.ts';
import { PoolExtractor } from '../src/pool/extract-pool.ts';
import type { ExtractLimits, ExtractRequest, ExtractResult } from '../src/types.ts';
import { hugeStreamPdf, makePdf, millionPagePdf, pdfStream } from '../test/helpers/make-pdf.ts';

const MiB = 1024 * 1024;
const SAMPLE_MS = 50;
const corpus = fileURLToPath(new URL('../../shared/corpus/', import.meta.url));
const ocrDir = path.join(corpus, 'ocr');
const pdfDir = path.join(corpus, 'pdfjs');
const TEXT_PDFS = ['tracemonkey.pdf', 'issue19971.pdf', 'issue6387.pdf', 'issue8570.pdf', 'javauninstall-7r.pdf', 'file_pdfjs_test.pdf', 'xfa_filled_imm1344e.pdf', 'bug1978317.pdf'];

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const threads = Number(process.env.POOL_SIZE ?? 2);
const langs = process.env.OCR_LANGS ?? DEFAULTS.OCR_LANGS;
const maxWorkerMemoryMb = Number(process.env.MAX_WORKER_MEMORY_MB ?? DEFAULTS.MAX_WORKER_MEMORY_MB);
const limits: ExtractLimits = {
  maxOcrPages: DEFAULTS.MAX_OCR_PAGES,
  maxChars: DEFAULTS.MAX_CHARS,
  docTimeoutMs: DEFAULTS.DOC_TIMEOUT_MS,
  pageTimeoutMs: DEFAULTS.PAGE_TIMEOUT_MS,
  maxPixels: DEFAULTS.MAX_PIXELS,
};

// ---- RSS sampling ----

let peak = 0;
let phasePeak = 0;
const sampler = setInterval(() => {
  const rss = process.memoryUsage.rss();
  if (rss > peak) peak = rss;
  if (rss > phasePeak) phasePeak = rss;
}, SAMPLE_MS);

// ---- generated inputs ----



/** Scanned pages as a scanner writes them (like test/helpers/scan-pdf.ts): one grey JPEG per page, no text layer. */
function scannedPdf(pages: Array<{ jpeg: Buffer; width: number; height: number; dpi: number }>): Buffer {
  const first = 3;
  const bodies: Array<string | Buffer> = ['<< /Type /Catalog /Pages 2 0 R >>', `<< /Type /Pages /Kids [${pages.map((_, i) => `${first + i * 3} 0 R`).join(' ')}] /Count ${pages.length} >>`];
  pages.forEach((p, i) => {
    const o = first + i * 3;
    const w = ((p.width / p.dpi) * 72).toFixed(2);
    const h = ((p.height / p.dpi) * 72).toFixed(2);
    const content = Buffer.from(`q ${w} 0 0 ${h} 0 0 cm /Im0 Do Q`);
    bodies.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${w} ${h}] /Resources << /XObject << /Im0 ${o + 2} 0 R >> >> /Contents ${o + 1} 0 R >>`);
    bodies.push(pdfStream(content));
    bodies.push(pdfStream(p.jpeg, `/Type /XObject /Subtype /Image /Width ${p.width} /Height ${p.height} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode`));
  });
  return makePdf(bodies);
}

async function greyJpeg(file: string, opts: { width?: number; noise?: number; quality?: number } = {}): Promise<{ jpeg: Buffer; width: number; height: number }> {
  let img = sharp(file).grayscale();
  if (opts.width) img = img.resize({ width: opts.width });
  const { data, info } = await img.extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  // Scanner noise: makes the JPEG as big as a real high-quality scan.
  if (opts.noise) for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, data[i]! + Math.round((Math.random() - 0.5) * 2 * opts.noise)));
  const jpeg = await sharp(data, { raw: { width: info.width, height: info.height, channels: 1 } }).jpeg({ quality: opts.quality ?? 85 }).toBuffer();
  return { jpeg, width: info.width, height: info.height };
}

/** ~50 MB: A4 pages scanned at 300 dpi, noisy, JPEG quality 100. */
async function bigScannedPdf(file: string): Promise<void> {
  const sources = ['8087_054.3B.tif', '8071_093.3B.tif'];
  const pages: Array<{ jpeg: Buffer; width: number; height: number; dpi: number }> = [];
  let bytes = 0;
  for (let i = 0; bytes < 50 * 1_000_000; i++) {
    const p = await greyJpeg(path.join(ocrDir, sources[i % 2]!), { width: i % 2 ? 3508 : 2480, noise: 40, quality: 100 });
    pages.push({ ...p, dpi: 300 });
    bytes += p.jpeg.length;
  }
  await writeFile(file, scannedPdf(pages));
}

/** 10000 x 10000 colour JPEG (a photo of a poster): exactly the default MAX_PIXELS. */
async function hundredMegapixelImage(file: string): Promise<void> {
  const side = 10_000;
  const text = await sharp(path.join(ocrDir, '8087_054.3B.tif')).resize({ height: side }).toColourspace('srgb').png().toBuffer();
  await sharp({ create: { width: side, height: side, channels: 3, background: '#f4f1ea' }, limitInputPixels: false })
    .composite([{ input: text, left: 1000, top: 0 }])
    .jpeg({ quality: 85 })
    .toFile(file);
}



// ---- phases ----

const SCANS = ['phototest.tif', 'eurotext.tif', '8087_054.3B.tif', '8071_093.3B.tif', 'phototest-rotated-L.png', 'phototestrot.tif'];

/** Each phase's documents; all are submitted at once, the pool runs `threads` of them at a time. */
function phases(dir: string): Array<{ name: string; files: string[] }> {
  const at = (name: string) => path.join(dir, name);
  return [
    { name: 'idle', files: [] },
    { name: 'text-pdfs', files: TEXT_PDFS.map((f) => path.join(pdfDir, f)).filter((f) => existsSync(f)) },
    { name: 'ocr-scans', files: SCANS.map((f) => path.join(ocrDir, f)) },
    { name: 'scanned-pdfs', files: [at('8087_054.3B.pdf'), at('8071_093.3B.pdf')] },
    { name: 'pdf-50mb', files: [at('big-50mb.pdf'), path.join(ocrDir, '8071_093.3B.tif')] },
    { name: 'image-100mp', files: [at('poster-100mp.jpg'), path.join(ocrDir, '8087_054.3B.tif')] },
    { name: 'hostile-pdfs', files: [at('million-pages.pdf'), at('huge-stream.pdf')] },
  ];
}

/** Writes the generated inputs (run in a child process so its memory is not counted). */
async function generate(dir: string): Promise<void> {
  const at = (name: string) => path.join(dir, name);
  for (const f of ['8087_054.3B', '8071_093.3B']) await writeFile(at(`${f}.pdf`), scannedPdf([{ ...(await greyJpeg(path.join(ocrDir, `${f}.tif`))), dpi: 300 }]));
  await bigScannedPdf(at('big-50mb.pdf'));
  await hundredMegapixelImage(at('poster-100mp.jpg'));
  await writeFile(at('million-pages.pdf'), millionPagePdf());
  await writeFile(at('huge-stream.pdf'), hugeStreamPdf());
}

type Row = { phase: string; docs: number; peakMiB: number; endMiB: number; seconds: number; ocrPages: number; statuses: string };

async function main(): Promise<void> {
  if (!existsSync(ocrDir) || !existsSync(pdfDir)) throw new Error(`needs the shared corpus at ${corpus} (ocr, pdfjs)`);
  const dir = await mkdtemp(path.join(tmpdir(), 'measure-memory-'));
  const rows: Row[] = [];
  let total = 0;
  try {
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), `--generate=${dir}`], { stdio: 'inherit' });
    const wanted = args.get('phases')?.split(',');
    peak = 0;
    const pool = new PoolExtractor({ threads, ocrLangs: langs, recycleAfterPages: DEFAULTS.RECYCLE_AFTER_PAGES, maxWorkerMemoryMb });
    const startedAt = performance.now();
    try {
      for (const phase of phases(dir)) {
        if (wanted && !wanted.includes(phase.name)) continue;
        await new Promise((r) => setTimeout(r, 300));
        phasePeak = process.memoryUsage.rss();
        const t0 = performance.now();
        let results: ExtractResult[] = [];
        if (phase.name === 'idle') {
          await pool.ready;
          await new Promise((r) => setTimeout(r, 1_000));
        } else {
          results = await Promise.all(phase.files.map(async (file) => pool.extract(await request(file))));
        }
        const seconds = (performance.now() - t0) / 1000;
        await new Promise((r) => setTimeout(r, 2 * SAMPLE_MS));
        const statuses = results.map((r, i) => `${path.basename(phase.files[i]!)}=${r.status}${r.status !== 'ok' && r.error ? `(${r.error.slice(0, 70)})` : ''}`).join(' ');
        const row = { phase: phase.name, docs: phase.files.length, peakMiB: phasePeak / MiB, endMiB: process.memoryUsage.rss() / MiB, seconds, ocrPages: results.reduce((n, r) => n + r.ocrPages, 0), statuses };
        rows.push(row);
        console.error(`# ${row.phase.padEnd(13)} peak ${row.peakMiB.toFixed(0).padStart(5)} MiB  end ${row.endMiB.toFixed(0).padStart(5)} MiB  ${row.seconds.toFixed(1).padStart(6)} s  ocr pages ${String(row.ocrPages).padStart(3)}  ${row.statuses}`);
      }
    } finally {
      await pool.close();
      total = (performance.now() - startedAt) / 1000;
    }
  } finally {
    clearInterval(sampler);
    await rm(dir, { recursive: true, force: true });
  }
  const env = `POOL_SIZE=${threads} OCR_LANGS=${langs} MAX_WORKER_MEMORY_MB=${maxWorkerMemoryMb} MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? '(unset)'}`;
  if (args.has('json')) {
    console.log(JSON.stringify({ env, peakMiB: peak / MiB, seconds: total, phases: rows }, null, 2));
    return;
  }
  console.log(`measure-memory: ${env}, RSS sampled every ${SAMPLE_MS} ms`);
  console.log(`${'phase'.padEnd(14)}${'docs'.padStart(5)}${'peak MiB'.padStart(10)}${'end MiB'.padStart(9)}${'seconds'.padStart(9)}${'ocr pages'.padStart(11)}`);
  for (const r of rows) console.log(`${r.phase.padEnd(14)}${String(r.docs).padStart(5)}${r.peakMiB.toFixed(0).padStart(10)}${r.endMiB.toFixed(0).padStart(9)}${r.seconds.toFixed(1).padStart(9)}${String(r.ocrPages).padStart(11)}`);
  console.log(`${'overall'.padEnd(14)}${''.padStart(5)}${(peak / MiB).toFixed(0).padStart(10)}${''.padStart(9)}${total.toFixed(1).padStart(9)}`);
}

async function request(file: string): Promise<ExtractRequest> {
  return { path: file, name: path.basename(file), size: (await stat(file)).size, limits, ocrLangs: langs, wantThumbnail: true };
}

if (args.has('generate')) {
  clearInterval(sampler);
  await generate(args.get('generate')!);
} else {
  await main();
}
