// Both OCR engines behind one interface: the same page reads the same on each, a turned page is found
// by orientation detection and read upright, Japanese reads without gaps, a page past its deadline
// fails alone, and the engine is chosen by OCR_ENGINE with a reason.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { loadConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';
import { chooseOcrEngine } from '../src/workers/ocr/choice.ts';
import type { OcrImage } from '../src/workers/ocr/engine.ts';
import { OcrEngineError, OcrTimeoutError, parseTsv } from '../src/workers/ocr/engine.ts';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { NativeEngine, parseOsd, toPgm } from '../src/workers/ocr/tesseract-cli.ts';
import { missingTitle, titleLanguages } from '../src/workers/ocr/layout.ts';
import { readPage } from '../src/workers/ocr/page.ts';
import { WasmEngine } from '../src/workers/ocr/tesseract-wasm.ts';
import { cer } from './helpers/cer.ts';
import { enginesUnderTest } from './helpers/ocr-engines.ts';

const LINES = ['Quarterly invoice for the harbour project', 'Payment is due within thirty days of receipt', 'Please quote the reference number 4711'];
const JAPANESE = ['会議の議事録は来週の月曜日に配布します', '請求書の金額をご確認のうえお支払いください', '東京都千代田区の本社で打ち合わせを行います'];

