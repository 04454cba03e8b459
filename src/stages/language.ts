// The main language of a document's text, as an ISO 639-1 code ("ja", "en"), or undefined when the
// text is too short or too unclear to say. Detector: eld (Efficient Language Detector), its smallest
// database, chosen by measured accuracy on short Japanese, English and mixed texts (README, "Language").
// A mixed document gets its main language: samples spread over the text each vote with the weight of
// their letters, so a Japanese report quoting English terms stays Japanese.
//
// Runs in the main thread, once per document, on at most SAMPLES × SAMPLE_CHARS characters (well under
// a millisecond): one copy of the n-gram database here, where every pool thread would pay for it again.
import { readFileSync } from 'node:fs';

type Detect = (text: string) => { language: string };

/**
 * eld ships its database as a 1 MB JavaScript object literal: 49,553 n-grams, each a small object
 * {languageIndex: score}. Compiled, or parsed into objects, that is ~15 MB of heap and ~35-50 MB of
 * resident memory (the parse's garbage stays as committed heap) in a process whose budget is 500 MB.
 * So the text is read once, straight into compact arrays (~3 MB with the n-gram map), and eld's own
 * detector is given a view that builds an n-gram's {language: score} object when eld looks it up (a few
 * hundred lookups per document). Should eld's file layout change, the package's public entry is used
 * instead (same results, more memory).
 */
async function loadDetector(): Promise<Detect> {
  try {
    const entry = import.meta.resolve('eld/extrasmall');
    const db = readNgrams(readFileSync(new URL('../ngrams/extrasmall.js', entry), 'utf8'));
    const { createEld } = (await import(new URL('../languageDetector.js', entry).href)) as { createEld(): { instance: { detect: Detect }; loadData(d: unknown): boolean } };
    const { instance, loadData } = createEld();
    if (!loadData({ ...db.header, ngrams: ngramView(db) })) throw new Error('eld refused the database');
    return instance.detect;
  } catch {
    const { eld } = await import('eld/extrasmall');
    return eld.detect;
  }
}

/** eld's database, compact: n-gram -> its index; its (language, score) pairs at pairs[2*offsets[i] .. 2*offsets[i+1]). */
export type CompactNgrams = { header: Record<string, unknown>; index: Map<string, number>; offsets: Uint32Array; pairs: Uint8Array };

/**
 * Reads `export const ngramsData = {type:…,languages:{…},isSubset:…,ngrams:{'key':{lang:score,…},…}}`.
 * The header (everything before `ngrams`) is small and goes through literalToJson; the n-grams are
 * scanned here. Throws on anything it does not expect (a language index or score over 255 included).
 */
export function readNgrams(source: string): CompactNgrams {
  const start = source.indexOf('{', source.indexOf('export const ngramsData'));
  const at0 = source.indexOf('ngrams:{', start);
  if (start < 0 || at0 < 0) throw new Error('eld database: no ngrams object');
  const header = JSON.parse(literalToJson(`${source.slice(start, at0).replace(/,\s*$/, '')}}`)) as Record<string, unknown>;
  const index = new Map<string, number>();
  // Upper bounds from the text's length; cut to size at the end.
  let offsets = new Uint32Array(source.length >> 3);
  let pairs = new Uint8Array(source.length >> 1);
  let n = 0;
  let p = 0;
  let i = at0 + 'ngrams:{'.length;
  const fail = (what: string): never => {
    throw new Error(`eld database: ${what} at offset ${i}`);
  };
  const digits = (): number => {
    let v = 0;
    const from = i;
    for (let c = source.charCodeAt(i); c >= 48 && c <= 57; c = source.charCodeAt(++i)) v = v * 10 + c - 48;
    if (i === from) fail('a number expected');
    return v;
  };
  while (source[i] !== '}') {
    let key = '';
    const q = source[i];
    if (q === "'" || q === '"') {
      const from = ++i;
      let escaped = false;
      for (; source[i] !== q; i++) {
        if (i >= source.length) fail('an unterminated key');
        if (source[i] === '\\') {
          escaped = true;
          i++;
        }
      }
      // A plain slice is one flat string; only the few keys with an escape are rebuilt.
      key = escaped ? source.slice(from, i).replace(/\\(.)/gs, '$1') : source.slice(from, i);
      i++;
    } else {
      const from = i;
      while (/[A-Za-z0-9_$]/.test(source[i] ?? '')) i++;
      key = source.slice(from, i);
    }
    if (!key || source[i] !== ':' || source[i + 1] !== '{') fail('an n-gram expected');
    i += 2;
    offsets[n] = p;
    while (source[i] !== '}') {
      const lang = digits();
      if (source[i++] !== ':') fail('":" expected');
      const score = digits();
      if (lang > 255 || score > 255) fail('a language index or score over 255');
      pairs[2 * p] = lang;
      pairs[2 * p + 1] = score;
      p++;
      if (source[i] === ',') i++;
    }
    i++;
    index.set(key, n++);
    if (source[i] === ',') i++;
    else if (source[i] !== '}') fail('"," or "}" expected');
  }
  offsets[n] = p;
  offsets = offsets.slice(0, n + 1);
  pairs = pairs.slice(0, 2 * p);
  return { header, index, offsets, pairs };
}

/** The n-grams as eld reads them (`ngrams[key]`, then `for (lang in entry)`), built per lookup. */
export function ngramView({ index, offsets, pairs }: CompactNgrams): Record<string, Record<number, number> | undefined> {
  return new Proxy({} as Record<string, Record<number, number> | undefined>, {
    get(_target, key) {
      const n = typeof key === 'string' ? index.get(key) : undefined;
      if (n === undefined) return undefined;
      const entry: Record<number, number> = {};
      for (let k = offsets[n]!; k < offsets[n + 1]!; k++) entry[pairs[2 * k]!] = pairs[2 * k + 1]!;
      return entry;
    },
  });
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
