// Character error rate: edit distance between OCR output and ground truth over their characters,
// whitespace ignored (layout spacing is not what search depends on), divided by the truth's length.
export function normaliseForCer(text: string): string {
  return text.normalize('NFKC').replace(/\s+/g, '');
}

export { editDistance as levenshtein } from '../../src/workers/extract/result.ts';
import { editDistance as levenshtein } from '../../src/workers/extract/result.ts';

export function cer(ocr: string, truth: string): number {
  const t = normaliseForCer(truth);
  return t.length === 0 ? 0 : levenshtein(normaliseForCer(ocr), t) / t.length;
}
