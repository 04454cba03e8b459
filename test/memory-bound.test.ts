// The memory promise, measured: `index` run as a person would (the installed command, the real pool,
// POOL_SIZE 2, the malloc settings the Dockerfile sets: startEnv()) over a generated worst case — the
// 151-megapixel 1-bit soft mask on a 2 x 2 image, nested transparency groups with soft masks, two
// 50 MB scanned PDFs, a 100-megapixel photo, a burst of scans — and the pdf.js corpus when it is
// there. Peak RSS of the process and its children stays under 500 MiB, every file is documented,
// and the command exits 0.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { childrenOf, processTreeRss, statusField } from '../src/pool/memory-governor.ts';
import { makePdf, nestedSoftMaskPdf, pdfStream, softMaskBombPdf } from './helpers/make-pdf.ts';
import { indexRows } from './helpers/worker-process.ts';
import { DOC_STATUSES } from '../src/types.ts';
import { startEnv } from '../src/config.ts';

const MiB = 1024 * 1024;
const LIMIT = 500 * MiB;
const root = fileURLToPath(new URL('..', import.meta.url));
const corpus = fileURLToPath(new URL('../../shared/corpus/pdfjs/', import.meta.url));
const hasCorpus = existsSync(corpus);
const TIME = '/usr/bin/time';
const scanTif = path.join(root, 'examples', 'scanned-page.tif');

type Run = { code: number | null; peakBytes: number; how: string; seconds: number; stdout: string; stderr: string; files: number; dirs: string[] };
let run: Run;
const work = mkdtempSync(path.join(tmpdir(), 'memory-bound-'));

/** A noisy grey JPEG of the example scan at 300 dpi A4 width: incompressible, like a real high-quality scan. */
async function noisyScan(width: number): Promise<{ jpeg: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(scanTif).grayscale().resize({ width }).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, data[i]! + ((i * 2654435761) >>> 24) % 81 - 40));
  const jpeg = await sharp(data, { raw: { width: info.width, height: info.height, channels: 1 } }).jpeg({ quality: 100 }).toBuffer();
  return { jpeg, width: info.width, height: info.height };
}

