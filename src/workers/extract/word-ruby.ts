// Word 97-2003 stores ruby (furigana) as an EQ field with no result part:
//   \x13EQ \* jc2 \* "Font:MS Mincho" \* hps11 \o\ad(\s\up 10(とうきょう),東京)\x15
// word-extractor keeps only the result part of a field, so a ruby field, and a document made of them,
// came out empty. Its text cleaner is wrapped before word-extractor loads (it takes `clean` by
// destructuring when it is required), so ruby fields become "東京（とうきょう）"; other fields stay the
// library's business. Import this module before 'word-extractor'.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A field without a separator (\x14): code only. Nested fields are left to the library. */
const CODE_ONLY_EQ_FIELD = /\x13\s*EQ\b([^\x13\x14\x15]*)\x15/g;
/** \o (overstrike) with an optional alignment, the reading raised by \s\up N, then the base text. */
const RUBY = /\\o(?:\\a[a-z]{1,3})?\s*\(\s*\\s\\up\s*-?\d+\s*\(([^()]*)\)\s*,([^()]*)\)/g;

/** The ruby of an EQ field as base text with its reading, for every ruby field in a piece of text. */
export function rubyFieldsAsText(raw: string): string {
  if (!raw.includes('\x13')) return raw;
  return raw.replace(CODE_ONLY_EQ_FIELD, (field, code: string) => {
    const parts = [...code.matchAll(RUBY)].map((m) => `${m[2]!.trim()}（${m[1]!.trim()}）`);
    return parts.length ? parts.join('') : field;
  });
}

type Filters = { clean(text: string): string; __rubyAware?: true };
const filters = require('word-extractor/lib/filters.js') as Filters;
if (typeof filters.clean !== 'function') throw new Error('word-extractor: lib/filters.js has no clean(); ruby fields would be lost (update src/workers/extract/word-ruby.ts)');
if (!filters.__rubyAware) {
  const clean = filters.clean;
  filters.clean = (text) => clean(rubyFieldsAsText(text));
  filters.__rubyAware = true;
}
