// A stand-in for one OpenSearch node, on 127.0.0.1, speaking the parts of the REST protocol the
// worker uses, the way OpenSearch 2.x/3.x answers them: index HEAD/PUT/DELETE, _bulk (NDJSON, per-item
// results, internal / external / external_gte versions with 409 version_conflict_engine_exception,
// delete tombstones), _doc GET, _search with the query DSL subset the worker sends (bool, phrase
// multi_match, wildcard, terms, prefix, range; post_filter, filter/terms aggs, sort with search_after,
// highlight), _refresh and the GET / banner. Tests program
// faults: the next n requests answering 429/503/413/…, hanging (timeouts) or resetting the
// connection, single items answering 429 / 400 mapper_parsing_exception / 500, and a body size limit.
// Aliases (create-with-alias, _aliases add/remove with is_write_index and a match_none filter, writes
// resolved to the write index, reads to the unfiltered indices), _reindex as a task that copies a
// snapshot in small steps (so writes interleave, as on a real cluster) with internal or external
// versions, and _tasks. With `sigv4` set, every request must carry a valid AWS SigV4 signature,
// checked by recomputing it with the AWS SDK's signer (helpers/sigv4-verify.ts).
// Only node:http (and @smithy/signature-v4 for the signature check).
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { sigv4Problem, type SigV4Expectation } from './sigv4-verify.ts';

export type StoredDoc = { source: Record<string, unknown>; version: bigint; seqNo: number };

export type IndexMeta = { uuid: string; settings: Record<string, unknown>; mappings: Record<string, unknown> | undefined };

export type RecordedRequest = {
  method: string;
  path: string;
  query: string;
  contentType: string | undefined;
  bodyBytes: number;
  /** Status answered; undefined when the request hung or its connection was reset. */
  status?: number;
  /** For _bulk: each action and its _id, in order. */
  bulk?: Array<{ action: string; id?: string; version?: string; versionType?: string }>;
};

/** A whole-request fault: an HTTP status (with OpenSearch's error body), no answer at all, or a reset. */
export type RequestFault = { status: number; type?: string; reason?: string } | 'hang' | 'reset';

export type ItemFaultKind = 'rejected' | 'mapper_parsing' | 'internal';

type QueuedFault = { remaining: number; fault: RequestFault; match: (req: { method: string; path: string }) => boolean };

export class FaultControls {
  /** Bodies larger than this are answered 413, as http.max_content_length does. */
  maxBodyBytes = Infinity;
  readonly #queue: QueuedFault[] = [];
  readonly #items = new Map<string, { kind: ItemFaultKind; remaining: number }>();

  /**
   * The next `times` requests that `match` (default: any _bulk request) answer with `fault`.
   * Faults queued earlier are used up first.
   */
  next(times: number, fault: RequestFault, match: (req: { method: string; path: string }) => boolean = isBulkPath): void {
    this.#queue.push({ remaining: times, fault, match });
  }

  /** The item with this _id answers `kind` (in any bulk request) the next `times` times it appears. */
  item(id: string, kind: ItemFaultKind, times = 1): void {
    this.#items.set(id, { kind, remaining: times });
  }

  clear(): void {
    this.#queue.length = 0;
    this.#items.clear();
    this.maxBodyBytes = Infinity;
  }

  /** Requests faults still queued (not yet used). */
  get queued(): number {
    return this.#queue.reduce((n, f) => n + f.remaining, 0);
  }

  takeRequestFault(req: { method: string; path: string }): RequestFault | undefined {
    const f = this.#queue.find((q) => q.remaining > 0 && q.match(req));
    if (!f) return undefined;
    f.remaining--;
    if (f.remaining === 0) this.#queue.splice(this.#queue.indexOf(f), 1);
    return f.fault;
  }

  takeItemFault(id: string | undefined): ItemFaultKind | undefined {
    if (id === undefined) return undefined;
    const f = this.#items.get(id);
    if (!f) return undefined;
    if (--f.remaining <= 0) this.#items.delete(id);
    return f.kind;
  }
}

function isBulkPath(req: { path: string }): boolean {
  return /(^|\/)_bulk$/.test(req.path);
}

/** One index behind an alias. A match_none filter hides it from reads (writes still resolve to it). */
export type AliasEntry = { isWriteIndex?: boolean; filter?: Record<string, unknown> };

export type ReindexTask = { id: string; completed: boolean; total: number; created: number; updated: number; versionConflicts: number };

export type OpenSearchDouble = {
  url: string;
  port: number;
  /** alias -> index -> how the index is attached. */
  aliases: Map<string, Map<string, AliasEntry>>;
  tasks: Map<string, ReindexTask>;
  /** Requests refused for a missing or bad SigV4 signature (with `sigv4` set). */
  signatureFailures: Array<{ path: string; problem: string }>;
  /** The index a name resolves to for a write (an index, or an alias's write index). */
  writeIndexOf(name: string): string | undefined;
  /** Live documents readable through a name (an index, or an alias's unfiltered indices). */
  readDocs(name: string): Map<string, StoredDoc>;
  /** The credentials AWS accepts from now on (a rotation). */
  setSigV4Credentials(credentials: SigV4Expectation['credentials']): void;
  /** indexName -> _id -> live document (deleted ones are gone; their tombstones are in `tombstones`). */
  docs: Map<string, Map<string, StoredDoc>>;
  /** indexName -> _id -> version of the delete (OpenSearch keeps these for index.gc_deletes). */
  tombstones: Map<string, Map<string, bigint>>;
  indices: Map<string, IndexMeta>;
  requests: RecordedRequest[];
  faults: FaultControls;
  /** Requests answered `hang` that are still open. */
  readonly hanging: number;
  stop(): Promise<void>;
};

export type OpenSearchDoubleOptions = {
  port?: number;
  maxBodyBytes?: number;
  version?: string;
  /** Require SigV4 signatures for these credentials, region and service. */
  sigv4?: SigV4Expectation;
  /** _reindex copies this many documents per step, one step every reindexStepMs. */
  reindexBatch?: number;
  reindexStepMs?: number;
};

type Json = Record<string, unknown>;

