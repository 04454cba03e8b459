// One query model for both indexes: what a person asks (free text, filters, sort, a page), parsed and
// validated once — from the URL of the HTTP API or from the CLI's flags — and answered by either
// backend (sqlite-search.ts, opensearch-search.ts) with the same SearchPage shape.
import { createHash } from 'node:crypto';
import { QueryError } from '../errors.ts';
import { DOC_STATUSES, type DocStatus, type IndexDocument } from '../types.ts';

export type SortOrder = 'relevance' | 'date';

/** One free-text term: a word, or a "quoted phrase" matched as written. */
export type QueryTerm = { value: string; phrase: boolean };

/**
 * Keyword filters: every listed field must equal one of its values (none listed = no filter).
 * Adding a filterable field (e.g. `language`) is one entry here and one column/field name in each
 * backend's KEYWORD_FIELDS.
 */
export const KEYWORD_FILTERS = ['status', 'contentType', 'language'] as const;
export type KeywordFilter = (typeof KEYWORD_FILTERS)[number];

export type SearchQuery = {
  /** Free text as typed (trimmed); '' lists everything. */
  text: string;
  terms: QueryTerm[];
  keyword: Record<KeywordFilter, string[]>;
  /** Prefix of the document's source (s3://bucket/folder/ or /local/folder/). */
  folder?: string;
  /** ISO 8601 instants, inclusive, compared with the document's lastModified. */
  modifiedFrom?: string;
  modifiedTo?: string;
  sort: SortOrder;
  limit: number;
  /** Opaque position from a previous page's nextCursor. */
  cursor?: string;
};

export type SearchHit = {
  id: string;
  source: string;
  name: string;
  /** source without the name: where the document lives. */
  folder: string;
  contentType: string;
  status: DocStatus;
  error?: string;
  size: number;
  lastModified?: string;
  /** ISO 639-1 code of the main language, when known. */
  language?: string;
  /** Has the index a thumbnail for it (served at /thumbnails/:id)? */
  thumbnail: boolean;
  /** Markup-safe HTML: the text is escaped; the only elements are <mark>…</mark> around matches. */
  snippet: string;
  /** Backend relevance; higher is better; 0 when sorted by date. Not comparable across backends. */
  score: number;
};

export type Facets = Record<KeywordFilter, Record<string, number>>;

export type SearchPage = {
  hits: SearchHit[];
  /** Documents matching the query and every filter. */
  total: number;
  /** Counts per value over the query and the other filters (a facet's own filter is left out, so its other values stay choosable). */
  facets: Facets;
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
};

/** What the CLI and the HTTP server read from an index. Read-only. */
export interface SearchBackend {
  readonly kind: string;
  search(q: SearchQuery): Promise<SearchPage>;
  get(id: string): Promise<IndexDocument | undefined>;
  /** Every document, in id order. */
  dump(): AsyncIterable<IndexDocument>;
  close(): Promise<void>;
}

export const QUERY_LIMITS = {
  /** Characters of free text. */
  maxTextChars: 256,
  maxTerms: 16,
  defaultPageSize: 20,
  maxPageSize: 100,
  maxFilterValues: 20,
  maxFolderChars: 1024,
  maxCursorChars: 2048,
} as const;

/** Splits free text into words and "quoted phrases"; whitespace includes the ideographic space. */
export function parseTerms(text: string): QueryTerm[] {
  const terms: QueryTerm[] = [];
  const re = /"([^"]*)"?|([^\s\u3000"]+)/gu;
  for (const m of text.matchAll(re)) {
    if (m[1] !== undefined) {
      const value = m[1].replace(/[\s\u3000]+/gu, ' ').trim();
      if (value) terms.push({ value, phrase: /\s/u.test(value) });
    } else if (m[2]) {
      terms.push({ value: m[2], phrase: false });
    }
  }
  return terms;
}

/** Length in characters (code points), as the trigram rule counts them. */
export function charLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export type QueryInput = {
  q?: string;
  status?: string[];
  type?: string[];
  /** ISO 639-1 codes of the documents' main language. */
  lang?: string[];
  folder?: string;
  from?: string;
  to?: string;
  sort?: string;
  limit?: string | number;
  cursor?: string;
};

/** Reads the API's query string: repeated or comma-separated filter values both work. */
export function queryInputFromUrl(params: URLSearchParams): QueryInput {
  const list = (name: string) => params.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  const one = (name: string) => params.get(name) ?? undefined;
  return { q: one('q'), status: list('status'), type: list('type'), lang: list('lang'), folder: one('folder'), from: one('from'), to: one('to'), sort: one('sort'), limit: one('limit'), cursor: one('cursor') };
}

