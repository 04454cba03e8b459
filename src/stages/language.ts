// The main language of a document's text, as an ISO 639-1 code ("ja", "en"), or undefined when the
// text is too short or too unclear to say. Detector: eld (Efficient Language Detector), its smallest
// database, chosen by measured accuracy on short Japanese, English and mixed texts (README, "Language").
// A mixed document gets its main language: samples spread over the text each vote with the weight of
// their letters, so a Japanese report quoting English terms stays Japanese.
//
// Runs in the main thread, once per document, on at most SAMPLES × SAMPLE_CHARS characters (well under
// a millisecond): the n-gram database costs ~30 MB of heap, which one copy here pays once, where every
// pool thread would pay it again.
import { readFileSync } from 'node:fs';

type Detect = (text: string) => { language: string };

/**
 * eld ships its database as a 1 MB JavaScript object literal; compiling that costs ~35 MB more resident
 * memory (and twice the time) than reading the same data with JSON.parse. So the literal is read as
 * data and handed to eld's own detector. Should eld's file layout change, the package's public entry is
 * used instead (same results, more memory).
 */
async function loadDetector(): Promise<Detect> {
  try {
    const entry = import.meta.resolve('eld/extrasmall');
    const source = readFileSync(new URL('../ngrams/extrasmall.js', entry), 'utf8');
    const data = JSON.parse(literalToJson(source.slice(source.indexOf('=', source.indexOf('export const ngramsData')) + 1, source.lastIndexOf('}') + 1)));
    const { createEld } = (await import(new URL('../languageDetector.js', entry).href)) as { createEld(): { instance: { detect: Detect }; loadData(d: unknown): boolean } };
    const { instance, loadData } = createEld();
    if (!loadData(data)) throw new Error('eld refused the database');
    return instance.detect;
  } catch {
    const { eld } = await import('eld/extrasmall');
    return eld.detect;
  }
}

/** A JavaScript object literal of string/number keys and values (eld's database) as JSON text. */
export function literalToJson(body: string): string {
  const parts: string[] = [];
  const n = body.length;
  let i = 0;
  let last = '{';
  const word = /[A-Za-z0-9_$.]/;
  while (i < n) {
    const c = body[i]!;
    if (c === "'" || c === '"') {
      let s = '';
      i++;
      while (i < n && body[i] !== c) {
        if (body[i] === '\\') {
          s += body[i + 1] ?? '';
          i += 2;
        } else {
          s += body[i];
          i++;
        }
      }
      i++;
      parts.push(JSON.stringify(s));
      last = '"';
    } else if (word.test(c)) {
      let j = i;
      while (j < n && word.test(body[j]!)) j++;
      let k = j;
      while (k < n && body[k] === ' ') k++;
      const text = body.slice(i, j);
      // A bare key (after "{" or ",", before ":") is quoted; a bare value (a number, true/false) stays.
      parts.push((last === '{' || last === ',') && body[k] === ':' ? JSON.stringify(text) : text);
      last = 'w';
      i = j;
    } else {
      parts.push(c);
      if (!/\s/.test(c)) last = c;
      i++;
    }
  }
  return parts.join('');
}

const detect = await loadDetector();

/** Characters per sample at most, and samples per document at most. */
const SAMPLE_CHARS = 300;
const SAMPLES = 16;
/** Fewer letters than this and no language is claimed. */
const MIN_LETTERS = 3;
/** A language must hold this share of the weighted votes to be the document's language. */
const MIN_SHARE = 0.4;

const LETTER = /\p{L}/gu;

export function detectLanguage(text: string): string | undefined {
  const votes = new Map<string, number>();
  let total = 0;
  for (const sample of samples(text)) {
    const letters = sample.match(LETTER)?.length ?? 0;
    if (letters === 0) continue;
    total += letters;
    const lang = detect(sample).language;
    if (lang) votes.set(lang, (votes.get(lang) ?? 0) + letters);
  }
  if (total < MIN_LETTERS) return undefined;
  let best: string | undefined;
  let bestVotes = 0;
  for (const [lang, n] of votes) {
    if (n > bestVotes) {
      best = lang;
      bestVotes = n;
    }
  }
  return best && bestVotes >= total * MIN_SHARE ? best : undefined;
}

/**
 * Lines grouped into samples of up to SAMPLE_CHARS (a paragraph in another language gets its own vote
 * instead of being swallowed by its neighbours); of many samples, SAMPLES evenly spread over the text.
 */
function samples(text: string): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    for (let i = 0; i < line.length; i += SAMPLE_CHARS) {
      const piece = line.slice(i, i + SAMPLE_CHARS);
      if (current && current.length + piece.length + 1 > SAMPLE_CHARS) {
        chunks.push(current);
        current = '';
      }
      current = current ? `${current} ${piece}` : piece;
    }
    // Bound the work on huge texts: samples come from the first SAMPLES × 64 chunks (about 300 000 characters).
    if (chunks.length > SAMPLES * 64) break;
  }
  if (current) chunks.push(current);
  if (chunks.length <= SAMPLES) return chunks;
  const step = chunks.length / SAMPLES;
  return Array.from({ length: SAMPLES }, (_, k) => chunks[Math.floor(k * step)]!);
}
