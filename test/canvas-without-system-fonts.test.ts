// A pool thread loads the canvas (directly, or through pdf.js, which loads it itself) without
// registering the system fonts: they would stay resident for the life of the process, and pdf.js
// draws glyphs as paths (disableFontFace) so it never uses them. Each case runs in a fresh process:
// the font collection is process-wide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const { DISABLE_SYSTEM_FONTS_LOAD: _, ...env } = process.env;
const fontCount = (entry: string) =>
  Number(
    execFileSync(process.execPath, ['--input-type=module', '-e', `${entry}\nconst { GlobalFonts } = await import('@napi-rs/canvas');\nconsole.log(GlobalFonts.families.length);`], {
      cwd: new URL('..', import.meta.url),
      encoding: 'utf8',
      env,
    }).trim(),
  );

test('pdf.js loaded by the PDF extractor brings no system fonts into the process', () => {
  assert.equal(fontCount(`await import('./src/workers/extract/pdf.ts'); await import('pdfjs-dist/legacy/build/pdf.mjs');`), 0);
});

test("the pool thread's warm-up loads the canvas without the system fonts", () => {
  assert.equal(fontCount(`const w = await import('./src/workers/extract-worker.ts'); await w.warmUp();`), 0);
});

test('without this the canvas would register the fonts installed on this machine', (t) => {
  const plain = fontCount('');
  if (plain === 0 && process.env.CI !== 'true') {
    t.skip('no system fonts here (fonts-noto-cjk would give some): nothing to keep out');
    return;
  }
  assert.ok(plain > 0, `the canvas registered ${plain} font families: CI installs fonts-noto-cjk, so it should find some`);
});
