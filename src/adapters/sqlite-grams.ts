// One- and two-character words (common in Japanese: 会議, 予算, 書) are below the reach of the trigram
// index. The SQLite index therefore also keeps, per document, every distinct character and pair of
// adjacent word characters of its name, source and text as tokens of a contentless FTS5 table
// (`documents_grams`, unicode61), so such a word is an index lookup instead of a scan. Writer
// (sqlite-index.ts) and reader (sqlite-search.ts) share these definitions.

/** Characters unicode61 keeps inside tokens (letters, numbers, private use); anything else separates. */
const WORD_CHAR = /[\p{L}\p{N}\p{Co}]/u;

export const GRAMS_TABLE = 'documents_grams';

export const GRAMS_SCHEMA = `CREATE VIRTUAL TABLE IF NOT EXISTS ${GRAMS_TABLE} USING fts5(grams, content='', contentless_delete=1, detail='none', tokenize='unicode61 remove_diacritics 0')`;

/** The gram tokens of a document: distinct characters and adjacent pairs within runs of word characters. */
export function documentGrams(...fields: string[]): string {
  const grams = new Set<string>();
  for (const field of fields) {
    let prev = '';
    for (const ch of field.toLowerCase()) {
      if (WORD_CHAR.test(ch)) {
        grams.add(ch);
        if (prev) grams.add(prev + ch);
        prev = ch;
      } else {
        prev = '';
      }
    }
  }
  return [...grams].join(' ');
}

/** Can the gram table answer this short term exactly (one or two word characters)? */
export function isGramTerm(term: string): boolean {
  const chars = [...term];
  return chars.length >= 1 && chars.length <= 2 && chars.every((c) => WORD_CHAR.test(c));
}