/** Validates input into a SearchQuery; every problem is a QueryError naming the parameter and value. */
export function buildQuery(input: QueryInput, limits: { maxPageSize: number } = QUERY_LIMITS): SearchQuery {
  const text = (input.q ?? '').trim();
  if (charLength(text) > QUERY_LIMITS.maxTextChars) throw new QueryError('q', `is longer than ${QUERY_LIMITS.maxTextChars} characters`);
  const terms = parseTerms(text);
  if (terms.length > QUERY_LIMITS.maxTerms) throw new QueryError('q', `has ${terms.length} terms; at most ${QUERY_LIMITS.maxTerms}`);

  const status = checkValues('status', input.status ?? []);
  for (const s of status) {
    if (!(DOC_STATUSES as readonly string[]).includes(s)) throw new QueryError('status', `must be one of ${DOC_STATUSES.join(', ')}, got ${JSON.stringify(s)}`);
  }
  const contentType = checkValues('type', input.type ?? []);
  for (const t of contentType) {
    if (!/^[\w.+-]+\/[\w.+-]+$/.test(t)) throw new QueryError('type', `must be a media type such as application/pdf, got ${JSON.stringify(t)}`);
  }

  const language = checkValues('lang', input.lang ?? []);
  for (const l of language) {
    if (!/^[a-z]{2,3}$/.test(l)) throw new QueryError('lang', `must be a language code such as ja or en, got ${JSON.stringify(l)}`);
  }
  const folder = input.folder?.trim() || undefined;
  if (folder && charLength(folder) > QUERY_LIMITS.maxFolderChars) throw new QueryError('folder', `is longer than ${QUERY_LIMITS.maxFolderChars} characters`);
  const modifiedFrom = input.from ? parseInstant('from', input.from, 'start') : undefined;
  const modifiedTo = input.to ? parseInstant('to', input.to, 'end') : undefined;
  if (modifiedFrom && modifiedTo && modifiedFrom > modifiedTo) throw new QueryError('to', `is before from (${input.from}), got ${JSON.stringify(input.to)}`);

  const sortRaw = input.sort || (text ? 'relevance' : 'date');
  if (sortRaw !== 'relevance' && sortRaw !== 'date') throw new QueryError('sort', `must be relevance or date, got ${JSON.stringify(sortRaw)}`);
  // Without text there is nothing to rank by.
  const sort: SortOrder = terms.length === 0 ? 'date' : sortRaw;

  let limit: number = QUERY_LIMITS.defaultPageSize;
  if (input.limit !== undefined && input.limit !== '') {
    limit = Number(input.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > limits.maxPageSize) {
      throw new QueryError('limit', `must be an integer 1..${limits.maxPageSize}, got ${JSON.stringify(input.limit)}`);
    }
  }
  const cursor = input.cursor || undefined;
  if (cursor && cursor.length > QUERY_LIMITS.maxCursorChars) throw new QueryError('cursor', 'is too long');
  const q: SearchQuery = { text, terms, keyword: { status, contentType, language }, sort, limit };
  if (folder) q.folder = folder;
  if (modifiedFrom) q.modifiedFrom = modifiedFrom;
  if (modifiedTo) q.modifiedTo = modifiedTo;
  if (cursor) q.cursor = cursor;
  return q;
}

function checkValues(name: string, values: string[]): string[] {
  if (values.length > QUERY_LIMITS.maxFilterValues) throw new QueryError(name, `has ${values.length} values; at most ${QUERY_LIMITS.maxFilterValues}`);
  return [...new Set(values)];
}

/** YYYY-MM-DD (a whole day: from its start, to its end, UTC) or a full ISO 8601 instant. */
function parseInstant(name: string, raw: string, edge: 'start' | 'end'): string {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  if (day) {
    const t = Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]));
    const d = new Date(t);
    if (d.getUTCMonth() !== Number(day[2]) - 1) throw new QueryError(name, `is not a date, got ${JSON.stringify(raw)}`);
    return new Date(edge === 'start' ? t : t + 86_400_000 - 1).toISOString();
  }
  if (/^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(raw) && !Number.isNaN(Date.parse(raw))) return new Date(raw).toISOString();
  throw new QueryError(name, `must be a date (2026-01-31) or an ISO 8601 time, got ${JSON.stringify(raw)}`);
}

// Cursors: the sort values of the last hit of a page, with a fingerprint of the query they belong to,
// so a cursor pasted into a different search is refused instead of silently skipping results.

function fingerprint(q: SearchQuery, backend: string): string {
  const { cursor: _c, limit: _l, ...rest } = q;
  return createHash('sha256').update(backend).update(JSON.stringify(rest)).digest('base64url').slice(0, 12);
}

export function encodeCursor(q: SearchQuery, backend: string, after: unknown[]): string {
  return Buffer.from(JSON.stringify({ f: fingerprint(q, backend), a: after })).toString('base64url');
}

/** The sort values to continue after, or undefined for the first page. */
export function decodeCursor(q: SearchQuery, backend: string): unknown[] | undefined {
  if (!q.cursor) return undefined;
  let parsed: { f?: unknown; a?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(q.cursor, 'base64url').toString('utf8')) as { f?: unknown; a?: unknown };
  } catch {
    throw new QueryError('cursor', 'is not a cursor from this server');
  }
  if (!parsed || !Array.isArray(parsed.a)) throw new QueryError('cursor', 'is not a cursor from this server');
  if (parsed.f !== fingerprint(q, backend)) throw new QueryError('cursor', 'belongs to a different search; start again without it');
  return parsed.a;
}

/** The folder part of a source: everything up to and including the last separator. */
export function folderOf(source: string, name: string): string {
  return source.endsWith(name) ? source.slice(0, source.length - name.length) : source;
}

export function emptyFacets(): Facets {
  return { status: {}, contentType: {}, language: {} };
}
