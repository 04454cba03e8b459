// The committed Japanese OCR corpus (test/fixtures/ja-ocr, made by scripts/make-ja-ocr-corpus.ts) and
// the native tesseract CLI run the way the issue measured it: `jpn+eng` for horizontal pages,
// `jpn_vert` for vertical ones, default page segmentation, one thread, the file as given.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { levenshtein, normaliseForCer } from './cer.ts';

export const JA_OCR_DIR = new URL('../fixtures/ja-ocr/', import.meta.url).pathname;

export type JaPage = {
  file: string;
  truth: string;
  doc: string;
  writing: 'horizontal' | 'vertical';
  variant: 'clean' | 'scan' | 'skewed' | 'rotated';
  dpi: number;
  rotation: number;
  skew: number;
};

export function jaPages(): JaPage[] {
  return JSON.parse(readFileSync(path.join(JA_OCR_DIR, 'manifest.json'), 'utf8')) as JaPage[];
}

export function jaTruth(page: JaPage): string {
  return readFileSync(path.join(JA_OCR_DIR, page.truth), 'utf8');
}

/** The short first line (請求書, 会議議事録 …). */
export function jaTitle(page: JaPage): string {
  return normaliseForCer(jaTruth(page).split('\n')[0]!);
}

/** `writing/variant`, the rows of the CER table. */
export function jaGroup(page: JaPage): string {
  return `${page.writing}/${page.variant}`;
}

/** Edits and truth length, whitespace ignored; summed per group they give the group's CER. */
export function editsAgainst(text: string, truth: string): { edits: number; chars: number } {
  const t = normaliseForCer(truth);
  return { edits: levenshtein(normaliseForCer(text), t), chars: [...t].length };
}

/** Why native tesseract cannot run here, or undefined when it can (with eng, jpn and jpn_vert). */
export function nativeTesseractMissing(): string | undefined {
  try {
    const langs = execFileSync('tesseract', ['--list-langs'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const missing = ['eng', 'jpn', 'jpn_vert'].filter((l) => !new RegExp(`^${l}$`, 'm').test(langs));
    if (missing.length) return `tesseract lacks ${missing.join(', ')}: install Debian ${missing.map((l) => `tesseract-ocr-${l.replace('_', '-')}`).join(' ')}`;
    return undefined;
  } catch {
    return 'native tesseract is not installed: install Debian tesseract-ocr tesseract-ocr-jpn tesseract-ocr-jpn-vert';
  }
}

/** The issue's baseline: the tesseract CLI on the file, `jpn+eng` (or `jpn_vert` for vertical pages). */
export function nativeCliRead(page: JaPage): Promise<string> {
  const lang = page.writing === 'vertical' ? 'jpn_vert' : 'jpn+eng';
  return new Promise((resolve, reject) => {
    execFile('tesseract', [path.join(JA_OCR_DIR, page.file), '-', '-l', lang], { env: { ...process.env, OMP_THREAD_LIMIT: '1' }, maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout);
    });
  });
}
