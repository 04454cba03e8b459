// Character error rate: edit distance between OCR output and ground truth over their characters,
// whitespace ignored (layout spacing is not what search depends on), divided by the truth's length.
export function normaliseForCer(text: string): string {
  return text.normalize('NFKC').replace(/\s+/g, '');
}

export function levenshtein(a: string, b: string): number {
  const A = Array.from(a);
  const B = Array.from(b);
  let prev = new Uint32Array(B.length + 1).map((_, j) => j);
  let cur = new Uint32Array(B.length + 1);
  for (let i = 1; i <= A.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= B.length; j++) {
      const cost = A[i - 1] === B[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[B.length]!;
}

export function cer(ocr: string, truth: string): number {
  const t = normaliseForCer(truth);
  return t.length === 0 ? 0 : levenshtein(normaliseForCer(ocr), t) / t.length;
}
