// Small helpers shared by the extractors: text limits, CJK spacing, status merging, deadlines.
import type { DocStatus } from '../../types.ts';

// Han, Hiragana, Katakana (incl. half-width), CJK punctuation and full-width forms.
const CJK = '\\u3000-\\u303f\\u3040-\\u309f\\u30a0-\\u30ff\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff\\uff00-\\uffef';
const CJK_GAP = new RegExp(`([${CJK}])[ \\t\\u3000]+(?=[${CJK}])`, 'g');

/** OCR (and some PDF text layers) put spaces between Japanese characters: remove spaces between two CJK chars. */
export function removeCjkSpaces(text: string): string {
  return text.replace(CJK_GAP, '$1');
}

/**
 * Text as the index should hold it: well-formed UTF-16, no control characters, no runs of padding;
 * keeps tabs (cell separators) and single blank lines (paragraphs).
 */
export function cleanText(text: string): string {
  return text
    .toWellFormed()
    .replace(/\r\n?/g, '\n')
    .replace(/\f/g, '\n')
    .replace(/[\u0000-\u0008\u000B\u000E-\u001F\u007F]/g, '')
    .replace(/ {2,}/g, ' ')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** cleanText for laid-out text (PDF text layers, OCR): also collapses tabs and no-break spaces and trims each line. */
export function tidyText(text: string): string {
  return cleanText(text.replace(/[ \t\f\v\u00a0]+/g, ' ').replace(/ *\n */g, '\n'));
}

/** Characters that carry content (no whitespace): decides whether a PDF page has a real text layer. */
export function contentLength(text: string): number {
  return text.replace(/\s+/g, '').length;
}

/** Cuts text to maxChars without splitting a surrogate pair. */
export function truncate(text: string, maxChars: number): { text: string; truncated: boolean } {
  if (text.length <= maxChars) return { text, truncated: false };
  let end = Math.max(0, maxChars);
  const code = text.charCodeAt(end - 1);
  if (end > 0 && code >= 0xd800 && code <= 0xdbff) end--;
  return { text: text.slice(0, end), truncated: true };
}

/** Accumulates page texts up to a character budget. */
export class TextBudget {
  readonly #maxChars: number;
  readonly #parts: string[] = [];
  #length = 0;
  truncated = false;
  constructor(maxChars: number) {
    this.#maxChars = maxChars;
  }
  /** Adds text; returns false once the budget is spent (callers stop reading more). */
  add(text: string): boolean {
    if (this.truncated) return false;
    if (!text) return true;
    const sep = this.#length > 0 ? 2 : 0;
    const room = this.#maxChars - this.#length - sep;
    if (room <= 0) {
      this.truncated = true;
      return false;
    }
    const cut = truncate(text, room);
    if (sep) this.#parts.push('\n\n');
    this.#parts.push(cut.text);
    this.#length += sep + cut.text.length;
    if (cut.truncated) this.truncated = true;
    return !this.truncated;
  }
  get text(): string {
    return this.#parts.join('');
  }
}

const STATUS_RANK: Record<DocStatus, number> = { ok: 0, partial: 1, unsupported: 2, encrypted: 3, too_large: 4, failed: 5 };

/** The worse of two statuses. */
export function worseStatus(a: DocStatus, b: DocStatus): DocStatus {
  return STATUS_RANK[b] > STATUS_RANK[a] ? b : a;
}

/** Collects the plain-words reasons for a partial result. */
export class Problems {
  readonly #items: string[] = [];
  add(message: string): void {
    if (!this.#items.includes(message) && this.#items.length < 20) this.#items.push(message);
  }
  get any(): boolean {
    return this.#items.length > 0;
  }
  get message(): string | undefined {
    return this.#items.length ? this.#items.join('; ') : undefined;
  }
}

/** A wall-clock deadline for one document. */
export class Deadline {
  readonly at: number;
  constructor(ms: number, now = Date.now()) {
    this.at = now + ms;
  }
  get remaining(): number {
    return Math.max(0, this.at - Date.now());
  }
  get passed(): boolean {
    return Date.now() >= this.at;
  }
}

export class DeadlineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeadlineError';
  }
}

/** Races a promise against a timeout; the loser is ignored (its rejection is swallowed). */
export async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(message)), Math.max(0, ms));
  });
  p.catch(() => {});
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Levenshtein distance over code points (OCR title checks here; CER in the tests and the bench). */
export function editDistance(a: string, b: string): number {
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