/** A page of text rendered at 200 dpi (44 px type), one grey channel, optionally turned clockwise. */
async function page(lines: string[], opts: { font?: string; turn?: number } = {}): Promise<OcrImage> {
  const rows = lines.map((l, i) => `<text x="60" y="${130 + i * 100}" font-family="${opts.font ?? 'sans-serif'}" font-size="44">${l}</text>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1700" height="${lines.length * 100 + 120}"><rect width="100%" height="100%" fill="white"/>${rows}</svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).rotate(opts.turn ?? 0).flatten({ background: '#ffffff' }).grayscale().extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, dpi: 200 };
}

for (const engine of enginesUnderTest()) {
  describe(`OCR engine: ${engine.kind}`, { skip: engine.skip }, () => {
    test('reads a rendered page with high confidence', async () => {
      const e = engine.make();
      try {
        const r = await e.read(await page(LINES), { langs: 'eng', timeoutMs: 60_000 });
        assert.ok(cer(r.text, LINES.join('\n')) <= 0.02, `text: ${r.text}`);
        assert.deepEqual(r.text.split('\n').filter(Boolean).length, 3, 'one output line per printed line');
        assert.ok(r.confidence >= 80, `confidence ${r.confidence}`);
        assert.ok(r.words >= 20);
      } finally {
        await e.close();
      }
    });

    test('a page turned 90, 180 or 270 degrees is detected by OSD and read upright', async () => {
      const e = engine.make();
      try {
        for (const turn of [90, 180, 270]) {
          const img = await page(LINES, { turn });
          const osd = await e.orientation(img, 60_000);
          assert.equal(osd?.rotation, (360 - turn) % 360, `turned ${turn}: OSD said ${JSON.stringify(osd)}`);
          const p = await readPage(e, img, { langs: 'eng', timeoutMs: 60_000 });
          // tesseract's own layout analysis reads some sideways lines as they are; upside down it cannot.
          assert.ok(p.rotation === (360 - turn) % 360 || (turn !== 180 && p.rotation === 0), `turned ${turn}: rotation ${p.rotation}`);
          assert.ok(cer(p.text, LINES.join('\n')) <= 0.02, `turned ${turn}: ${p.text}`);
        }
        // An upright page that reads well never pays for OSD: its rotation stays 0.
        const upright = await readPage(e, await page(LINES), { langs: 'eng', timeoutMs: 60_000 });
        assert.equal(upright.rotation, 0);
      } finally {
        await e.close();
      }
    });

    test('a Japanese-only page reads with eng+jpn (the other language is tried first when eng leads to garbage), without spaces', async () => {
      const e = engine.make();
      try {
        const p = await readPage(e, await page(JAPANESE, { font: 'Noto Sans CJK JP' }), { langs: 'eng+jpn', timeoutMs: 60_000 });
        assert.match(p.text, /請求書/);
        assert.match(p.text, /議事録/);
        assert.ok(cer(p.text, JAPANESE.join('')) <= 0.1, `text: ${p.text}`);
        assert.doesNotMatch(p.text, /[\u3040-\u30ff\u4e00-\u9fff] +[\u3040-\u30ff\u4e00-\u9fff]/);
      } finally {
        await e.close();
      }
    });

    test('the best models are selectable and read the same page', async () => {
      const e = engine.make('best');
      try {
        assert.equal(e.model, 'best');
        const r = await e.read(await page(LINES), { langs: 'eng', timeoutMs: 60_000 });
        assert.ok(cer(r.text, LINES.join('\n')) <= 0.02, `text: ${r.text}`);
      } finally {
        await e.close();
      }
    });

    test('a call with no time left fails with OcrTimeoutError, and the engine reads the next page', async () => {
      const e = engine.make();
      try {
        await assert.rejects(e.read(await page(LINES), { langs: 'eng', timeoutMs: 0 }), OcrTimeoutError);
        const r = await e.read(await page(LINES), { langs: 'eng', timeoutMs: 60_000 });
        assert.match(r.text, /harbour/);
      } finally {
        await e.close();
      }
    });

    test('an unknown language fails with a clear engine error', async () => {
      const e = engine.make();
      try {
        await assert.rejects(e.read(await page(LINES), { langs: 'xyz', timeoutMs: 60_000 }), (err: Error) => err instanceof OcrEngineError && /xyz/.test(err.message));
      } finally {
        await e.close();
      }
    });
  });
}

describe('native engine: deadline', { skip: enginesUnderTest()[0]!.skip }, () => {
  test('a page past its deadline kills its tesseract process; the next page reads', async () => {
    const e = enginesUnderTest()[0]!.make();
    try {
      // A big page of many lines takes far longer than 30 ms.
      const big = await page(Array.from({ length: 30 }, (_, i) => `${LINES[i % 3]} line ${i}`));
      const started = performance.now();
      await assert.rejects(e.read(big, { langs: 'eng+jpn', timeoutMs: 30 }), OcrTimeoutError);
      assert.ok(performance.now() - started < 2_000, 'the child is killed at the deadline, not waited for');
      const r = await e.read(await page(LINES), { langs: 'eng', timeoutMs: 60_000 });
      assert.match(r.text, /harbour/);
    } finally {
      await e.close();
    }
  });
});

describe('native engine: page reads share one long-lived tesseract', { skip: enginesUnderTest()[0]!.skip }, () => {
  test('consecutive pages are read by one process, as a one-shot CLI call reads them; it is replaced after its page limit and ends on close', async () => {
    const e = new NativeEngine({ model: 'fast', recycleAfterPages: 2 });
    const pageDirs = () => readdirSync(tmpdir()).filter((n) => n.startsWith('filesearch-ocr-')).sort();
    const dirsBefore = pageDirs();
    try {
      const first = await page(LINES);
      const a = await e.read(first, { langs: 'eng', timeoutMs: 60_000 });
      const pid = e.sessionPid;
      assert.ok(pid, 'a tesseract process stays for the next page');
      const oneShot = execFileSync('tesseract', ['-', '-', '-l', 'eng', '--psm', '3', '--dpi', '200', '-c', 'tessedit_create_tsv=1'], { input: toPgm(first), encoding: 'utf8', stdio: ['pipe', 'pipe', 'ignore'] });
      assert.deepEqual(a, parseTsv(oneShot), 'the same words, lines and confidence as a one-shot call');
      const b = await e.read(await page([...LINES].reverse()), { langs: 'eng', timeoutMs: 60_000 });
      assert.match(b.text.split('\n')[0]!, /reference number 4711/, 'the second page answers with its own text');
      assert.equal(e.sessionPid, undefined, 'after 2 pages (the recycle limit) the process is ended');
      await e.read(first, { langs: 'eng', timeoutMs: 60_000 });
      assert.ok(e.sessionPid && e.sessionPid !== pid, 'the next page starts a new process');
      assert.deepEqual(pageDirs(), dirsBefore, 'each page file and its dir are gone once the page is read (the engine is not closed yet)');
      const last = e.sessionPid;
      await e.close();
      assert.equal(e.sessionPid, undefined);
      const alive = () => {
        try {
          return process.kill(last!, 0);
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 40 && alive(); i++) await sleep(50);
      assert.equal(alive(), false, 'the process is gone after close');
    } finally {
      await e.close();
    }
  });
});

describe('native engine: no writable TMPDIR', { skip: enginesUnderTest()[0]!.skip }, () => {
  test('pages are read one-shot, with the page on stdin, when the page files cannot be written', async () => {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = '/nonexistent/filesearch-ocr-test';
    const e = new NativeEngine({ model: 'fast' });
    try {
      const r = await e.read(await page(LINES), { langs: 'eng', timeoutMs: 60_000 });
      assert.match(r.text, /harbour project/);
      assert.equal(e.sessionPid, undefined, 'no long-lived process without its page files');
    } finally {
      await e.close();
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });
});

describe('wasm engine: runs in this thread and gives its heap back', () => {
  test('the module is recycled after N pages and rebuilt for the next', async () => {
    const e = new WasmEngine({ model: 'fast', recycleAfterPages: 2, maxHeapMb: 1000 });
    try {
      const img = await page(LINES);
      await e.read(img, { langs: 'eng', timeoutMs: 60_000 });
      assert.ok(e.heapBytes > 0, 'the WASM heap is held between pages');
      await e.read(img, { langs: 'eng', timeoutMs: 60_000 });
      assert.equal(e.recycled, 1);
      assert.equal(e.heapBytes, 0, 'dropped after its second page');
      const r = await e.read(img, { langs: 'eng', timeoutMs: 60_000 });
      assert.match(r.text, /harbour/);
    } finally {
      await e.close();
    }
  });

  test('a heap over its bound is dropped after the page', async () => {
    const e = new WasmEngine({ model: 'fast', recycleAfterPages: 1000, maxHeapMb: 1 });
    try {
      await e.read(await page(LINES), { langs: 'eng', timeoutMs: 60_000 });
      assert.equal(e.recycled, 1);
      assert.equal(e.heapBytes, 0);
    } finally {
      await e.close();
    }
  });
});

describe('engine choice', () => {
  const usable = () => ({ usable: true as const, version: 'tesseract 5.3.0', langs: ['eng', 'jpn', 'jpn_vert', 'osd'] });
  const absent = () => ({ usable: false as const, reason: 'tesseract is not on PATH' });

  test('auto takes native when it is usable, else wasm, and says why', () => {
    const a = chooseOcrEngine('auto', 'fast', 'eng+jpn', usable);
    assert.equal(a.kind, 'native');
    assert.match(a.reason, /tesseract 5\.3\.0.*jpn_vert/);
    const b = chooseOcrEngine('auto', 'best', 'eng+jpn', absent);
    assert.deepEqual(b, { kind: 'wasm', model: 'best', reason: 'auto: tesseract is not on PATH' });
  });

  test('native asked for but absent is an error naming the packages; wasm never probes', () => {
    assert.throws(() => chooseOcrEngine('native', 'fast', 'eng', absent), /OCR_ENGINE=native but tesseract is not on PATH; install tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert/);
    const probe = () => assert.fail('wasm must not probe for the CLI');
    assert.equal(chooseOcrEngine('wasm', 'fast', 'eng', probe).kind, 'wasm');
  });

  test('OCR_ENGINE and OCR_MODEL are validated and default to auto / fast', () => {
    const c = loadConfig({});
    assert.equal(c.pool.ocrEngine, 'auto');
    assert.equal(c.pool.ocrModel, 'fast');
    assert.equal(loadConfig({ OCR_ENGINE: 'wasm', OCR_MODEL: 'best' }).pool.ocrModel, 'best');
    assert.throws(() => loadConfig({ OCR_ENGINE: 'gpu' }), (err: Error) => err instanceof ConfigError && /OCR_ENGINE.*auto, native, wasm.*"gpu"/.test(err.message));
    assert.throws(() => loadConfig({ OCR_MODEL: 'legacy' }), (err: Error) => err instanceof ConfigError && /OCR_MODEL.*"legacy"/.test(err.message));
  });
});

/** A page of bars: a tall first line (the title band) and body lines below it; paper and ink with some spread, as a scan has (the band finder thresholds between the two). */
function titledPage(): OcrImage {
  const width = 800;
  const height = 900;
  const data = Buffer.alloc(width * height);
  for (let i = 0; i < data.length; i++) data[i] = 200 + (i % 50);
  const bar = (top: number, h: number) => {
    for (let y = top; y < top + h; y++) for (let x = 50; x < 700; x++) data[y * width + x] = x % 40;
  };
  bar(40, 60);
  for (let y = 200; y < 800; y += 40) bar(y, 20);
  return { data, width, height, dpi: 200 };
}

describe('engine output parsing', () => {
  test('TSV becomes lines and paragraphs with the mean word confidence; only confident words place a line', () => {
    const row = (par: number, line: number, word: number, conf: number, text: string) => `5\t1\t1\t${par}\t${line}\t${word}\t0\t${par * 100 + line * 10 + word}\t1\t5\t${conf}\t${text}`;
    const tsv = ['level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext', '4\t1\t1\t1\t1\t0\t0\t0\t1\t1\t-1\t', row(1, 1, 1, 90, 'Hello'), row(1, 1, 2, 80, 'world'), row(1, 2, 1, 70, 'next'), row(2, 1, 1, 60, 'para'), row(2, 1, 2, 95, ' ')].join('\n');
    // 'next' (70) and 'para' (60) are read but not confidently: their lines have no place.
    assert.deepEqual(parseTsv(tsv), { text: 'Hello world\nnext\n\npara', confidence: 75, words: 4, lines: [{ top: 111, bottom: 117 }] });
    assert.deepEqual(parseTsv(''), { text: '', confidence: 0, words: 0, lines: [] });
  });

  test('a title band the page read already covers is not read again (no extra engine call)', async () => {
    const img = titledPage();
    const calls: string[] = [];
    const engine = { read: async () => (calls.push('read'), { text: 'TITLE', confidence: 90, words: 1 }) };
    assert.equal(await missingTitle(engine, img, 'body text', 'eng', 10_000, [{ top: 38, bottom: 102 }]), undefined);
    assert.deepEqual(calls, [], 'the band was read with the page: no second read');
    assert.equal(await missingTitle(engine, img, 'body text', 'eng', 10_000, [{ top: 200, bottom: 220 }]), 'TITLE');
    assert.deepEqual(calls, ['read'], 'a band the page read left out is read on its own');
  });

  test('a title line is read with the page\'s own script on the native engine, with the page\'s languages on wasm', async () => {
    assert.equal(titleLanguages('eng+jpn', '会議の議事録は来週の月曜日に配布します Tel'), 'jpn');
    assert.equal(titleLanguages('eng+jpn', 'Quarterly invoice for the harbour project'), 'eng');
    assert.equal(titleLanguages('eng+jpn', 'Invoice 請求書 harbour'), 'eng+jpn');
    assert.equal(titleLanguages('eng+jpn', ''), 'eng+jpn');
    assert.equal(titleLanguages('eng', 'Quarterly invoice'), 'eng');
    assert.equal(titleLanguages('jpn+deu', 'Rechnung für das Projekt'), 'deu');
    const img = titledPage();
    for (const kind of ['native', 'wasm']) {
      const langs: string[] = [];
      const engine = { kind, read: async (_: unknown, req: { langs: string }) => (langs.push(req.langs), { text: '請求書', confidence: 90, words: 1 }) };
      assert.equal(await missingTitle(engine, img, '会議の議事録は来週の月曜日に配布します', 'eng+jpn', 10_000), '請求書');
      assert.deepEqual(langs, [kind === 'native' ? 'jpn' : 'eng+jpn'], kind);
    }
  });

  test('the CLI OSD report gives the clockwise turn', () => {
    assert.deepEqual(parseOsd('Page number: 0\nOrientation in degrees: 90\nRotate: 270\nOrientation confidence: 4.82\nScript: Latin\nScript confidence: 43.33\n'), { rotation: 270, confidence: 4.82, script: 'Latin' });
    assert.equal(parseOsd(''), undefined);
  });
});
