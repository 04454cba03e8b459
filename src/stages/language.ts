// The main language of a document's text, as an ISO 639-1 code ("ja", "en"), or undefined when the
// text is too short or too unclear to say. Detector: eld (Efficient Language Detector), its smallest
// database, chosen by measured accuracy on short Japanese, English and mixed texts (README, "Language").
// A mixed document gets its main language: samples spread over the text each vote with the weight of
// their letters, so a Japanese report quoting English terms stays Japanese.
//
// Runs in the main thread, once per document, on at most SAMPLES × SAMPLE_CHARS characters (well under
// a millisecond): the n-gram database costs ~30 MB of heap, which one copy here pays once, where every
// pool thread would pay it again.
import { eld } from 'eld/extrasmall';

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
    const lang = eld.detect(sample).language;
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