/** OpenSearch error body: { error: { root_cause, type, reason, … }, status }. */
function errorBody(status: number, type: string, reason: string, extra: Json = {}): Json {
  const cause = { type, reason, ...extra };
  return { error: { root_cause: [cause], ...cause }, status };
}

// JSON.rawJSON (Node 21+) is not in TypeScript's es2024 lib yet.
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** JSON with bigint written as its digits (versions can be 63-bit). */
function stringify(body: unknown): string {
  return JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? rawJSON(v.toString()) : v));
}

/** JSON.parse that keeps integer `version`s exact. */
function parseJson(text: string): unknown {
  return JSON.parse(text, (key, value, context?: { source?: string }) =>
    key === 'version' && typeof value === 'number' && context?.source && /^\d+$/.test(context.source) ? BigInt(context.source) : value,
  );
}

const WORD = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+|[\p{L}\p{N}]+/gu;
const CJK = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;

/** Lowercased words; runs of CJK characters become overlapping bigrams (like cjk_bigram). */
function tokens(text: string): string[] {
  const out: string[] = [];
  for (const m of text.normalize('NFKC').toLowerCase().matchAll(WORD)) {
    const w = [...m[0]];
    if (CJK.test(m[0]) && w.length > 1) for (let i = 0; i + 1 < w.length; i++) out.push(w[i]! + w[i + 1]!);
    else out.push(m[0]);
  }
  return out;
}

const ID_LIMIT = 512;

class QueryParseError extends Error {}

type Mappings = Record<string, unknown> | undefined;

/** The value a field path reads: "key.text" and "name.keyword" are sub-fields of key and name. */
function fieldValue(src: Json, field: string): unknown {
  const plain = field.replace(/\^.*$/, '');
  if (plain in src) return src[plain];
  return src[plain.split('.')[0]!];
}

/** Is the field analyzed text (per the explicit mapping)? Unknown fields count as keywords. */
function isText(field: string, mappings: Mappings): boolean {
  const props = (mappings?.properties ?? {}) as Record<string, { type?: string; fields?: Record<string, { type?: string }> }>;
  const [base, sub] = field.replace(/\^.*$/, '').split('.');
  const p = props[base!];
  return (sub ? p?.fields?.[sub]?.type : p?.type) === 'text';
}

function boostOf(field: string): number {
  const m = /\^([\d.]+)$/.exec(field);
  return m ? Number(m[1]) : 1;
}

/** Occurrences of the token sequence `want` in `have`, contiguous. */
function phraseCount(have: string[], want: string[]): number {
  if (want.length === 0) return 0;
  let n = 0;
  for (let i = 0; i + want.length <= have.length; i++) if (want.every((w, k) => have[i + k] === w)) n++;
  return n;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'u');
}

