// The OpenSearch index: one `_bulk` request per write, through @opensearch-project/opensearch's
// client.bulk with the client's own retries off. This adapter owns every retry, because the client
// retries only 502/503/504 and helpers.bulk neither retries a whole-request 429 nor reports a
// 404 delete as done when another item in the batch fails.
//
// Retry rules (each "round" sends every op still pending; rounds are bounded by maxRetries and
// separated by exponential backoff with jitter: a random wait in [cap/2, cap], cap = base·2^round
// limited to backoffMaxMs):
//   whole request  429, 5xx, 408, 401/403/404, timeout, connection error -> all its ops retry;
//                  once maxRetries rounds are spent every op still pending gets a RetryableError.
//                  (401/403 are operational, not the document's fault: a retryable error keeps the
//                  message for the redrive policy instead of dropping the document.)
//                  413 -> the batch is split in halves and each half sent at once (no backoff);
//                  a single op that still gets 413 -> IndexRejectedError (permanent). Half the
//                  smallest multi-op body that drew a 413 becomes the byte limit for later batches.
//                  other 4xx -> IndexRejectedError for every op in it.
//   per item       2xx -> ok.  delete + 404 (not_found, or the index is missing) -> ok: it is gone.
//                  409 on an op with an external version -> { ok: true, stale: true }.
//                  429 (rejected_execution_exception), 5xx, 409 without a version, 404 on an
//                  index op (index_not_found_exception) -> retried alone in the next round.
//                  other 4xx (mapper_parsing_exception, …) -> IndexRejectedError (permanent).
//   Batches larger than maxBulkBytes of NDJSON are cut, in order, into several requests.
//
// Ordering for one key: an op whose ref carries an S3 sequencer is sent with
// version_type=external_gte and version=sequencerVersion(sequencer) (derivation below). OpenSearch
// then refuses (409) an index or delete whose version is lower than the stored one, including the
// tombstone of a recent delete — kept for index.gc_deletes, which init() raises from 60 s to
// `gcDeletes` (default 1 h, longer than the queue's retry backoff) so an upload re-delivered after
// its delete cannot resurrect the document. `_gte` rather than `external`: re-sending the very same
// op (after a timeout whose first try did land) succeeds instead of conflicting. Ops without a
// sequencer use internal versioning and last-write-wins; to keep that order within a batch, an
// unversioned op that must be retried is dropped as stale when a later op of the batch for the same
// id has already succeeded.
//
// Serverless (SigV4 service `aoss`) refuses external versioning and the index.gc_deletes setting, so
// there ops go without versions and last arrival wins (docs/operations.md, "Serverless").
// 401/403 end the ops at once with an AuthError: the same request cannot succeed on retry; the intake
// breaker holds the work and probes (checkWritable) until the permission is fixed.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@opensearch-project/opensearch';
import { backoffMs } from '../flow/backoff.ts';
import { METADATA_FIELD_NAMES, METADATA_FIELDS } from '../types.ts';
import type { FieldKind } from '../types.ts';
import { AuthError, ConfigError, IndexRejectedError, RetryableError, WorkerError, errorMessage } from '../errors.ts';
import { silentLogger, type Logger } from '../telemetry/log.ts';
import { noTelemetry, type Telemetry } from '../telemetry/telemetry.ts';
import { createOpenSearchClient, type AwsCredentials, type AwsCredentialsProvider } from './opensearch-client.ts';
import type { IndexAuth } from '../config.ts';
import { ensureAlias, type AliasState } from './opensearch-lifecycle.ts';
import type { IndexDocument, IndexItemResult, IndexOp, SearchIndex, StoredState } from '../types.ts';

export type OpenSearchIndexOptions = {
  /** http(s)://host:port of one node. Ignored when `client` is given. */
  node: string;
  /** Index name: lowercase, as OpenSearch requires. */
  index: string;
  /** A ready client (tests). Its own retries are overridden per request; close() leaves it open. */
  client?: Client;
  /** How requests authenticate when the adapter builds its client (default: none). */
  auth?: IndexAuth;
  /** SigV4 credentials (default: the AWS SDK default chain). */
  credentials?: AwsCredentials | AwsCredentialsProvider;
  /** Serverless collection: no external versions, no gc_deletes (default: auth is SigV4 for `aoss`). */
  serverless?: boolean;
  /** `index` names an alias over `<index>-v<MAPPING_VERSION>` (default: true, except on Serverless). */
  aliases?: boolean;
  telemetry?: Telemetry;
  logger?: Logger;
  /** Retry rounds after the first try. */
  maxRetries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Deadline for one HTTP request. */
  requestTimeoutMs?: number;
  /** Largest NDJSON body sent in one request; bigger batches are cut. */
  maxBulkBytes?: number;
  /** index.gc_deletes set at creation: how long delete tombstones guard against stale upserts. */
  gcDeletes?: string;
};

