// The query model over the OpenSearch index, through the mapping's ja_en analyzer (CJK bigrams, see
// indexDefinition). Each term is a phrase query over name, text and key, so a Japanese word must
// appear as written, as in SQLite. A lone CJK character has no bigram of its own in the index: it is
// a wildcard over the bigrams that contain it. Keyword filters go in post_filter so each facet can
// be counted without its own filter; pages continue with search_after on [score,] date and id.
import type { Client } from '@opensearch-project/opensearch';
import type { IndexAuth } from '../config.ts';
import { createOpenSearchClient } from './opensearch-client.ts';
import { QueryError, RetryableError, errorMessage } from '../errors.ts';
import type { IndexDocument } from '../types.ts';
import {
  KEYWORD_FILTERS, charLength, decodeCursor, emptyFacets, encodeCursor, folderOf,
  type KeywordFilter, type QueryTerm, type SearchBackend, type SearchHit, type SearchPage, type SearchQuery,
} from '../search/query.ts';
import { MARK_END, MARK_START, escapeHtml, highlightMarked } from '../search/snippet.ts';

/** Field of each keyword filter. */
const KEYWORD_FIELDS: Record<KeywordFilter, string> = { status: 'status', contentType: 'contentType', language: 'language' };

const TEXT_FIELDS = ['name^4', 'text', 'key.text'];

type Json = Record<string, unknown>;

/** One ideographic, hiragana or katakana character. */
const LONE_CJK = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]$/u;

export function termClause(t: QueryTerm): Json {
  if (charLength(t.value) === 1 && LONE_CJK.test(t.value)) {
    const value = `*${t.value}*`;
    return { bool: { should: ['name', 'text', 'key.text'].map((field) => ({ wildcard: { [field]: { value } } })), minimum_should_match: 1 } };
  }
  return { multi_match: { query: t.value, type: 'phrase', fields: TEXT_FIELDS } };
}

function keywordFilter(field: KeywordFilter, values: string[]): Json | undefined {
  return values.length ? { terms: { [KEYWORD_FIELDS[field]]: values } } : undefined;
}

function allOf(clauses: Array<Json | undefined>): Json {
  const c = clauses.filter((x): x is Json => x !== undefined);
  return c.length ? { bool: { filter: c } } : { match_all: {} };
}

/** The _search body for a query: exported so tests can see what is sent. */
export function searchBody(q: SearchQuery, after: unknown[] | undefined): Json {
  const filter: Json[] = [];
  if (q.folder) filter.push({ prefix: { source: q.folder } });
  if (q.modifiedFrom || q.modifiedTo) {
    filter.push({ range: { lastModified: { ...(q.modifiedFrom ? { gte: q.modifiedFrom } : {}), ...(q.modifiedTo ? { lte: q.modifiedTo } : {}) } } });
  }
  const own = Object.fromEntries(KEYWORD_FILTERS.map((f) => [f, keywordFilter(f, q.keyword[f])])) as Record<KeywordFilter, Json | undefined>;
  const byDate = { lastModified: { order: 'desc', missing: '_last' } };
  const body: Json = {
    size: q.limit + 1,
    track_total_hits: true,
    _source: { excludes: ['text'] },
    query: { bool: { must: q.terms.length ? q.terms.map(termClause) : [{ match_all: {} }], filter } },
    post_filter: allOf(KEYWORD_FILTERS.map((f) => own[f])),
    aggs: Object.fromEntries(KEYWORD_FILTERS.map((f) => [f, {
      filter: allOf(KEYWORD_FILTERS.filter((g) => g !== f).map((g) => own[g])),
      aggs: { values: { terms: { field: KEYWORD_FIELDS[f], size: 50 } } },
    }])),
    sort: q.sort === 'relevance' ? [{ _score: 'desc' }, byDate, { id: 'asc' }] : [byDate, { id: 'asc' }],
  };
  // With no terms nothing matches in the text, and no_match_size still gives its beginning.
  body.highlight = {
    pre_tags: [MARK_START], post_tags: [MARK_END], require_field_match: false,
    fields: { text: { fragment_size: 160, number_of_fragments: 1, no_match_size: 160 } },
  };
  if (after) body.search_after = after;
  return body;
}

type Hit = { _id: string; _score: number | null; _source: Json; sort?: unknown[]; highlight?: Record<string, string[]> };