/** A scanned PDF of at least `bytes`: the same noisy 300-dpi page repeated (each page its own image object). */
function scannedPdf(page: { jpeg: Buffer; width: number; height: number }, bytes: number): Buffer {
  const n = Math.ceil(bytes / page.jpeg.length);
  const w = ((page.width / 300) * 72).toFixed(2);
  const h = ((page.height / 300) * 72).toFixed(2);
  const bodies: Array<string | Buffer> = ['<< /Type /Catalog /Pages 2 0 R >>', `<< /Type /Pages /Kids [${Array.from({ length: n }, (_, i) => `${3 + i * 3} 0 R`).join(' ')}] /Count ${n} >>`];
  for (let i = 0; i < n; i++) {
    const o = 3 + i * 3;
    bodies.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${w} ${h}] /Resources << /XObject << /Im0 ${o + 2} 0 R >> >> /Contents ${o + 1} 0 R >>`);
    bodies.push(pdfStream(Buffer.from(`q ${w} 0 0 ${h} 0 0 cm /Im0 Do Q`)));
    bodies.push(pdfStream(page.jpeg, `/Type /XObject /Subtype /Image /Width ${page.width} /Height ${page.height} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode`));
  }
  return makePdf(bodies);
}

async function generateWorstCase(dir: string): Promise<void> {
  writeFileSync(path.join(dir, 'smask-151mp-on-2x2.pdf'), softMaskBombPdf());
  writeFileSync(path.join(dir, 'nested-soft-mask-groups.pdf'), nestedSoftMaskPdf());
  const page = await noisyScan(2480);
  writeFileSync(path.join(dir, 'scan-50mb-a.pdf'), scannedPdf(page, 50 * 1_000_000));
  writeFileSync(path.join(dir, 'scan-50mb-b.pdf'), scannedPdf(page, 50 * 1_000_000));
  // 10 000 x 10 000: exactly the default MAX_PIXELS.
  const text = await sharp(scanTif).resize({ width: 9_000, height: 10_000, fit: 'inside' }).toColourspace('srgb').png().toBuffer();
  await sharp({ create: { width: 10_000, height: 10_000, channels: 3, background: '#f4f1ea' }, limitInputPixels: false })
    .composite([{ input: text, left: 500, top: 0 }])
    .jpeg({ quality: 80 })
    .toFile(path.join(dir, 'poster-100mp.jpg'));
  for (let i = 1; i <= 8; i++) copyFileSync(scanTif, path.join(dir, `scan-burst-${i}.tif`));
}

/** Runs the CLI, sampling the resident memory of its process tree; the peak is the highest of the samples, VmHWM and /usr/bin/time's. */
async function indexUnderMeasure(dirs: string[], db: string): Promise<Omit<Run, 'files' | 'dirs'>> {
  const useTime = existsSync(TIME);
  const node = [process.execPath, 'bin/filesearch-worker.js', 'index', ...dirs, '--db', db];
  const [cmd, ...args] = useTime ? [TIME, '-v', ...node] : node;
  const started = performance.now();
  const child = spawn(cmd!, args, {
    cwd: root,
    // A short MAX_OCR_PAGES keeps the test quick: memory is bounded per page, not per document.
    env: { ...process.env, ...startEnv(), POOL_SIZE: '2', LOG_LEVEL: 'warn', MAX_OCR_PAGES: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  let sampled = 0;
  let hwm = 0;
  const timer = setInterval(() => {
    sampled = Math.max(sampled, processTreeRss(child.pid!) - (useTime ? 2 * MiB : 0));
    // The node process: the child itself, or /usr/bin/time's child.
    const pids = useTime ? childrenOf(child.pid!) : [child.pid!];
    for (const pid of pids) hwm = Math.max(hwm, (statusField(pid, 'VmHWM') ?? 0) * 1024);
  }, 50);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(timer);
  const maxrss = useTime ? Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] ?? 0) * 1024 : 0;
  const peakBytes = Math.max(sampled, hwm, maxrss);
  const how = `${useTime ? `/usr/bin/time -v max RSS ${mb(maxrss)} MiB, ` : ''}VmHWM ${mb(hwm)} MiB, process tree sampled every 50 ms ${mb(sampled)} MiB`;
  return { code, peakBytes, how, seconds: (performance.now() - started) / 1000, stdout, stderr };
}

function mb(bytes: number): number {
  return Math.round(bytes / MiB);
}

before(async () => {
  const worst = path.join(work, 'worst-case');
  mkdirSync(worst);
  await generateWorstCase(worst);
  const dirs = hasCorpus ? [worst, corpus] : [worst];
  const files = dirs.reduce((n, d) => n + readdirSync(d, { withFileTypes: true }).filter((e) => e.isFile()).length, 0);
  run = { ...(await indexUnderMeasure(dirs, path.join(work, 'index.db'))), files, dirs };
});

after(() => rmSync(work, { recursive: true, force: true }));

test(`index ${hasCorpus ? 'the pdf.js corpus and ' : ''}a generated worst case with POOL_SIZE 2: peak RSS of the process and its children < 500 MiB, every file documented, exit 0`, {
  timeout: 900_000,
}, (t) => {
  t.diagnostic(`peak ${mb(run.peakBytes)} MiB (${run.how}); ${run.files} files in ${run.seconds.toFixed(0)} s`);
  const actions = [...run.stdout.matchAll(/"action":"(\w+)"/g)].map((m) => m[1]);
  t.diagnostic(`memory governor actions: ${actions.length ? Object.entries(Object.groupBy(actions, (a) => a!)).map(([a, l]) => `${a} ${l!.length}`).join(', ') : 'none'}`);
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  const rows = indexRows(path.join(work, 'index.db'));
  assert.equal(rows.length, run.files, `every file has a document (${rows.length} of ${run.files})`);
  for (const r of rows) assert.ok((DOC_STATUSES as readonly string[]).includes(r.status), `${r.key}: ${r.status}`);
  const status = (name: string) => rows.find((r) => r.key.endsWith(`/${name}`))?.status;
  t.diagnostic(`worst case: ${['smask-151mp-on-2x2.pdf', 'nested-soft-mask-groups.pdf', 'scan-50mb-a.pdf', 'scan-50mb-b.pdf', 'poster-100mp.jpg', 'scan-burst-1.tif'].map((n) => `${n}=${status(n)}`).join(' ')}`);
  assert.ok(run.peakBytes > 0, 'memory was measured');
  assert.ok(run.peakBytes < LIMIT, `peak RSS ${mb(run.peakBytes)} MiB is under 500 MiB (${run.how})`);
});

test('the pdf.js corpus is part of the run', { skip: !hasCorpus && `the pdf.js corpus is absent (${corpus}): only the generated worst case was measured` }, () => {
  assert.ok(run.dirs.includes(corpus));
  assert.ok(run.files > 400, `${run.files} files`);
});