export const OPENSEARCH_INDEX_DEFAULTS = {
  maxRetries: 5,
  backoffBaseMs: 200,
  backoffMaxMs: 10_000,
  requestTimeoutMs: 30_000,
  // Amazon OpenSearch Service's smallest instance types accept 10 MiB per HTTP request.
  maxBulkBytes: 10 * 1024 * 1024,
  gcDeletes: '1h',
} as const;

/** Version of the mapping below, kept in the index's mappings._meta; raise it when the mapping changes. */
export const MAPPING_VERSION = 1;

/** The document id the write check deletes: never a real document (ids are hex hashes). */
export const WRITE_CHECK_ID = '_filesearch-write-check';

/** Custom analyzer for mixed Japanese/English text, built from stock OpenSearch parts (no plugins). */
export const TEXT_ANALYZER = 'ja_en';

/** Settings and mappings the index is created with. */
export function indexDefinition(gcDeletes: string | undefined): Record<string, unknown> {
  const text = { type: 'text', analyzer: TEXT_ANALYZER };
  const keyword = { type: 'keyword' };
  return {
    settings: {
      ...(gcDeletes !== undefined ? { index: { gc_deletes: gcDeletes } } : {}),
      analysis: {
        analyzer: {
          // standard splits Latin words and emits CJK characters one by one; cjk_width folds
          // full-width Latin/half-width kana; cjk_bigram joins CJK runs into overlapping bigrams,
          // the usual dictionary-free way to search Japanese. No stop words: short English
          // queries keep working.
          [TEXT_ANALYZER]: { type: 'custom', tokenizer: 'standard', filter: ['cjk_width', 'lowercase', 'cjk_bigram'] },
        },
      },
    },
    mappings: {
      _meta: { mappingVersion: MAPPING_VERSION },
      // Unknown fields are kept in _source but not indexed, so a newer worker can add fields first.
      dynamic: false,
      properties: {
        id: keyword,
        source: keyword,
        bucket: keyword,
        key: { type: 'keyword', fields: { text } },
        name: { ...text, fields: { keyword: { type: 'keyword', ignore_above: 1024 } } },
        contentType: keyword,
        size: { type: 'long' },
        etag: keyword,
        versionId: keyword,
        sequencer: keyword,
        lastModified: { type: 'date' },
        status: keyword,
        error: text,
        text,
        truncated: { type: 'boolean' },
        pages: { type: 'integer' },
        ocrPages: { type: 'integer' },
        thumbnail: { type: 'keyword', index: false, doc_values: false },
        indexedAt: { type: 'date' },
        ...metadataMapping(),
        ...ADDED_FIELDS,
      },
    },
  };
}

/** Fields added after the first release: init() puts them into the mapping of an existing index. */
const ADDED_FIELDS = { sha256: { type: 'keyword' }, extractorVersion: { type: 'integer' } } as const;

/** _source fields of a StoredState. */
const STATE_FIELDS = ['id', 'key', 'etag', 'versionId', 'sha256', 'extractorVersion', 'status'];
const SCAN_PAGE = 1000;

function toState(id: string, src: Record<string, unknown>): StoredState {
  const s: StoredState = { id, key: String(src.key ?? ''), status: String(src.status ?? 'failed') as StoredState['status'] };
  if (typeof src.etag === 'string') s.etag = src.etag;
  if (typeof src.versionId === 'string') s.versionId = src.versionId;
  if (typeof src.sha256 === 'string') s.sha256 = src.sha256;
  if (typeof src.extractorVersion === 'number') s.extractorVersion = src.extractorVersion;
  return s;
}

type SearchHits = { hits?: { hits?: Array<{ _id: string; _source?: Record<string, unknown>; sort?: unknown[] }> } };

