// The query model over the SQLite index, opened read-only. Terms of 3+ characters go through the
// FTS5 trigram table (substring match, bm25 ranking); shorter ones — Japanese one- and two-character
// words, which a trigram index cannot see — through the gram table (sqlite-grams.ts), or a LIKE scan
// when the term has punctuation or the index predates that table. All terms must match.
// Pages continue after the last hit's sort values (keyset), so a page never repeats or skips a hit
// while the index is unchanged.
import { existsSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { QueryError } from '../errors.ts';
import { METADATA_FIELD_NAMES, METADATA_FIELDS, columnOf, type DocStatus, type IndexDocument } from '../types.ts';

export type Row = Record<string, string | number | null>;
import {
  KEYWORD_FILTERS, charLength, decodeCursor, emptyFacets, encodeCursor, folderOf,
  type KeywordFilter, type SearchBackend, type SearchHit, type SearchPage, type SearchQuery,
} from '../search/query.ts';
import { GRAMS_TABLE, isGramTerm } from './sqlite-grams.ts';
import { LOOKUP_TABLE } from './sqlite-lookup.ts';
import { SNIPPET_LEAD, SNIPPET_SPAN, highlightWindow } from '../search/snippet.ts';

/** Column of each keyword filter. */
const KEYWORD_COLUMNS: Record<KeywordFilter, string> = { status: 'status', contentType: 'content_type', language: 'language' };

type Params = Record<string, string | number | null>;

/** bm25 weights per FTS column (name, source, text): a match in the name counts most. */
const BM25 = 'bm25(documents_fts, 4.0, 1.0, 1.0)';

/** SQLite LIKE pattern for "contains", with its wildcards escaped. */
function containsPattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** ASCII-only lower case, as SQLite's lower() does, so instr() finds what LIKE matched. */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (c) => c.toLowerCase());
}

type Plan = {
  from: string;
  rank: string;
  /** Conditions of the query without the keyword filters (facets are counted over these). */
  base: string[];
  params: Params;
};

/**
 * `grams`: the index has the gram table (indexes written before it scan for short terms instead);
 * `lookup`: it has the narrow lookup table, read instead of `documents` unless a scan needs the text.
 */
function plan(q: SearchQuery, grams: boolean, lookup: boolean): Plan {
  const params: Params = {};
  const base: string[] = [];
  const long = q.terms.filter((t) => charLength(t.value) >= 3);
  const short = q.terms.filter((t) => charLength(t.value) < 3);
  const scans = short.some((t) => !grams || !isGramTerm(t.value));
  // The lookup table's INTEGER PRIMARY KEY is its rowid, equal to the document's.
  const table = lookup && !scans ? `${LOOKUP_TABLE} d` : 'documents d';
  let from = table;
  let rank = '0';
  if (long.length > 0) {
    from = `documents_fts JOIN ${table} ON d.rowid = documents_fts.rowid`;
    rank = BM25;
    params.match = long.map((t) => `"${t.value.replace(/"/g, '""')}"`).join(' AND ');
    base.push('documents_fts MATCH :match');
  }
  short.forEach((t, i) => {
    if (grams && isGramTerm(t.value)) {
      params[`g${i}`] = `"${t.value}"`;
      if (from === table) {
        // The first gram term drives the query (a join walks its matches; IN would first collect them).
        from = `${GRAMS_TABLE} JOIN ${table} ON d.rowid = ${GRAMS_TABLE}.rowid`;
        base.push(`${GRAMS_TABLE} MATCH :g${i}`);
      } else {
        base.push(`d.rowid IN (SELECT rowid FROM ${GRAMS_TABLE} WHERE ${GRAMS_TABLE} MATCH :g${i})`);
      }
    } else {
      params[`s${i}`] = containsPattern(t.value);
      base.push(`(d.text LIKE :s${i} ESCAPE '\\' OR d.source LIKE :s${i} ESCAPE '\\')`);
    }
  });
  if (q.folder) {
    params.folder = q.folder;
    base.push('substr(d.source, 1, length(:folder)) = :folder');
  }
  if (q.modifiedFrom) {
    params.mfrom = q.modifiedFrom;
    base.push('d.last_modified >= :mfrom');
  }
  if (q.modifiedTo) {
    params.mto = q.modifiedTo;
    base.push('d.last_modified <= :mto');
  }
  return { from, rank, base, params };
}

/** `col IN (…)` for one keyword filter, or undefined when it has no values. */
function keywordCondition(field: KeywordFilter, values: string[], alias: string, params: Params): string | undefined {
  if (values.length === 0) return undefined;
  const names = values.map((v, i) => {
    params[`k_${field}_${i}`] = v;
    return `:k_${field}_${i}`;
  });
  return `${alias}.${KEYWORD_COLUMNS[field]} IN (${names.join(', ')})`;
}

function where(conditions: Array<string | undefined>): string {
  const c = conditions.filter(Boolean);
  return c.length ? `WHERE ${c.join(' AND ')}` : '';
}

