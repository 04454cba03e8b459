// Japanese OCR accuracy on the committed corpus (test/fixtures/ja-ocr): character error rate per
// variant (horizontal/vertical × clean/scan/skewed/rotated), whitespace ignored, for the project's OCR
// path, side by side with the native tesseract CLI run as the issue measured it. And the generator
// still makes the committed ground truth.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS } from '../src/config.ts';
import { prepareForOcr } from '../src/workers/ocr/prepare.ts';
import { readPage } from '../src/workers/ocr/page.ts';
import { enginesUnderTest } from './helpers/ocr-engines.ts';
import { editsAgainst, jaGroup, jaPages, jaTitle, jaTruth, JA_OCR_DIR, nativeCliRead, nativeTesseractMissing } from './helpers/ja-ocr-corpus.ts';
import type { JaPage } from './helpers/ja-ocr-corpus.ts';
import { normaliseForCer } from './helpers/cer.ts';

const CI = process.env.CI === 'true';
const FONTS = '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc';

/**
 * Highest CER per variant for the project's OCR path, either engine (tessdata_fast, eng+jpn). Measured
 * on this corpus: horizontal 1.1-2.9 %, vertical 2.2-4.7 % (a bottom-aligned signature column of the
 * vertical letter is dropped by tesseract's layout analysis: 6.4 % on that page). The bounds leave
 * about a point for engine builds and still catch a lost title line (~1 %), a page read with the
 * wrong model or turn (≥ 50 %), or the vertical step switched off (100 %).
 */
const MAX_CER: Record<string, number> = {
  'horizontal/clean': 0.025,
  'horizontal/scan': 0.04,
  'horizontal/skewed': 0.025,
  'horizontal/rotated': 0.025,
  'vertical/clean': 0.06,
  'vertical/scan': 0.035,
  'vertical/skewed': 0.035,
  'vertical/rotated': 0.06,
};
/** The issue's target is "at or below the native CLI" per variant; this much slack absorbs engine builds. */
const CLI_SLACK = 0.003;
/** Variants whose every title line (請求書, 会議議事録 …) must be in the text. */
const TITLES_REQUIRED = ['horizontal/clean', 'horizontal/scan', 'horizontal/skewed'];

type Tally = { edits: number; chars: number; titles: number; pages: number };

function table(rows: Map<string, Tally>, native: Map<string, Tally>): string {
  const pct = (t?: Tally) => (t ? `${((t.edits / t.chars) * 100).toFixed(1).padStart(5)} %` : '    —  ');
  const out = ['variant                  project   native   titles (project/native)'];
  for (const [group, t] of rows) {
    const n = native.get(group);
    out.push(`${group.padEnd(24)} ${pct(t)}  ${pct(n)}   ${t.titles}/${t.pages}  ${n ? `${n.titles}/${n.pages}` : '—'}`);
  }
  return out.join('\n');
}

async function tally(pages: JaPage[], read: (p: JaPage) => Promise<string>): Promise<{ groups: Map<string, Tally>; perPage: Map<string, number> }> {
  const groups = new Map<string, Tally>();
  const perPage = new Map<string, number>();
  for (const page of pages) {
    const text = await read(page);
    const { edits, chars } = editsAgainst(text, jaTruth(page));
    perPage.set(page.file, edits / chars);
    const g = groups.get(jaGroup(page)) ?? { edits: 0, chars: 0, titles: 0, pages: 0 };
    g.edits += edits;
    g.chars += chars;
    g.pages++;
    if (normaliseForCer(text).includes(jaTitle(page))) g.titles++;
    groups.set(jaGroup(page), g);
  }
  return { groups, perPage };
}

describe('Japanese OCR corpus', () => {
  test('the committed corpus has ground truth for every page, horizontal and vertical, in four variants', () => {
    const pages = jaPages();
    assert.ok(pages.length >= 16, `${pages.length} pages`);
    for (const p of pages) {
      assert.ok(existsSync(path.join(JA_OCR_DIR, p.file)), p.file);
      assert.ok(jaTitle(p).length >= 2 && jaTitle(p).length <= 8, `${p.file}: short title line`);
      assert.ok(p.dpi >= 150 && p.dpi <= 300, `${p.file}: ${p.dpi} dpi`);
    }
    const groups = new Set(pages.map(jaGroup));
    for (const w of ['horizontal', 'vertical']) for (const v of ['clean', 'scan', 'skewed', 'rotated']) assert.ok(groups.has(`${w}/${v}`), `${w}/${v}`);
  });

  const noFonts = existsSync(FONTS) ? false : 'Noto CJK fonts absent: install Debian fonts-noto-cjk';
  test('the generator makes the committed ground truth', { skip: CI ? false : noFonts }, async () => {
    const { makeCorpus } = await import('../scripts/make-ja-ocr-corpus.ts');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ja-ocr-'));
    try {
      const made = await makeCorpus(dir);
      assert.deepEqual(made, jaPages());
      for (const p of made) assert.equal(readFileSync(path.join(dir, p.truth), 'utf8'), jaTruth(p), p.truth);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const nativeMissing = nativeTesseractMissing();
  if (nativeMissing && !CI) console.log(`# ja-ocr: native baseline skipped (${nativeMissing})`);
  let native = new Map<string, Tally>();

  test('native tesseract CLI baseline (the figures the project must match)', { skip: CI ? false : (nativeMissing ?? false) }, async () => {
    ({ groups: native } = await tally(jaPages(), nativeCliRead));
    // The baseline itself reads: if it did not, the comparison below would mean nothing.
    for (const [group, t] of native) assert.ok(t.edits / t.chars < 1, `${group}: native CER ${t.edits / t.chars}`);
  });

  for (const { kind, skip, make } of enginesUnderTest()) {
    describe(`project OCR path, ${kind} engine`, { skip }, () => {
      const engine = make('fast');
      after(() => engine.close());

      test('CER per variant stays under its bound and every title line is read', async () => {
        const { groups, perPage } = await tally(jaPages(), async (p) => {
          const img = await prepareForOcr({ kind: 'file', path: path.join(JA_OCR_DIR, p.file) }, 100_000_000);
          return (await readPage(engine, img, { langs: DEFAULTS.OCR_LANGS, timeoutMs: 120_000 })).text;
        });
        console.log(`${kind} engine (tessdata_fast), ${DEFAULTS.OCR_LANGS}\n${table(groups, native)}`);
        console.log([...perPage].map(([f, r]) => `${f.padEnd(28)} ${(r * 100).toFixed(1)} %`).join('\n'));
        for (const [group, t] of groups) {
          const rate = t.edits / t.chars;
          assert.ok(rate <= MAX_CER[group]!, `${group}: CER ${(rate * 100).toFixed(1)} % over ${MAX_CER[group]! * 100} %`);
          const cli = native.get(group);
          if (cli) assert.ok(rate <= cli.edits / cli.chars + CLI_SLACK, `${group}: CER ${(rate * 100).toFixed(1)} % above the native CLI's ${((cli.edits / cli.chars) * 100).toFixed(1)} %`);
          if (TITLES_REQUIRED.includes(group)) assert.equal(t.titles, t.pages, `${group}: title line read on ${t.titles} of ${t.pages} pages`);
        }
      });
    });
  }
});