/**
 * The typed metadata fields (METADATA_FIELDS in src/types.ts). Added to an index created by an older version with a
 * put-mapping on start: new fields can be added to a live index, and documents written before keep
 * working (they lack the fields until re-indexed).
 */
export function metadataMapping(): Record<string, unknown> {
  const text = { type: 'text', analyzer: TEXT_ANALYZER };
  const byKind: Record<FieldKind, Record<string, unknown>> = {
    text: { ...text, fields: { keyword: { type: 'keyword', ignore_above: 1024 } } },
    list: { type: 'keyword', ignore_above: 1024, fields: { text } },
    keyword: { type: 'keyword', ignore_above: 1024 },
    date: { type: 'date' },
    integer: { type: 'integer' },
  };
  return Object.fromEntries(METADATA_FIELD_NAMES.map((f) => [f, byKind[METADATA_FIELDS[f]]]));
}

/**
 * The external version for an S3 event sequencer: a 63-bit integer that never reverses the order
 * of compareSequencers (src/ids.ts).
 *
 * AWS promises only this about sequencers: hex strings, comparable for the same key after
 * right-padding the shorter with zeros; the greater is the later event. So a sequencer is read as
 * the hex fraction 0.s, and right-padding is harmless. Observed sequencers are 16–18 hex digits and
 * begin with "00" (e.g. 0055AED6DCD90281E5: 72 bits), more than the 63 bits an OpenSearch version
 * holds (a long >= 0). The mapping spends one bit on "does it begin with 00?":
 *   begins with 00:  v = the 62 bits that follow the "00"             (v <  2^62)
 *   otherwise:       v = 2^62 | the first 62 bits                     (v >= 2^62)
 * Monotone: within a class both sides drop the same prefix and keep a leading bit-prefix of what
 * follows, which preserves <=; across classes every "00…" sequencer is smaller than every other.
 * Exact (injective) for sequencers of up to 17 hex digits; for the 18-digit form only the last 2
 * bits are lost, so two events whose sequencers differ only there get equal versions — external_gte
 * then accepts both and the later arrival wins, as without versions. Order is never inverted.
 * Returns undefined for a value that is not hex (the op is then sent without a version).
 */
export function sequencerVersion(sequencer: string): bigint | undefined {
  if (!/^[0-9a-f]+$/i.test(sequencer)) return undefined;
  const padded = sequencer.toUpperCase().padEnd(18, '0');
  const lowClass = padded.startsWith('00');
  const digits = lowClass ? padded.slice(2) : padded;
  const first62 = BigInt(`0x${digits.slice(0, 16)}`) >> 2n;
  return lowClass ? first62 : (1n << 62n) | first62;
}

type Resolved = {
  node: string;
  index: string;
  telemetry: Telemetry;
  logger: Logger;
  maxRetries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  requestTimeoutMs: number;
  maxBulkBytes: number;
  gcDeletes: string;
  serverless: boolean;
  aliases: boolean;
};