export class SqliteSearch implements SearchBackend {
  readonly kind = 'sqlite';
  readonly #db: DatabaseSync;
  /** Opened here (a path), so closed here; a handle passed in belongs to its SqliteIndex. */
  readonly #owns: boolean;
  #hitRow: StatementSync | undefined;
  readonly #grams: boolean;
  readonly #lookup: boolean;
  /** Columns of the documents table (indexes written by older versions lack some). */
  readonly #columns: Set<string>;

  constructor(source: string | DatabaseSync) {
    if (typeof source === 'string' && !existsSync(source)) {
      throw new Error(`no SQLite index at ${source}: run \`filesearch-worker index <folder>\` first, or pass --db FILE`);
    }
    this.#owns = typeof source === 'string';
    this.#db = typeof source === 'string' ? new DatabaseSync(source, { readOnly: true }) : source;
    // Memory-mapped reads: a query over many matches looks up each row, and through the mapping such a
    // lookup costs no read() call (file-backed pages: the kernel can drop them, they are not heap).
    if (this.#owns) this.#db.exec('PRAGMA busy_timeout = 5000; PRAGMA mmap_size = 1073741824;');
    this.#grams = this.#db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(GRAMS_TABLE) !== undefined;
    this.#lookup = this.#db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(LOOKUP_TABLE) !== undefined;
    this.#columns = new Set((this.#db.prepare('PRAGMA table_info(documents)').all() as Array<{ name: string }>).map((c) => c.name));
  }

  /**
   * One statement, one pass over the matching rows: they are materialized once (id, facet columns,
   * sort keys), then counted per facet, in total, and cut to the page. Other columns and the snippet
   * are read for the page's hits only.
   */
  async search(q: SearchQuery): Promise<SearchPage> {
    const after = decodeCursor(q, this.kind);
    const p = plan(q, this.#grams, this.#lookup);
    const params: Params = { ...p.params, limit: q.limit + 1 };
    const own = Object.fromEntries(KEYWORD_FILTERS.map((f) => [f, keywordCondition(f, q.keyword[f], 'm', params)])) as Record<KeywordFilter, string | undefined>;
    const relevance = q.sort === 'relevance';
    const order = relevance ? 'rank ASC, sortdate DESC, id ASC' : 'sortdate DESC, id ASC';
    let keyset: string | undefined;
    if (after) {
      const [a, b, c] = after;
      if (relevance) {
        if (typeof a !== 'number' || typeof b !== 'string' || typeof c !== 'string') throw badCursor();
        Object.assign(params, { ar: a, ad: b, ai: c });
        keyset = '(rank > :ar OR (rank = :ar AND (sortdate < :ad OR (sortdate = :ad AND id > :ai))))';
      } else {
        if (typeof a !== 'string' || typeof b !== 'string') throw badCursor();
        Object.assign(params, { ad: a, ai: b });
        keyset = '(sortdate < :ad OR (sortdate = :ad AND id > :ai))';
      }
    }
    // A column an older index lacks (language) reads as NULL there: no facet values, and a filter on it matches nothing.
    const facetColumns = KEYWORD_FILTERS.map((f) => `${this.#columns.has(KEYWORD_COLUMNS[f]) ? `d.${KEYWORD_COLUMNS[f]}` : 'NULL'} AS ${KEYWORD_COLUMNS[f]}`).join(', ');
    // Facets and total from one cross-tabulation of the keyword columns (one GROUP BY instead of one per
    // facet): a facet counts the cells that pass every other keyword filter.
    const cols = KEYWORD_FILTERS.map((f) => KEYWORD_COLUMNS[f]);
    const nulls = cols.map(() => 'NULL').join(', ');
    const all = KEYWORD_FILTERS.map((g) => own[g]);
    const sql = `WITH m AS MATERIALIZED (
        SELECT d.rowid AS rid, d.id AS id, ${facetColumns}, ${p.rank} AS rank, coalesce(d.last_modified, '') AS sortdate
        FROM ${p.from} ${where(p.base)}
      )
      SELECT 'cell' AS f, ${cols.join(', ')}, count(*) AS n, NULL AS rid, NULL AS id, NULL AS rank, NULL AS sortdate FROM m GROUP BY ${cols.join(', ')}
      UNION ALL
      SELECT * FROM (SELECT 'hit', ${nulls}, NULL, rid, id, rank, sortdate FROM m ${where([...all, keyset])} ORDER BY ${order} LIMIT :limit)`;
    const facets = emptyFacets();
    let total = 0;
    const rows: Array<{ rid: number; id: string; rank: number; sortdate: string }> = [];
    const passes = (cell: Record<string, unknown>, f: KeywordFilter) => q.keyword[f].length === 0 || q.keyword[f].includes(String(cell[KEYWORD_COLUMNS[f]]));
    for (const r of this.#db.prepare(sql).all(params) as Array<Record<string, unknown> & { f: string; n: number; rid: number; id: string; rank: number; sortdate: string }>) {
      if (r.f === 'hit') {
        rows.push(r);
        continue;
      }
      if (KEYWORD_FILTERS.every((g) => passes(r, g))) total += r.n;
      for (const f of KEYWORD_FILTERS) {
        const v = r[KEYWORD_COLUMNS[f]];
        if (v === null || !KEYWORD_FILTERS.every((g) => g === f || passes(r, g))) continue;
        facets[f][String(v)] = (facets[f][String(v)] ?? 0) + r.n;
      }
    }
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    const nextCursor = more && last
      ? encodeCursor(q, this.kind, relevance ? [Number(last.rank), String(last.sortdate), String(last.id)] : [String(last.sortdate), String(last.id)])
      : null;
    return { hits: page.map((r) => this.#hit(q, r.rid, r.rank)), total, facets, nextCursor };
  }

  /** The page's hit: its columns and a window of its text around the first match, cut in SQL so long texts never reach JS. */
  #hit(q: SearchQuery, rowid: number, rank: number): SearchHit {
    const term = asciiLower(q.terms[0]?.value ?? '');
    this.#hitRow ??= this.#db.prepare(`SELECT id, source, name, content_type, status, error, size, last_modified, ${this.#columns.has('language') ? 'language' : 'NULL AS language'}, thumbnail IS NOT NULL AS has_thumbnail,
          CASE WHEN :t = '' THEN 0 ELSE instr(lower(text), :t) END AS at, length(text) AS n,
          substr(text, max(1, CASE WHEN :t = '' THEN 0 ELSE instr(lower(text), :t) END - ${SNIPPET_LEAD}), ${SNIPPET_SPAN}) AS w
        FROM documents WHERE rowid = :rid`);
    const r = this.#hitRow.get({ t: term, rid: rowid }) as Row;
    const name = String(r.name);
    const source = String(r.source);
    const start = Math.max(1, Number(r.at) - SNIPPET_LEAD);
    const hit: SearchHit = {
      id: String(r.id), source, name, folder: folderOf(source, name), contentType: String(r.content_type), status: String(r.status) as DocStatus,
      size: Number(r.size), thumbnail: Number(r.has_thumbnail) === 1,
      snippet: highlightWindow(String(r.w ?? ''), q.terms, start > 1, start - 1 + SNIPPET_SPAN < Number(r.n)),
      score: q.sort === 'relevance' ? -rank : 0,
    };
    if (r.error !== null) hit.error = String(r.error);
    if (r.last_modified !== null) hit.lastModified = String(r.last_modified);
    if (r.language !== null) hit.language = String(r.language);
    return hit;
  }

  async get(id: string): Promise<IndexDocument | undefined> {
    const row = this.#db.prepare('SELECT * FROM documents WHERE id = ?').get(id) as Row | undefined;
    return row ? toDocument(row) : undefined;
  }

  async *dump(): AsyncIterable<IndexDocument> {
    for (const row of this.#db.prepare('SELECT * FROM documents ORDER BY source').iterate() as Iterable<Row>) yield toDocument(row);
  }

  async close(): Promise<void> {
    if (this.#owns && this.#db.isOpen) this.#db.close();
  }
}

function badCursor(): QueryError {
  return new QueryError('cursor', 'does not fit this sort order');
}

/** A row of the documents table as the document it stores. */
export function toDocument(r: Row): IndexDocument {
  const opt = (v: string | number | null) => (v === null ? undefined : String(v));
  const doc: IndexDocument = {
    id: String(r.id), source: String(r.source), bucket: String(r.bucket), key: String(r.key), name: String(r.name),
    contentType: String(r.content_type), size: Number(r.size), status: String(r.status) as DocStatus, text: String(r.text),
    truncated: Number(r.truncated) === 1, pages: Number(r.pages), ocrPages: Number(r.ocr_pages), indexedAt: String(r.indexed_at),
  };
  const extra: Array<[keyof IndexDocument, string | number | null | undefined]> = [
    ['etag', r.etag], ['versionId', r.version_id], ['sequencer', r.sequencer], ['lastModified', r.last_modified], ['error', r.error], ['thumbnail', r.thumbnail],
    ['sha256', r.sha256],
  ];
  for (const [k, v] of extra) if (v !== null && v !== undefined) (doc as Record<string, unknown>)[k] = opt(v);
  if (r.extractor_version !== null && r.extractor_version !== undefined) doc.extractorVersion = Number(r.extractor_version);
  // Metadata columns: lists are JSON arrays, dates ISO 8601 text.
  for (const field of METADATA_FIELD_NAMES) {
    const v = r[columnOf(field)];
    if (v === null || v === undefined) continue;
    const kind = METADATA_FIELDS[field];
    (doc as Record<string, unknown>)[field] = kind === 'list' ? JSON.parse(String(v)) : kind === 'integer' ? Number(v) : String(v);
  }
  return doc;
}