export type OpenSearchSearchOptions = {
  node?: string;
  index: string;
  /** How requests authenticate (config.index.auth: none, basic or SigV4). */
  auth?: IndexAuth;
  client?: Client;
  /** Deadline of one request, ms (config.serve.indexTimeoutMs). */
  requestTimeoutMs: number;
};

export class OpenSearchSearch implements SearchBackend {
  readonly kind = 'opensearch';
  readonly #client: Client;
  readonly #index: string;
  readonly #owns: boolean;
  readonly #timeout: number;

  constructor(o: OpenSearchSearchOptions) {
    this.#index = o.index;
    this.#owns = !o.client;
    this.#timeout = o.requestTimeoutMs;
    this.#client = o.client ?? createOpenSearchClient(o.node!, o.auth ?? { kind: 'none' }, { requestTimeoutMs: this.#timeout, maxRetries: 1 });
  }

  async #request<T>(what: string, call: () => Promise<{ body: unknown }>): Promise<T> {
    try {
      return (await call()).body as T;
    } catch (err) {
      const status = (err as { meta?: { statusCode?: number } })?.meta?.statusCode;
      // A query OpenSearch cannot parse is still the caller's query (e.g. too many wildcard expansions).
      if (status === 400) throw new QueryError('q', `OpenSearch refused the query: ${errorMessage(err)}`);
      throw new RetryableError(`OpenSearch ${what} on ${this.#index}: ${errorMessage(err)}`, { cause: err });
    }
  }

  async search(q: SearchQuery): Promise<SearchPage> {
    const after = decodeCursor(q, this.kind);
    const body = searchBody(q, after);
    const res = await this.#request<{ hits: { total: { value: number }; hits: Hit[] }; aggregations?: Record<string, { values: { buckets: Array<{ key: string; doc_count: number }> } }> }>(
      'search', () => this.#client.search({ index: this.#index, body: body as never }, { requestTimeout: this.#timeout }),
    );
    const facets = emptyFacets();
    for (const f of KEYWORD_FILTERS) for (const b of res.aggregations?.[f]?.values.buckets ?? []) facets[f][b.key] = b.doc_count;
    const rows = res.hits.hits;
    const more = rows.length > q.limit;
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      hits: page.map((h) => toHit(h, q)),
      total: res.hits.total.value,
      facets,
      nextCursor: more && last?.sort ? encodeCursor(q, this.kind, last.sort) : null,
    };
  }

  async get(id: string): Promise<IndexDocument | undefined> {
    try {
      const res = await this.#client.get({ index: this.#index, id }, { requestTimeout: this.#timeout });
      return (res.body as { _source: IndexDocument })._source;
    } catch (err) {
      if ((err as { meta?: { statusCode?: number } })?.meta?.statusCode === 404) return undefined;
      throw new RetryableError(`OpenSearch get ${id} on ${this.#index}: ${errorMessage(err)}`, { cause: err });
    }
  }

  async *dump(): AsyncIterable<IndexDocument> {
    let after: unknown[] | undefined;
    for (;;) {
      const body: Json = { size: 500, query: { match_all: {} }, sort: [{ id: 'asc' }], ...(after ? { search_after: after } : {}) };
      const res = await this.#request<{ hits: { hits: Hit[] } }>('dump', () => this.#client.search({ index: this.#index, body: body as never }, { requestTimeout: this.#timeout }));
      for (const h of res.hits.hits) yield h._source as IndexDocument;
      if (res.hits.hits.length < 500) return;
      after = res.hits.hits[res.hits.hits.length - 1]!.sort;
    }
  }

  async close(): Promise<void> {
    if (this.#owns) await this.#client.close();
  }
}

function toHit(h: Hit, q: SearchQuery): SearchHit {
  const s = h._source;
  const name = String(s.name ?? '');
  const source = String(s.source ?? '');
  const fragment = h.highlight?.text?.[0];
  const hit: SearchHit = {
    id: h._id, source, name, folder: folderOf(source, name), contentType: String(s.contentType ?? ''), status: String(s.status ?? 'ok') as SearchHit['status'],
    size: Number(s.size ?? 0), thumbnail: typeof s.thumbnail === 'string' && s.thumbnail !== '',
    snippet: fragment !== undefined ? highlightMarked(fragment, false, false) : escapeHtml(''),
    score: q.sort === 'relevance' ? Number(h._score ?? 0) : 0,
  };
  if (typeof s.error === 'string') hit.error = s.error;
  if (typeof s.lastModified === 'string') hit.lastModified = s.lastModified;
  if (typeof s.language === 'string') hit.language = s.language;
  return hit;
}
