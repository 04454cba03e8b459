// Where each engine finds its language data. Nothing is downloaded: tessdata_fast eng/jpn/jpn_vert ship
// in models/ (gzipped), best_int eng/jpn come from the @tesseract.js-data packages, and OSD's model from
// @tesseract.js-data/osd. The native engine with the fast models uses the system's tessdata (Debian's
// tesseract-ocr-* packages install the same tessdata_fast files); with best it gets a folder of
// unpacked files made once per process.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { OcrModel } from './engine.ts';
import { OcrEngineError } from './engine.ts';

const require = createRequire(import.meta.url);

/** The tessdata_fast models shipped with the project. */
export const SHIPPED_MODELS_DIR = fileURLToPath(new URL('../../../models/tessdata_fast/', import.meta.url));

/** Languages with best_int data in an @tesseract.js-data package; others fall back to fast. */
const BEST_PACKAGES = new Set(['eng', 'jpn']);

/** The gzipped traineddata file for one language and model ('osd' included). */
export function modelFile(lang: string, model: OcrModel): string {
  if (lang === 'osd') return packageFile('osd', '4.0.0');
  if (model === 'best' && BEST_PACKAGES.has(lang)) return packageFile(lang, '4.0.0_best_int');
  const file = path.join(SHIPPED_MODELS_DIR, `${lang}.traineddata.gz`);
  if (!existsSync(file)) {
    throw new OcrEngineError(`OCR language ${JSON.stringify(lang)} has no model: models/tessdata_fast holds ${shippedLanguages().join(', ')}`);
  }
  return file;
}

/** The model's bytes, unpacked (what tesseract's Init reads). */
export function modelBytes(lang: string, model: OcrModel): Buffer {
  return gunzipSync(readFileSync(modelFile(lang, model)));
}

export function shippedLanguages(): string[] {
  return ['eng', 'jpn', 'jpn_vert'].filter((l) => existsSync(path.join(SHIPPED_MODELS_DIR, `${l}.traineddata.gz`)));
}

function packageFile(lang: string, dir: string): string {
  let pkgDir: string;
  try {
    pkgDir = path.dirname(require.resolve(`@tesseract.js-data/${lang}/package.json`));
  } catch (err) {
    throw new OcrEngineError(`OCR language ${JSON.stringify(lang)} has no data: install @tesseract.js-data/${lang}`, { cause: err });
  }
  const file = path.join(pkgDir, dir, `${lang}.traineddata.gz`);
  if (!existsSync(file)) throw new OcrEngineError(`OCR language data missing: ${file}`);
  return file;
}

/**
 * The --tessdata-dir for the native engine: undefined for fast (the system's own tessdata), else a
 * private folder with the unpacked best_int models (and fast ones where no best exists) plus OSD.
 */
export function nativeTessdataDir(model: OcrModel, langs: string[]): string | undefined {
  if (model === 'fast') return undefined;
  const dir = path.join(os.tmpdir(), `filesearch-tessdata-${model}-${process.getuid?.() ?? 'u'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const lang of new Set([...langs, 'osd'])) {
    const target = path.join(dir, `${lang}.traineddata`);
    if (existsSync(target)) continue;
    // Written under a unique name and renamed: two pool threads may do this at once.
    const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    writeFileSync(tmp, modelBytes(lang, model));
    renameSync(tmp, target);
  }
  return dir;
}