function asTime(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/** Score of a document for a query (0 = no match). The subset of the query DSL the worker sends. */
function evaluate(q: Json, src: Json, id: string, mappings: Mappings): number {
  const [kind] = Object.keys(q);
  const spec = q[kind!] as Json;
  const tokensOf = (field: string) => (isText(field, mappings) ? tokens(String(fieldValue(src, field) ?? '')) : [String(fieldValue(src, field) ?? '')]);
  switch (kind) {
    case 'match_all':
      return 1;
    case 'bool': {
      const list = (v: unknown) => (v === undefined ? [] : Array.isArray(v) ? (v as Json[]) : [v as Json]);
      let score = 0;
      for (const c of list(spec.must)) {
        const s = evaluate(c, src, id, mappings);
        if (s <= 0) return 0;
        score += s;
      }
      for (const c of list(spec.filter)) if (evaluate(c, src, id, mappings) <= 0) return 0;
      for (const c of list(spec.must_not)) if (evaluate(c, src, id, mappings) > 0) return 0;
      const should = list(spec.should).map((c) => evaluate(c, src, id, mappings));
      const needed = Number(spec.minimum_should_match ?? (list(spec.must).length || list(spec.filter).length ? 0 : should.length ? 1 : 0));
      if (should.filter((s) => s > 0).length < needed) return 0;
      score += should.reduce((a, b) => a + b, 0);
      return score > 0 ? score : list(spec.must).length === 0 ? 1 : 0;
    }
    case 'match':
    case 'match_phrase': {
      const [field] = Object.keys(spec);
      const v = spec[field!];
      const text = typeof v === 'object' && v !== null ? String((v as Json).query) : String(v);
      const want = tokens(text);
      const have = tokensOf(field!);
      if (kind === 'match_phrase') return phraseCount(have, want);
      const and = typeof v === 'object' && v !== null && String((v as Json).operator).toLowerCase() === 'and';
      const hits = [...new Set(want)].filter((t) => have.includes(t)).length;
      return and && hits < new Set(want).size ? 0 : hits;
    }
    case 'multi_match': {
      const fields = (spec.fields as string[] | undefined) ?? ['text'];
      const want = tokens(String(spec.query));
      let best = 0;
      for (const f of fields) {
        const have = tokensOf(f);
        let s: number;
        if (spec.type === 'phrase') s = phraseCount(have, want);
        else {
          const hits = [...new Set(want)].filter((t) => have.includes(t)).length;
          s = String(spec.operator).toLowerCase() === 'and' && hits < new Set(want).size ? 0 : hits;
        }
        best = Math.max(best, s * boostOf(f));
      }
      return best;
    }
    case 'term':
    case 'terms': {
      const [field] = Object.keys(spec).filter((k) => k !== 'boost');
      const v = spec[field!];
      const wanted = kind === 'terms' ? (v as unknown[]) : [typeof v === 'object' && v !== null ? (v as Json).value : v];
      const have = tokensOf(field!);
      return wanted.some((w) => have.includes(String(w))) ? 1 : 0;
    }
    case 'prefix': {
      const [field] = Object.keys(spec);
      const v = spec[field!];
      const want = String(typeof v === 'object' && v !== null ? (v as Json).value : v);
      return tokensOf(field!).some((t) => t.startsWith(want)) ? 1 : 0;
    }
    case 'wildcard': {
      const [field] = Object.keys(spec);
      const v = spec[field!];
      const re = globToRegExp(String(typeof v === 'object' && v !== null ? (v as Json).value : v));
      return tokensOf(field!).some((t) => re.test(t)) ? 1 : 0;
    }
    case 'range': {
      const [field] = Object.keys(spec);
      const r = spec[field!] as Json;
      const t = asTime(fieldValue(src, field!));
      if (t === undefined) return 0;
      if (r.gte !== undefined && !(t >= asTime(r.gte)!)) return 0;
      if (r.gt !== undefined && !(t > asTime(r.gt)!)) return 0;
      if (r.lte !== undefined && !(t <= asTime(r.lte)!)) return 0;
      if (r.lt !== undefined && !(t < asTime(r.lt)!)) return 0;
      return 1;
    }
    case 'ids':
      return ((spec.values as string[]) ?? []).includes(id) ? 1 : 0;
    default:
      throw new QueryParseError(`unknown query [${kind}]`);
  }
}

type SortKey = { field: string; order: 'asc' | 'desc'; missing: '_last' | '_first' };

function normalizeSort(sort: unknown, mappings: Mappings): SortKey[] {
  if (sort === undefined) return [];
  const list = Array.isArray(sort) ? sort : [sort];
  return list.map((s) => {
    if (typeof s === 'string') return { field: s, order: s === '_score' ? 'desc' : 'asc', missing: '_last' };
    const [field] = Object.keys(s as Json);
    const v = (s as Json)[field!];
    const spec = typeof v === 'string' ? { order: v } : (v as Json);
    if (field !== '_score' && isText(field!, mappings)) throw new QueryParseError(`Text fields are not optimised for operations that require per-document field data like aggregations and sorting: [${field}]`);
    return { field: field!, order: (spec.order as 'asc' | 'desc') ?? (field === '_score' ? 'desc' : 'asc'), missing: (spec.missing as '_last' | '_first') ?? '_last' };
  });
}

const LONG_MIN = -9223372036854775808;
const LONG_MAX = 9223372036854775807;

/** The sort value OpenSearch reports: dates as epoch ms, a missing value as the extreme that puts it last. */
function sortValue(s: SortKey, h: { id: string; d: StoredDoc; score: number }, mappings: Mappings): unknown {
  if (s.field === '_score') return h.score;
  const props = (mappings?.properties ?? {}) as Record<string, { type?: string }>;
  const v = fieldValue(h.d.source, s.field);
  if (v === undefined || v === null) return (s.order === 'desc') === (s.missing === '_last') ? LONG_MIN : LONG_MAX;
  return props[s.field]?.type === 'date' ? asTime(v) : v;
}

function compareSort(spec: SortKey[], a: unknown[], b: unknown[]): number {
  for (let i = 0; i < spec.length; i++) {
    const x = a[i] as number | string;
    const y = b[i] as number | string;
    if (x === y) continue;
    const c = x < y ? -1 : 1;
    return spec[i]!.order === 'desc' ? -c : c;
  }
  return 0;
}

function runAggs(aggs: Json, hits: Array<{ id: string; d: StoredDoc; score: number }>, mappings: Mappings): Json {
  const out: Json = {};
  for (const [name, def] of Object.entries(aggs as Record<string, Json>)) {
    if (def.filter) {
      const inside = hits.filter((h) => evaluate(def.filter as Json, h.d.source, h.id, mappings) > 0);
      out[name] = { doc_count: inside.length, ...(def.aggs ? runAggs(def.aggs as Json, inside, mappings) : {}) };
    } else if (def.terms) {
      const t = def.terms as Json;
      const counts = new Map<string, number>();
      for (const h of hits) {
        const v = fieldValue(h.d.source, String(t.field));
        if (v !== undefined && v !== null) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
      }
      const buckets = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, Number(t.size ?? 10)).map(([key, doc_count]) => ({ key, doc_count }));
      out[name] = { doc_count_error_upper_bound: 0, sum_other_doc_count: 0, buckets };
    } else {
      throw new QueryParseError(`unknown aggregation in [${name}]`);
    }
  }
  return out;
}

/** Strings a query looks for in text: phrase/match queries' text, wildcards' fixed part. */
function highlightNeedles(q: Json): string[] {
  const [kind] = Object.keys(q);
  const spec = q[kind!] as Json;
  switch (kind) {
    case 'bool':
      return ['must', 'should', 'filter'].flatMap((k) => (spec[k] === undefined ? [] : (Array.isArray(spec[k]) ? (spec[k] as Json[]) : [spec[k] as Json])).flatMap(highlightNeedles));
    case 'multi_match':
      return [String(spec.query)];
    case 'match':
    case 'match_phrase': {
      const v = Object.values(spec)[0];
      return [typeof v === 'object' && v !== null ? String((v as Json).query) : String(v)];
    }
    case 'wildcard': {
      const v = Object.values(spec)[0];
      return [String(typeof v === 'object' && v !== null ? (v as Json).value : v).replace(/[*?]/g, '')];
    }
    default:
      return [];
  }
}

/** Fragments like the unified highlighter's: around the first match, each match wrapped in the tags. */
function highlightFields(h: Json, q: Json, src: Json): Record<string, string[]> {
  const pre = String((h.pre_tags as string[] | undefined)?.[0] ?? '<em>');
  const post = String((h.post_tags as string[] | undefined)?.[0] ?? '</em>');
  const needles = [...new Set(highlightNeedles(q).map((n) => n.trim()).filter(Boolean))].sort((a, b) => b.length - a.length);
  const out: Record<string, string[]> = {};
  for (const [field, f] of Object.entries((h.fields ?? {}) as Record<string, Json>)) {
    const text = String(src[field] ?? '');
    const size = Number(f.fragment_size ?? 100);
    const re = needles.length ? new RegExp(needles.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'giu') : undefined;
    const first = re ? text.search(re) : -1;
    if (first < 0) {
      const noMatch = Number(f.no_match_size ?? 0);
      if (noMatch > 0 && text) out[field] = [text.slice(0, noMatch)];
      continue;
    }
    const start = Math.max(0, first - Math.floor(size / 3));
    const fragment = text.slice(start, start + size);
    out[field] = [fragment.replace(re!, (m) => `${pre}${m}${post}`)];
  }
  return out;
}
const INDEX_NAME = /^[a-z0-9][a-z0-9._-]*$/;