function resolveOptions(o: OpenSearchIndexOptions): Resolved {
  const d = OPENSEARCH_INDEX_DEFAULTS;
  const r: Resolved = {
    node: o.node,
    index: o.index,
    telemetry: o.telemetry ?? noTelemetry,
    logger: o.logger ?? silentLogger,
    maxRetries: o.maxRetries ?? d.maxRetries,
    backoffBaseMs: o.backoffBaseMs ?? d.backoffBaseMs,
    backoffMaxMs: o.backoffMaxMs ?? d.backoffMaxMs,
    requestTimeoutMs: o.requestTimeoutMs ?? d.requestTimeoutMs,
    maxBulkBytes: o.maxBulkBytes ?? d.maxBulkBytes,
    gcDeletes: o.gcDeletes ?? d.gcDeletes,
    serverless: o.serverless ?? (o.auth?.kind === 'sigv4' && o.auth.service === 'aoss'),
    aliases: true,
  };
  r.aliases = o.aliases ?? !r.serverless;
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(r.index)) {
    throw new ConfigError('OpenSearchIndex.index', `must be a lowercase OpenSearch index name, got ${JSON.stringify(r.index)}`);
  }
  if (!o.client && !/^https?:\/\//.test(r.node)) {
    throw new ConfigError('OpenSearchIndex.node', `must be an http(s):// URL, got ${JSON.stringify(r.node)}`);
  }
  const ints: Array<[keyof Resolved, number]> = [['maxRetries', 0], ['backoffBaseMs', 0], ['backoffMaxMs', 0], ['requestTimeoutMs', 1], ['maxBulkBytes', 1024]];
  for (const [name, min] of ints) {
    const v = r[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new ConfigError(`OpenSearchIndex.${name}`, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
  }
  if (!/^-?\d+(ms|s|m|h|d)$/.test(r.gcDeletes)) {
    throw new ConfigError('OpenSearchIndex.gcDeletes', `must be a time value such as 60s or 1h, got ${JSON.stringify(r.gcDeletes)}`);
  }
  return r;
}

/** One op on its way: its place in the input, its NDJSON and the last reason it failed. */
type Pending = {
  readonly at: number;
  readonly id: string;
  readonly isDelete: boolean;
  readonly versioned: boolean;
  /** Action line, plus the source line for an index op, without the final newline. */
  readonly ndjson: string;
  readonly bytes: number;
  lastError?: WorkerError;
};

type BulkItem = { status?: number; result?: string; error?: { type?: string; reason?: string; caused_by?: { type?: string; reason?: string } } };

/** Whole-request failure as the client reports it. */
type ClientError = { name?: string; message?: string; statusCode?: number; meta?: { statusCode?: number }; body?: { error?: { type?: string; reason?: string } | string } };

function statusOf(err: unknown): number | undefined {
  const e = err as ClientError;
  return e?.statusCode ?? e?.meta?.statusCode ?? undefined;
}

function bodyOf(err: unknown): ClientError['body'] {
  return (err as ClientError)?.body;
}

function errorTypeOf(err: unknown): string | undefined {
  const body = (err as ClientError)?.body;
  return typeof body?.error === 'object' ? body.error?.type : undefined;
}

/** Classifies a failed request (not an item) once, here. */
function classifyRequestError(err: unknown, what: string): WorkerError {
  if (err instanceof WorkerError) return err;
  const status = statusOf(err);
  const msg = `${what}: ${errorMessage(err)}`;
  if (status === 401 || status === 403) {
    const b = bodyOf(err);
    const reason = typeof b?.error === 'object' ? b.error.reason : (b as { message?: string } | undefined)?.message;
    return new AuthError(status, `${what}: OpenSearch refused our identity (${status}${reason ? `: ${reason}` : ''}); check the IAM policy / role mapping (docs/operations.md)`, { cause: err });
  }
  if (status === undefined || status === 429 || status >= 500 || [404, 408].includes(status)) {
    return new RetryableError(msg, { cause: err });
  }
  const body = (err as ClientError).body;
  const reason = typeof body?.error === 'object' ? body.error?.reason : typeof body?.error === 'string' ? body.error : undefined;
  return new IndexRejectedError(status, errorTypeOf(err), reason ?? msg);
}

/** What one bulk response item means for its op. */
function judgeItem(p: Pending, item: BulkItem | undefined): IndexItemResult | 'retry' {
  const status = item?.status;
  if (status === undefined) return 'retry';
  if (status >= 200 && status < 300) return { ok: true };
  if (status === 404 && p.isDelete) return { ok: true };
  if (status === 409 && p.versioned) return { ok: true, stale: true };
  if (status === 429 || status >= 500 || status === 409 || status === 404) return 'retry';
  const reason = [item?.error?.reason, item?.error?.caused_by?.reason].filter(Boolean).join(': ') || `status ${status}`;
  return { ok: false, error: new IndexRejectedError(status, item?.error?.type, reason) };
}

export class OpenSearchIndex implements SearchIndex {
  readonly kind = 'opensearch';
  readonly index: string;
  readonly #o: Resolved;
  readonly #client: Client;
  readonly #ownsClient: boolean;
  /** Lowered after a 413: the cluster's real request size limit, as far as we have learnt it. */
  #learnedMaxBytes = Infinity;
  #alias: AliasState | undefined;

  constructor(options: OpenSearchIndexOptions) {
    this.#o = resolveOptions(options);
    this.index = this.#o.index;
    this.#ownsClient = !options.client;
    this.#client = options.client ?? createOpenSearchClient(this.#o.node, options.auth ?? { kind: 'none' }, { requestTimeoutMs: this.#o.requestTimeoutMs, ...(options.credentials ? { credentials: options.credentials } : {}) });
  }

  /** The client, for the lifecycle commands (reindex) that share this adapter's auth. */
  get client(): Client {
    return this.#client;
  }

  /** Where writes land once init() ran: the alias's write index (undefined before, or without aliases). */
  get aliasState(): AliasState | undefined {
    return this.#alias;
  }

  /** Per-request options: whatever client we were given, it must not retry on its own. */
  get #requestOptions() {
    return { maxRetries: 0, requestTimeout: this.#o.requestTimeoutMs };
  }

  /**
   * Cheap proof that the cluster answers and our identity may write to the index: a bulk delete of a
   * document id that never exists (404 inside a 200 answer). Throws a classified error otherwise.
   * Used at start (`run` exits 78 on AuthError) and as the intake breaker's probe.
   */
  async checkWritable(): Promise<void> {
    const pending = this.#prepare({ kind: 'remove', id: WRITE_CHECK_ID }, 0);
    let items: unknown;
    try {
      items = (await this.#bulk([pending])).items;
    } catch (err) {
      throw classifyRequestError(err, `OpenSearch write check on ${this.#o.index}`);
    }
    const item = Object.values((Array.isArray(items) ? (items[0] as Record<string, BulkItem>) : undefined) ?? {})[0];
    const status = item?.status;
    if (status !== undefined && ((status >= 200 && status < 300) || status === 404 || status === 409)) return;
    const reason = `${status ?? 'no status'} ${item?.error?.type ?? ''} ${item?.error?.reason ?? ''}`.trim();
    if (status === 401 || status === 403) throw new AuthError(status, `OpenSearch write check on ${this.#o.index}: refused (${reason})`);
    throw new RetryableError(`OpenSearch write check on ${this.#o.index}: ${reason}`);
  }

  /** An index created before the metadata fields existed gets them; a field mapped differently is a hard error. */
  async #addMetadataFields(): Promise<void> {
    const { index } = this.#o;
    try {
      await this.#client.indices.putMapping({ index, body: { properties: { ...metadataMapping(), ...ADDED_FIELDS } } as never }, this.#requestOptions);
    } catch (err) {
      if (errorTypeOf(err) === 'illegal_argument_exception') {
        throw new ConfigError('INDEX_URL', `index ${index} maps a metadata field differently (${errorMessage(err)}); re-create the index or use another`);
      }
      throw err;
    }
  }

  async init(): Promise<void> {
    const { index, logger } = this.#o;
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.#o.aliases) {
          const definition = indexDefinition(this.#o.serverless ? undefined : this.#o.gcDeletes);
          this.#alias = await ensureAlias({ client: this.#client, requestOptions: this.#requestOptions }, index, MAPPING_VERSION, definition, logger);
          // Added fields need no new mapping version: they are put on the indices behind the alias.
          await this.#addMetadataFields();
          return;
        }
        const exists = await this.#client.indices.exists({ index }, this.#requestOptions);
        if (exists.body === true) {
          await this.#addMetadataFields();
          return;
        }
        try {
          const body = indexDefinition(this.#o.serverless ? undefined : this.#o.gcDeletes) as never;
          await this.#client.indices.create({ index, body }, this.#requestOptions);
          logger.info({ index }, 'created OpenSearch index');
        } catch (err) {
          // Another worker created it between our HEAD and PUT.
          if (errorTypeOf(err) !== 'resource_already_exists_exception') throw err;
        }
        return;
      } catch (err) {
        const error = classifyRequestError(err, `creating OpenSearch index ${index}`);
        if (error instanceof AuthError) throw error;
        if (!error.retryable || attempt >= this.#o.maxRetries) throw error;
        logger.warn({ index, attempt, err: error }, 'OpenSearch not ready; retrying');
        await sleep(this.#backoff(attempt));
      }
    }
  }

  async states(ids: string[]): Promise<Map<string, StoredState>> {
    const out = new Map<string, StoredState>();
    for (let i = 0; i < ids.length; i += SCAN_PAGE) {
      const values = ids.slice(i, i + SCAN_PAGE);
      for (const h of await this.#search({ query: { ids: { values } }, size: values.length, _source: STATE_FIELDS })) out.set(h._id, toState(h._id, h._source ?? {}));
    }
    return out;
  }

  async findByHash(sha256: string, extractorVersion: number): Promise<IndexDocument | undefined> {
    const hits = await this.#search({ query: { term: { sha256 } }, size: 10 });
    const hit = hits.find((h) => h._source?.extractorVersion === extractorVersion);
    return hit ? ({ ...hit._source, id: hit._id } as unknown as IndexDocument) : undefined;
  }

  async *scan(bucket: string, prefix: string): AsyncIterable<StoredState> {
    let after: unknown[] | undefined;
    for (;;) {
      const filter = [{ term: { bucket } }, ...(prefix ? [{ prefix: { key: prefix } }] : [])];
      const hits = await this.#search({
        query: { bool: { filter } }, sort: [{ key: 'asc' }, { id: 'asc' }], size: SCAN_PAGE, _source: STATE_FIELDS, ...(after ? { search_after: after } : {}),
      });
      for (const h of hits) yield toState(h._id, h._source ?? {});
      if (hits.length < SCAN_PAGE) return;
      after = hits.at(-1)!.sort;
    }
  }

  async #search(body: Record<string, unknown>): Promise<NonNullable<NonNullable<SearchHits['hits']>['hits']>> {
    try {
      const res = await this.#client.search({ index: this.#o.index, body: body as never }, this.#requestOptions);
      return (res.body as SearchHits).hits?.hits ?? [];
    } catch (err) {
      throw classifyRequestError(err, 'OpenSearch search');
    }
  }

  async write(ops: IndexOp[], signal?: AbortSignal): Promise<IndexItemResult[]> {
    const results: Array<IndexItemResult | undefined> = new Array(ops.length);
    const ids = ops.map((op) => (op.kind === 'upsert' ? op.doc.id : op.id));
    let pending = ops.map((op, at) => this.#prepare(op, at));
    for (let round = 0; pending.length > 0; round++) {
      if (signal?.aborted) break;
      const retry: Pending[] = [];
      for (const chunk of this.#chunks(pending)) {
        if (signal?.aborted) {
          retry.push(...chunk);
          continue;
        }
        await this.#send(chunk, results, retry, signal);
      }
      pending = retry.filter((p) => !this.#supersede(p, ids, results));
      if (pending.length === 0 || round >= this.#o.maxRetries || signal?.aborted) break;
      this.#o.telemetry.indexItemRetries(pending.length);
      this.#o.logger.warn({ index: this.#o.index, round: round + 1, items: pending.length, err: pending[0]?.lastError }, 'retrying OpenSearch bulk items');
      // An abort ends the wait early; the loop then stops.
      await sleep(this.#backoff(round), undefined, { signal }).catch(() => {});
    }
    for (const p of pending) {
      results[p.at] = { ok: false, error: p.lastError ?? new RetryableError(`OpenSearch bulk: aborted before ${p.id} was written`) };
    }
    return results as IndexItemResult[];
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await this.#client.close();
  }

  #prepare(op: IndexOp, at: number): Pending {
    const id = op.kind === 'upsert' ? op.doc.id : op.id;
    const sequencer = op.kind === 'upsert' ? op.doc.sequencer : op.sequencer;
    const version = sequencer === undefined || this.#o.serverless ? undefined : sequencerVersion(sequencer);
    if (sequencer !== undefined && version === undefined && !this.#o.serverless) {
      this.#o.logger.warn({ id, sequencer }, 'sequencer is not hex; writing without an external version');
    }
    // Written by hand: a 63-bit version does not survive a JS number, so it goes in as its digits.
    const meta = `{"_id":${JSON.stringify(id)}${version === undefined ? '' : `,"version":${version},"version_type":"external_gte"`}}`;
    const ndjson = op.kind === 'upsert' ? `{"index":${meta}}\n${JSON.stringify(op.doc)}` : `{"delete":${meta}}`;
    return { at, id, isDelete: op.kind === 'remove', versioned: version !== undefined, ndjson, bytes: Buffer.byteLength(ndjson) + 1 };
  }

  /** Cuts ops, in order, into bodies under the byte limit; an op over it travels alone. */
  *#chunks(pending: Pending[]): Generator<Pending[]> {
    const limit = Math.min(this.#o.maxBulkBytes, this.#learnedMaxBytes);
    let chunk: Pending[] = [];
    let bytes = 0;
    for (const p of pending) {
      if (chunk.length > 0 && bytes + p.bytes > limit) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push(p);
      bytes += p.bytes;
    }
    if (chunk.length > 0) yield chunk;
  }

  /** Sends one bulk request; settles what it can in `results` and queues the rest in `retry`. */
  async #send(chunk: Pending[], results: Array<IndexItemResult | undefined>, retry: Pending[], signal?: AbortSignal): Promise<void> {
    const { telemetry, logger, index } = this.#o;
    let items: unknown;
    try {
      items = (await this.#bulk(chunk, signal)).items;
    } catch (err) {
      if (statusOf(err) === 413) {
        telemetry.bulkRequest('failed');
        const bytes = chunk.reduce((n, p) => n + p.bytes, 0);
        if (chunk.length === 1) {
          const p = chunk[0]!;
          results[p.at] = { ok: false, error: new IndexRejectedError(413, 'request_entity_too_large', `the bulk body for ${p.id} (${p.bytes} bytes) is over the cluster's request size limit`) };
          return;
        }
        // Later batches start at the size of the halves tried now, so they need not draw 413s first.
        this.#learnedMaxBytes = Math.min(this.#learnedMaxBytes, Math.floor(bytes / 2));
        logger.warn({ index, items: chunk.length, bytes }, 'OpenSearch answered 413; splitting the bulk request');
        const half = Math.ceil(chunk.length / 2);
        await this.#send(chunk.slice(0, half), results, retry, signal);
        await this.#send(chunk.slice(half), results, retry, signal);
        return;
      }
      const error = classifyRequestError(err, 'OpenSearch bulk');
      telemetry.bulkRequest(error.retryable ? 'retry' : 'failed');
      for (const p of chunk) {
        if (error.retryable && !(error instanceof AuthError)) {
          p.lastError = error;
          retry.push(p);
        } else {
          results[p.at] = { ok: false, error };
        }
      }
      return;
    }
    if (!Array.isArray(items) || items.length !== chunk.length) {
      telemetry.bulkRequest('retry');
      const error = new RetryableError(`OpenSearch bulk: expected ${chunk.length} items in the response, got ${Array.isArray(items) ? items.length : typeof items}`);
      for (const p of chunk) retry.push(Object.assign(p, { lastError: error }));
      return;
    }
    let clean = true;
    chunk.forEach((p, k) => {
      const item = Object.values((items as Array<Record<string, BulkItem>>)[k] ?? {})[0];
      const verdict = judgeItem(p, item);
      if (verdict === 'retry') {
        clean = false;
        p.lastError = new RetryableError(`OpenSearch bulk item ${p.id}: ${item?.status ?? 'no status'} ${item?.error?.type ?? ''} ${item?.error?.reason ?? ''}`.trim());
        retry.push(p);
        return;
      }
      results[p.at] = verdict;
      if (!verdict.ok) {
        clean = false;
        logger.error({ index, id: p.id, err: verdict.error }, 'OpenSearch rejected a document');
      }
    });
    telemetry.bulkRequest(clean ? 'ok' : 'partial');
  }

  async #bulk(chunk: Pending[], signal?: AbortSignal): Promise<{ items?: unknown }> {
    // The client writes string entries as they are, one per line (Serializer.ndserialize).
    const body = chunk.map((p) => p.ndjson) as never;
    const request = this.#client.bulk({ index: this.#o.index, body }, this.#requestOptions);
    const abort = () => request.abort();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      return (await request).body as { items?: unknown };
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /** An unversioned retry that a later op of the same batch has already overwritten: drop it. */
  #supersede(p: Pending, ids: string[], results: Array<IndexItemResult | undefined>): boolean {
    if (p.versioned) return false;
    for (let j = p.at + 1; j < ids.length; j++) {
      if (ids[j] === p.id && results[j]?.ok) {
        results[p.at] = { ok: true, stale: true };
        return true;
      }
    }
    return false;
  }

  #backoff(round: number): number {
    return backoffMs(round, { baseMs: this.#o.backoffBaseMs, maxMs: this.#o.backoffMaxMs, jitter: 0.5 });
  }
}