export async function startOpenSearchDouble(opts: OpenSearchDoubleOptions = {}): Promise<OpenSearchDouble> {
  const docs = new Map<string, Map<string, StoredDoc>>();
  const tombstones = new Map<string, Map<string, bigint>>();
  const indices = new Map<string, IndexMeta>();
  const requests: RecordedRequest[] = [];
  const faults = new FaultControls();
  if (opts.maxBodyBytes !== undefined) faults.maxBodyBytes = opts.maxBodyBytes;
  const sockets = new Set<Socket>();
  const hung = new Set<http.ServerResponse>();
  const seqNos = new Map<string, number>();
  const versionNumber = opts.version ?? '3.0.0';
  const aliases = new Map<string, Map<string, AliasEntry>>();
  const tasks = new Map<string, ReindexTask>();
  const signatureFailures: Array<{ path: string; problem: string }> = [];
  let taskSeq = 0;

  const isMatchNone = (f: Record<string, unknown> | undefined) => f !== undefined && Object.keys(f).length === 1 && 'match_none' in f;

  function writeIndexOf(name: string): string | undefined {
    if (indices.has(name)) return name;
    const entries = aliases.get(name);
    if (!entries || entries.size === 0) return undefined;
    if (entries.size === 1) return [...entries.keys()][0];
    return [...entries].find(([, e]) => e.isWriteIndex)?.[0];
  }

  function readIndicesOf(name: string): string[] {
    if (indices.has(name)) return [name];
    return [...(aliases.get(name) ?? [])].filter(([, e]) => !isMatchNone(e.filter)).map(([i]) => i);
  }

  function readDocs(name: string): Map<string, StoredDoc> {
    const out = new Map<string, StoredDoc>();
    for (const i of readIndicesOf(name)) for (const [id, d] of docs.get(i) ?? []) out.set(id, d);
    return out;
  }

  function attachAlias(alias: string, index: string, spec: Json): void {
    if (!aliases.has(alias)) aliases.set(alias, new Map());
    const entry: AliasEntry = {};
    if (spec.is_write_index !== undefined) entry.isWriteIndex = spec.is_write_index === true;
    if (spec.filter !== undefined) entry.filter = spec.filter as Json;
    aliases.get(alias)!.set(index, entry);
  }

  function aliasesOf(index: string): Json {
    const out: Json = {};
    for (const [alias, entries] of aliases) {
      const e = entries.get(index);
      if (e) out[alias] = { ...(e.isWriteIndex !== undefined ? { is_write_index: e.isWriteIndex } : {}), ...(e.filter ? { filter: e.filter } : {}) };
    }
    return out;
  }

  function updateAliases(body: Json): [number, Json] {
    const actions = (body.actions as Json[] | undefined) ?? [];
    // Validated as a whole first: _aliases is atomic.
    for (const a of actions) {
      const [kind] = Object.keys(a);
      const spec = (a[kind!] ?? {}) as Json;
      if (!['add', 'remove'].includes(kind!)) return [400, errorBody(400, 'illegal_argument_exception', `unsupported alias action [${kind}]`)];
      if (!indices.has(String(spec.index))) return indexNotFound(String(spec.index));
      if (kind === 'add' && spec.filter !== undefined && !isMatchNone(spec.filter as Json)) return [400, errorBody(400, 'illegal_argument_exception', 'the double supports only match_none alias filters')];
      if (kind === 'remove' && !aliases.get(String(spec.alias))?.has(String(spec.index))) {
        return [404, errorBody(404, 'aliases_not_found_exception', `aliases [${spec.alias}] missing`)];
      }
    }
    for (const a of actions) {
      const [kind] = Object.keys(a);
      const spec = a[kind!] as Json;
      if (kind === 'add') attachAlias(String(spec.alias), String(spec.index), spec);
      else {
        aliases.get(String(spec.alias))!.delete(String(spec.index));
        if (aliases.get(String(spec.alias))!.size === 0) aliases.delete(String(spec.alias));
      }
    }
    return [200, { acknowledged: true }];
  }

  /** _reindex: a snapshot of the source, copied a few documents at a time. */
  function startReindex(body: Json, waitForCompletion: boolean): [number, Json] {
    const source = (body.source ?? {}) as Json;
    const dest = (body.dest ?? {}) as Json;
    const from = readIndicesOf(String(source.index));
    const to = writeIndexOf(String(dest.index));
    if (from.length === 0) return indexNotFound(String(source.index));
    if (!to) return indexNotFound(String(dest.index));
    const external = dest.version_type === 'external';
    const range = ((source.query as Json | undefined)?.range ?? undefined) as Record<string, { gte?: string }> | undefined;
    const [rangeField] = range ? Object.keys(range) : [];
    if (source.query !== undefined && !rangeField) return [400, errorBody(400, 'parsing_exception', 'the double supports only a range query in _reindex')];
    const gte = rangeField ? Date.parse(String(range![rangeField]!.gte)) : undefined;
    const snapshot = from.flatMap((i) => [...docs.get(i)!].map(([id, d]) => ({ id, d: { ...d, source: structuredClone(d.source) } })))
      .filter(({ d }) => gte === undefined || Date.parse(String(d.source[rangeField!])) >= gte);
    const task: ReindexTask = { id: `double:${++taskSeq}`, completed: false, total: snapshot.length, created: 0, updated: 0, versionConflicts: 0 };
    tasks.set(task.id, task);
    const copyOne = ({ id, d }: (typeof snapshot)[number]) => {
      const live = docs.get(to);
      const dead = tombstones.get(to);
      if (!live || !dead) return;
      const current = live.get(id);
      const currentVersion = current?.version ?? dead.get(id);
      if (external && currentVersion !== undefined && currentVersion >= d.version) {
        task.versionConflicts++;
        return;
      }
      live.set(id, { source: d.source, version: external ? d.version : (current?.version ?? 0n) + 1n, seqNo: nextSeqNo(to) });
      dead.delete(id);
      if (current) task.updated++;
      else task.created++;
    };
    const batch = opts.reindexBatch ?? 5;
    const step = () => {
      for (const item of snapshot.splice(0, batch)) copyOne(item);
      if (snapshot.length > 0) setTimeout(step, opts.reindexStepMs ?? 10);
      else task.completed = true;
    };
    if (waitForCompletion) {
      for (const item of snapshot.splice(0)) copyOne(item);
      task.completed = true;
      return [200, reindexResponse(task)];
    }
    setTimeout(step, opts.reindexStepMs ?? 10);
    return [200, { task: task.id }];
  }

  function reindexResponse(t: ReindexTask): Json {
    return { took: 1, timed_out: false, total: t.total, created: t.created, updated: t.updated, deleted: 0, batches: 1, version_conflicts: t.versionConflicts, noops: 0, failures: [] };
  }

  function createIndex(name: string, body: Json = {}): void {
    indices.set(name, { uuid: randomUUID().replace(/-/g, '').slice(0, 22), settings: (body.settings as Json) ?? {}, mappings: body.mappings as Json | undefined });
    docs.set(name, new Map());
    tombstones.set(name, new Map());
    seqNos.set(name, 0);
  }

  function indexNotFound(name: string): [number, Json] {
    return [404, errorBody(404, 'index_not_found_exception', `no such index [${name}]`, { 'resource.type': 'index_or_alias', 'resource.id': name, index: name })];
  }

  function nextSeqNo(index: string): number {
    const n = seqNos.get(index) ?? 0;
    seqNos.set(index, n + 1);
    return n;
  }

  /** Adds fields to a live index's mapping; a field may not change its type (as in OpenSearch). */
  function putMapping(index: string, body: Json): [number, Json] {
    // An alias applies the mapping to every index behind it.
    const names = indices.has(index) ? [index] : [...(aliases.get(index)?.keys() ?? [])];
    const add = (body.properties ?? {}) as Record<string, { type?: string }>;
    for (const name of names) {
      const have = (indices.get(name)!.mappings?.properties ?? {}) as Record<string, { type?: string }>;
      for (const [field, def] of Object.entries(add)) {
        const old = have[field];
        if (old && (old.type ?? 'object') !== (def.type ?? 'object')) {
          return [400, errorBody(400, 'illegal_argument_exception', `mapper [${field}] cannot be changed from type [${old.type ?? 'object'}] to [${def.type ?? 'object'}]`)];
        }
      }
    }
    for (const name of names) {
      const meta = indices.get(name)!;
      meta.mappings = { ...(meta.mappings ?? {}), properties: { ...((meta.mappings?.properties ?? {}) as Json), ...add } };
    }
    return [200, { acknowledged: true }];
  }

  /** Field type checks against explicit mappings, like OpenSearch's document parser. */
  function mappingError(index: string, id: string, source: Json): string | undefined {
    const props = (indices.get(index)?.mappings?.properties ?? {}) as Record<string, { type?: string }>;
    const dynamic = indices.get(index)?.mappings?.dynamic;
    for (const [field, value] of Object.entries(source)) {
      const type = props[field]?.type;
      if (!type) {
        if (dynamic === 'strict') return `mapping set to strict, dynamic introduction of [${field}] within [_doc] is not allowed`;
        continue;
      }
      if (value === null) continue;
      const bad =
        (['long', 'integer', 'short', 'byte', 'float', 'double'].includes(type) && !(typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))))) ||
        (type === 'date' && !(typeof value === 'number' || (typeof value === 'string' && !Number.isNaN(Date.parse(value))))) ||
        (type === 'boolean' && !(typeof value === 'boolean' || value === 'true' || value === 'false' || value === ''));
      if (bad) return `failed to parse field [${field}] of type [${type}] in document with id '${id}'. Preview of field's value: '${String(value).slice(0, 20)}'`;
    }
    return undefined;
  }

  type Action = { action: string; meta: Json; source?: Json };

  function bulk(pathIndex: string | undefined, text: string, query: URLSearchParams, rec: RecordedRequest): [number, Json] {
    if (text.length > 0 && !text.endsWith('\n')) {
      return [400, errorBody(400, 'illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]')];
    }
    const lines = text.split('\n');
    lines.pop();
    const actions: Action[] = [];
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.trim() === '') continue;
      let head: Json;
      try {
        head = parseJson(lines[i]!) as Json;
      } catch (e) {
        return [400, errorBody(400, 'json_parse_exception', `Unexpected character in action line ${i + 1}: ${(e as Error).message}`)];
      }
      const keys = Object.keys(head ?? {});
      const action = keys[0];
      if (keys.length !== 1 || !['index', 'create', 'delete', 'update'].includes(action!)) {
        return [400, errorBody(400, 'illegal_argument_exception', `Malformed action/metadata line [${i + 1}], expected one of [create, delete, index, update] but found [${keys.join(',')}]`)];
      }
      const meta = (head[action!] ?? {}) as Json;
      let source: Json | undefined;
      if (action !== 'delete') {
        const line = lines[++i];
        if (line === undefined) return [400, errorBody(400, 'illegal_argument_exception', `Validation Failed: 1: no requests added;`)];
        try {
          source = JSON.parse(line) as Json;
        } catch (e) {
          return [400, errorBody(400, 'mapper_parsing_exception', `failed to parse: ${(e as Error).message}`)];
        }
      }
      actions.push({ action: action!, meta, source });
    }
    rec.bulk = actions.map((a) => ({ action: a.action, id: a.meta._id as string | undefined, version: a.meta.version?.toString(), versionType: a.meta.version_type as string | undefined }));
    if (actions.length === 0) return [400, errorBody(400, 'action_request_validation_exception', 'Validation Failed: 1: no requests added;')];
    // Request-level validation, as BulkRequest.validate() does before anything is written.
    const problems: string[] = [];
    for (const a of actions) {
      const id = a.meta._id as string | undefined;
      const vt = (a.meta.version_type as string | undefined) ?? 'internal';
      if (!(a.meta._index ?? pathIndex)) problems.push('index is missing');
      if (id !== undefined && Buffer.byteLength(String(id)) > ID_LIMIT) problems.push(`id [${id}] is too long, must be no longer than ${ID_LIMIT} bytes but was: ${Buffer.byteLength(String(id))}`);
      if (!['internal', 'external', 'external_gt', 'external_gte'].includes(vt)) problems.push(`No version type match [${vt}]`);
      if (vt !== 'internal' && (typeof a.meta.version !== 'bigint' || a.meta.version < 0n)) problems.push(`illegal version value [${a.meta.version ?? -3}] for version type [${vt.toUpperCase()}]`);
      if (a.action === 'delete' && id === undefined) problems.push('id is missing');
    }
    if (problems.length > 0) {
      return [400, errorBody(400, 'action_request_validation_exception', `Validation Failed: ${problems.map((p, i) => `${i + 1}: ${p};`).join('')}`)];
    }
    const started = Date.now();
    const items = actions.map((a) => applyAction(a, pathIndex));
    const errors = items.some((it) => (Object.values(it)[0] as Json).error !== undefined);
    void query;
    return [200, { took: Date.now() - started, errors, items }];
  }

  function itemError(action: string, index: string, id: string | undefined, status: number, type: string, reason: string, extra: Json = {}): Json {
    const uuid = indices.get(index)?.uuid ?? '_na_';
    return { [action]: { _index: index, _id: id ?? null, status, error: { type, reason, index_uuid: uuid, shard: '0', index, ...extra } } };
  }

  function applyAction(a: Action, pathIndex: string | undefined): Json {
    const named = (a.meta._index as string | undefined) ?? pathIndex!;
    const index = writeIndexOf(named) ?? named;
    if (aliases.has(named) && !indices.has(named) && writeIndexOf(named) === undefined) {
      return itemError(a.action, named, a.meta._id as string | undefined, 400, 'illegal_argument_exception', `no write index is defined for alias [${named}]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index`);
    }
    const vt = (a.meta.version_type as string | undefined) ?? 'internal';
    const external = vt !== 'internal';
    const provided = a.meta.version as bigint | undefined;
    let id = a.meta._id as string | undefined;
    const injected = faults.takeItemFault(id);
    if (injected === 'rejected') {
      return itemError(a.action, index, id, 429, 'rejected_execution_exception', `rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=0, max_coordinating_and_primary_bytes=0]`);
    }
    if (injected === 'internal') {
      return itemError(a.action, index, id, 500, 'exception', 'injected internal failure');
    }
    if (!indices.has(index)) {
      if (a.action === 'delete') return itemError(a.action, index, id, 404, 'index_not_found_exception', `no such index [${index}]`, { 'resource.type': 'index_expression', 'resource.id': index });
      createIndex(index); // action.auto_create_index defaults to true
    }
    if (injected === 'mapper_parsing') {
      return itemError(a.action, index, id, 400, 'mapper_parsing_exception', `failed to parse field [size] of type [long] in document with id '${id}'. Preview of field's value: 'not a number'`, {
        caused_by: { type: 'illegal_argument_exception', reason: 'For input string: "not a number"' },
      });
    }
    const live = docs.get(index)!;
    const dead = tombstones.get(index)!;
    id ??= randomUUID().replace(/-/g, '').slice(0, 20);
    const current = live.get(id);
    const currentVersion = current?.version ?? dead.get(id); // undefined = NOT_FOUND
    const base = { _index: index, _id: id };
    const shards = { _shards: { total: 2, successful: 1, failed: 0 } };
    if (external && currentVersion !== undefined && provided !== undefined) {
      const conflict = vt === 'external_gte' ? currentVersion > provided : currentVersion >= provided;
      if (conflict) {
        const how = vt === 'external_gte' ? 'is higher than' : 'is higher or equal to';
        return itemError(a.action, index, id, 409, 'version_conflict_engine_exception', `[${id}]: version conflict, current version [${currentVersion}] ${how} the one provided [${provided}]`);
      }
    }
    const newVersion = external ? provided! : (currentVersion ?? 0n) + 1n;
    if (a.action === 'delete') {
      const seqNo = nextSeqNo(index);
      live.delete(id);
      dead.set(id, newVersion);
      return { delete: { ...base, _version: newVersion, result: current ? 'deleted' : 'not_found', ...shards, _seq_no: seqNo, _primary_term: 1, status: current ? 200 : 404 } };
    }
    if (a.action === 'create' && current) {
      return itemError(a.action, index, id, 409, 'version_conflict_engine_exception', `[${id}]: version conflict, document already exists (current version [${current.version}])`);
    }
    let source = a.source ?? {};
    if (a.action === 'update') {
      if (!current && source.doc_as_upsert !== true && source.upsert === undefined) {
        return itemError(a.action, index, id, 404, 'document_missing_exception', `[${id}]: document missing`);
      }
      source = current ? { ...current.source, ...((source.doc as Json) ?? {}) } : ((source.upsert as Json) ?? (source.doc as Json) ?? {});
    }
    const parseProblem = mappingError(index, id, source);
    if (parseProblem) return itemError(a.action, index, id, 400, 'mapper_parsing_exception', parseProblem);
    const seqNo = nextSeqNo(index);
    live.set(id, { source, version: newVersion, seqNo });
    dead.delete(id);
    return { [a.action]: { ...base, _version: newVersion, result: current ? 'updated' : 'created', ...shards, _seq_no: seqNo, _primary_term: 1, status: current ? 200 : 201 } };
  }

  function search(index: string, body: Json, query: URLSearchParams): [number, Json] {
    const size = Number((body.size as number | undefined) ?? query.get('size') ?? 10);
    const from = Number((body.from as number | undefined) ?? query.get('from') ?? 0);
    const q = (body.query as Json | undefined) ?? { match_all: {} };
    const mappings = indices.get(readIndicesOf(index)[0] ?? index)?.mappings;
    let scored: Array<{ id: string; d: StoredDoc; score: number }>;
    try {
      scored = [...readDocs(index).entries()]
        .map(([id, d]) => ({ id, d, score: evaluate(q, d.source, id, mappings) }))
        .filter((h) => h.score > 0);
    } catch (e) {
      if (e instanceof QueryParseError) return [400, errorBody(400, 'parsing_exception', e.message, { line: 1, col: 1 })];
      throw e;
    }
    const aggregations = body.aggs ?? body.aggregations ? runAggs((body.aggs ?? body.aggregations) as Json, scored, mappings) : undefined;
    if (body.post_filter) scored = scored.filter((h) => evaluate(body.post_filter as Json, h.d.source, h.id, mappings) > 0);
    const sortSpec = normalizeSort(body.sort, mappings);
    const withSort = scored.map((h) => ({ ...h, sort: sortSpec.map((s) => sortValue(s, h, mappings)) }));
    if (sortSpec.length) withSort.sort((a, b) => compareSort(sortSpec, a.sort, b.sort));
    else withSort.sort((a, b) => b.score - a.score);
    let list = withSort;
    if (Array.isArray(body.search_after)) {
      const after = body.search_after as unknown[];
      if (after.length !== sortSpec.length) return [400, errorBody(400, 'illegal_argument_exception', `search_after has ${after.length} value(s) but sort has ${sortSpec.length}`)];
      list = list.filter((h) => compareSort(sortSpec, h.sort, after) > 0);
    }
    const highlight = body.highlight as Json | undefined;
    const excludes = ((body._source as Json | undefined)?.excludes as string[] | undefined) ?? [];
    return [200, {
      took: 1,
      timed_out: false,
      _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
      hits: {
        total: { value: withSort.length, relation: 'eq' },
        max_score: withSort[0]?.score ?? null,
        hits: list.slice(from, from + size).map((h) => {
          const source = Object.fromEntries(Object.entries(h.d.source).filter(([k]) => !excludes.includes(k)));
          const hit: Json = { _index: index, _id: h.id, _score: h.score, _source: source };
          if (sortSpec.length) hit.sort = h.sort;
          if (highlight) {
            const hl = highlightFields(highlight, q, h.d.source);
            if (Object.keys(hl).length) hit.highlight = hl;
          }
          return hit;
        }),
      },
      ...(aggregations ? { aggregations } : {}),
    }];
  }

  function route(method: string, path: string, query: URLSearchParams, text: string, contentType: string | undefined, rec: RecordedRequest): [number, Json | undefined] {
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    const jsonBody = (): Json => (text.trim() === '' ? {} : (JSON.parse(text) as Json));
    if (parts.length === 0) {
      if (method === 'HEAD') return [200, undefined];
      if (method === 'GET') {
        return [200, {
          name: 'opensearch-double', cluster_name: 'double', cluster_uuid: 'double-cluster-uuid',
          version: {
            distribution: 'opensearch', number: versionNumber, build_type: 'tar', build_hash: 'double', build_date: '2025-01-01T00:00:00.000000Z',
            build_snapshot: false, lucene_version: '10.1.0', minimum_wire_compatibility_version: '2.19.0', minimum_index_compatibility_version: '2.0.0',
          },
          tagline: 'The OpenSearch Project: https://opensearch.org/',
        }];
      }
    }
    if (parts[0] === '_aliases' && parts.length === 1 && method === 'POST') return updateAliases(jsonBody());
    if (parts[0] === '_alias' && parts.length === 2 && (method === 'GET' || method === 'HEAD')) {
      const entries = aliases.get(parts[1]!);
      if (!entries) return [404, { error: `alias [${parts[1]}] missing`, status: 404 }];
      return [200, Object.fromEntries([...entries.keys()].map((i) => [i, { aliases: { [parts[1]!]: (aliasesOf(i) as Json)[parts[1]!] } }]))];
    }
    if (parts.length === 3 && parts[1] === '_alias' && (method === 'GET' || method === 'HEAD')) {
      const behind = indices.has(parts[0]!) ? [parts[0]!] : [...(aliases.get(parts[0]!)?.keys() ?? [])];
      if (behind.length === 0) return indexNotFound(parts[0]!);
      const withAlias = behind.filter((i) => aliases.get(parts[2]!)?.has(i));
      if (withAlias.length === 0) return [404, { error: `alias [${parts[2]}] missing`, status: 404 }];
      return [200, Object.fromEntries(withAlias.map((i) => [i, { aliases: { [parts[2]!]: (aliasesOf(i) as Json)[parts[2]!] } }]))];
    }
    if (parts[0] === '_reindex' && parts.length === 1 && method === 'POST') return startReindex(jsonBody(), query.get('wait_for_completion') !== 'false');
    if (parts[0] === '_tasks' && parts.length === 2 && method === 'GET') {
      const t = tasks.get(parts[1]!);
      if (!t) return [404, errorBody(404, 'resource_not_found_exception', `task [${parts[1]}] isn't running and hasn't stored its results`)];
      return [200, { completed: t.completed, task: { id: t.id, action: 'indices:data/write/reindex' }, ...(t.completed ? { response: reindexResponse(t) } : {}) }];
    }
    const isBulk = parts[parts.length - 1] === '_bulk' && parts.length <= 2;
    if (isBulk && (method === 'POST' || method === 'PUT')) {
      if (!contentType || !/^application\/(x-ndjson|json|vnd\.opensearch\+(x-ndjson|json))/.test(contentType)) {
        return [406, { error: `Content-Type header [${contentType ?? ''}] is not supported`, status: 406 }];
      }
      return bulk(parts.length === 2 ? parts[0] : undefined, text, query, rec);
    }
    const index = parts[0]!;
    if (parts.length === 1) {
      if (method === 'HEAD') return [indices.has(index) || aliases.has(index) ? 200 : 404, undefined];
      if (method === 'PUT') {
        if (!INDEX_NAME.test(index)) return [400, errorBody(400, 'invalid_index_name_exception', `Invalid index name [${index}], must be lowercase`, { index })];
        if (indices.has(index) || aliases.has(index)) {
          const meta = indices.get(index)!;
          return [400, errorBody(400, 'resource_already_exists_exception', `index [${index}/${meta.uuid}] already exists`, { index_uuid: meta.uuid, index })];
        }
        const body = jsonBody();
        createIndex(index, body);
        for (const [alias, spec] of Object.entries((body.aliases ?? {}) as Record<string, Json>)) attachAlias(alias, index, spec);
        return [200, { acknowledged: true, shards_acknowledged: true, index }];
      }
      if (method === 'DELETE') {
        if (!indices.has(index)) return indexNotFound(index);
        indices.delete(index);
        for (const [alias, entries] of aliases) if (entries.delete(index) && entries.size === 0) aliases.delete(alias);
        docs.delete(index);
        tombstones.delete(index);
        return [200, { acknowledged: true }];
      }
      if (method === 'GET') {
        const meta = indices.get(index);
        if (!meta) return indexNotFound(index);
        return [200, { [index]: { aliases: aliasesOf(index), mappings: meta.mappings ?? {}, settings: { index: { ...meta.settings, uuid: meta.uuid } } } }];
      }
    }
    if (!indices.has(index) && !aliases.has(index) && !index.startsWith('_')) return indexNotFound(index);
    if (parts.length === 3 && parts[1] === '_doc' && (method === 'GET' || method === 'HEAD')) {
      const d = readDocs(index).get(parts[2]!);
      if (!d) return [404, { _index: index, _id: parts[2], found: false }];
      return [200, { _index: index, _id: parts[2], _version: d.version, _seq_no: d.seqNo, _primary_term: 1, found: true, _source: d.source }];
    }
    if (parts.length === 2 && parts[1] === '_search' && (method === 'GET' || method === 'POST')) return search(index, jsonBody(), query);
    if (parts.length === 2 && parts[1] === '_mapping' && method === 'GET') {
      const names = indices.has(index) ? [index] : [...(aliases.get(index)?.keys() ?? [])];
      return [200, Object.fromEntries(names.map((n) => [n, { mappings: indices.get(n)!.mappings ?? {} }]))];
    }
    if (parts.length === 2 && parts[1] === '_mapping' && (method === 'PUT' || method === 'POST')) return putMapping(index, jsonBody());
    if (parts.length === 2 && parts[1] === '_analyze' && (method === 'GET' || method === 'POST')) {
      // The double has one analyzer, whatever is named: words, and CJK runs as bigrams.
      const text = jsonBody().text;
      const list = tokens(Array.isArray(text) ? text.join(' ') : String(text ?? ''));
      return [200, { tokens: list.map((token, position) => ({ token, start_offset: 0, end_offset: 0, type: CJK.test(token) ? 'double' : '<ALPHANUM>', position })) }];
    }
    if (parts.length === 2 && parts[1] === '_refresh' && (method === 'POST' || method === 'GET')) return [200, { _shards: { total: 2, successful: 1, failed: 0 } }];
    if (parts.length === 2 && parts[1] === '_count' && (method === 'GET' || method === 'POST')) return [200, { count: readDocs(index).size, _shards: { total: 1, successful: 1, skipped: 0, failed: 0 } }];
    return [400, { error: `no handler found for uri [${path}] and method [${method}]` }];
  }

  function faultResponse(fault: Exclude<RequestFault, 'hang' | 'reset'>): [number, Json] {
    const defaults: Record<number, [string, string]> = {
      429: ['rejected_execution_exception', 'rejected execution of coordinating operation [coordinating_and_primary_bytes=104857600, replica_bytes=0, all_bytes=104857600, coordinating_operation_bytes=1024, max_coordinating_and_primary_bytes=104857600]'],
      503: ['cluster_block_exception', 'blocked by: [SERVICE_UNAVAILABLE/2/no cluster-manager];'],
      403: ['security_exception', 'no permissions for [indices:data/write/bulk] and User [name=worker, backend_roles=[], requestedTenant=null]'],
      500: ['exception', 'injected internal failure'],
    };
    const [type, reason] = defaults[fault.status] ?? ['exception', `injected ${fault.status}`];
    return [fault.status, errorBody(fault.status, fault.type ?? type, fault.reason ?? reason)];
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = req.method ?? 'GET';
      const rec: RecordedRequest = { method, path: url.pathname, query: url.search, contentType: req.headers['content-type'], bodyBytes: body.length };
      requests.push(rec);
      const send = (status: number, payload: Json | undefined) => {
        rec.status = status;
        const text = payload === undefined || method === 'HEAD' ? '' : stringify(payload);
        const headers: http.OutgoingHttpHeaders = { 'content-length': Buffer.byteLength(text) };
        if (payload !== undefined) headers['content-type'] = 'application/json; charset=UTF-8';
        res.writeHead(status, headers);
        res.end(text);
      };
      if (opts.sigv4) {
        const problem = await sigv4Problem({ method, url: req.url ?? '/', headers: req.headers, body }, opts.sigv4);
        if (problem) {
          // Amazon OpenSearch Service answers a bad signature before the cluster sees the request.
          signatureFailures.push({ path: url.pathname, problem });
          rec.status = 403;
          const text = JSON.stringify({ message: problem });
          res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
          return res.end(text);
        }
      }
      const fault = faults.takeRequestFault({ method, path: url.pathname });
      if (fault === 'hang') {
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      }
      if (fault === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault) return send(...faultResponse(fault));
      if (body.length > faults.maxBodyBytes) {
        // http.max_content_length: Netty answers 413 with no body.
        rec.status = 413;
        res.writeHead(413, { 'content-length': 0 });
        return res.end();
      }
      try {
        send(...route(method, url.pathname, url.searchParams, body.toString('utf8'), req.headers['content-type'], rec));
      } catch (e) {
        send(400, errorBody(400, 'parse_exception', `request body is not valid: ${(e as Error).message}`));
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    docs,
    tombstones,
    indices,
    aliases,
    tasks,
    signatureFailures,
    writeIndexOf,
    readDocs,
    setSigV4Credentials(credentials) {
      if (!opts.sigv4) throw new Error('the double was started without sigv4');
      opts.sigv4 = { ...opts.sigv4, credentials };
    },
    requests,
    faults,
    get hanging() {
      return hung.size;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
