// The embedded index: node:sqlite with an FTS5 table using the trigram tokenizer, which matches any
// substring of 3+ characters — Japanese has no spaces between words — and a gram table for shorter
// words (sqlite-grams.ts); queries are answered by sqlite-search.ts. Upserts never let an older S3 event (by sequencer)
// overwrite a newer one, nor bring back a document that a newer event removed. Several processes may
// share one file (WAL: readers never wait; one writer at a time, the others wait and retry).
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { METADATA_FIELD_NAMES, METADATA_FIELDS, columnOf } from '../types.ts';
import type { MetadataField } from '../types.ts';
import { IndexRejectedError, RetryableError, errorMessage } from '../errors.ts';
import { compareSequencers } from '../ids.ts';
import { backoffMs, type BackoffOptions } from '../flow/backoff.ts';
import { GRAMS_SCHEMA, GRAMS_TABLE, documentGrams } from './sqlite-grams.ts';
import { LOOKUP_BACKFILL, LOOKUP_SCHEMA, LOOKUP_TABLE } from './sqlite-lookup.ts';
import type { DocStatus, IndexDocument, IndexItemResult, IndexOp, SearchIndex, StoredState } from '../types.ts';
import { SqliteSearch, toDocument, type Row } from './sqlite-search.ts';
import { buildQuery, type SearchHit } from '../search/query.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS documents (
  id TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  bucket TEXT NOT NULL,
  key TEXT NOT NULL,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT,
  version_id TEXT,
  sequencer TEXT,
  last_modified TEXT,
  status TEXT NOT NULL,
  error TEXT,
  text TEXT NOT NULL,
  truncated INTEGER NOT NULL,
  pages INTEGER NOT NULL,
  ocr_pages INTEGER NOT NULL,
  thumbnail TEXT,
  indexed_at TEXT NOT NULL,
  sha256 TEXT,
  extractor_version INTEGER
);
-- Remembers the sequencer of each removal, so an older upload event that arrives after the delete
-- cannot bring the document back.
CREATE TABLE IF NOT EXISTS deletions (
  id TEXT PRIMARY KEY,
  sequencer TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(name, source, text, content='documents', content_rowid='rowid', tokenize='trigram');
CREATE TRIGGER IF NOT EXISTS documents_ai AFTER INSERT ON documents BEGIN
  INSERT INTO documents_fts(rowid, name, source, text) VALUES (new.rowid, new.name, new.source, new.text);
END;
CREATE TRIGGER IF NOT EXISTS documents_ad AFTER DELETE ON documents BEGIN
  INSERT INTO documents_fts(documents_fts, rowid, name, source, text) VALUES ('delete', old.rowid, old.name, old.source, old.text);
END;
CREATE TRIGGER IF NOT EXISTS documents_au AFTER UPDATE ON documents BEGIN
  INSERT INTO documents_fts(documents_fts, rowid, name, source, text) VALUES ('delete', old.rowid, old.name, old.source, old.text);
  INSERT INTO documents_fts(rowid, name, source, text) VALUES (new.rowid, new.name, new.source, new.text);
END;
`;


export class SqliteIndex implements SearchIndex {
  readonly kind = 'sqlite';
  readonly path: string;
  #db: DatabaseSync | undefined;
  #upsert!: StatementSync;
  #remove!: StatementSync;
  #get!: StatementSync;
  #tombstone!: StatementSync;
  #bury!: StatementSync;
  #unbury!: StatementSync;
  #rowidOf!: StatementSync;
  #dropGrams!: StatementSync;
  #putGrams!: StatementSync;

  constructor(path: string) {
    this.path = path;
  }

  async init(): Promise<void> {
    if (this.#db) return;
    if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
    const db = new DatabaseSync(this.path, { timeout: BUSY_TIMEOUT_MS });
    // Another process may be creating the schema or switching to WAL at this very moment.
    await whileBusy(`opening ${this.path}`, () => {
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
      db.exec(SCHEMA);
      // An index from before the gram table gets one, filled from the documents it holds (checked
      // again under the write lock: another process may have just done it).
      const hasGrams = () => db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(GRAMS_TABLE) !== undefined;
      if (hasGrams()) return;
      db.exec('BEGIN IMMEDIATE');
      try {
        if (!hasGrams()) {
          db.function('fsw_grams', { deterministic: true }, (name, source, text) => documentGrams(String(name), String(source), String(text)));
          db.exec(`${GRAMS_SCHEMA}; INSERT INTO ${GRAMS_TABLE}(rowid, grams) SELECT rowid, fsw_grams(name, source, text) FROM documents;`);
        }
        db.exec('COMMIT');
      } catch (err) {
        if (db.isTransaction) db.exec('ROLLBACK');
        throw err;
      }
    });
    // Columns a database from an older version lacks, added under the write lock (another process may
    // be adding them at this very moment).
    await whileBusy(`upgrading ${this.path}`, () => {
      db.exec('BEGIN IMMEDIATE');
      try {
        addMetadataColumns(db);
        // Databases made before these columns existed gain them (NULL: extracted by an unknown version).
        const columns = new Set((db.prepare('PRAGMA table_info(documents)').all() as Array<{ name: string }>).map((c) => c.name));
        if (!columns.has('sha256')) db.exec('ALTER TABLE documents ADD COLUMN sha256 TEXT');
        if (!columns.has('extractor_version')) db.exec('ALTER TABLE documents ADD COLUMN extractor_version INTEGER');
        db.exec('CREATE INDEX IF NOT EXISTS documents_sha256 ON documents(sha256); CREATE INDEX IF NOT EXISTS documents_bucket_key ON documents(bucket, key)');
        const hadLookup = db.prepare('SELECT 1 FROM sqlite_master WHERE name = ?').get(LOOKUP_TABLE) !== undefined;
        db.exec(`${LOOKUP_SCHEMA} ${hadLookup ? '' : `; ${LOOKUP_BACKFILL}`};`);
        db.exec('COMMIT');
      } catch (err) {
        if (db.isTransaction) db.exec('ROLLBACK');
        throw err;
      }
    });
    // seq_newer(incoming, stored): may the incoming op replace what is stored?
    db.function('seq_newer', { deterministic: true }, (incoming, stored) =>
      incoming == null || stored == null || compareSequencers(String(incoming), String(stored)) >= 0 ? 1 : 0,
    );
    this.#upsert = db.prepare(`
      INSERT INTO documents (id, source, bucket, key, name, content_type, size, etag, version_id, sequencer, last_modified,
        status, error, text, truncated, pages, ocr_pages, thumbnail, indexed_at, ${META_COLUMNS.join(', ')}, sha256, extractor_version)
      VALUES (:id, :source, :bucket, :key, :name, :contentType, :size, :etag, :versionId, :sequencer, :lastModified,
        :status, :error, :text, :truncated, :pages, :ocrPages, :thumbnail, :indexedAt, ${METADATA_FIELD_NAMES.map((f) => `:${f}`).join(', ')}, :sha256, :extractorVersion)
      ON CONFLICT(id) DO UPDATE SET source = excluded.source, bucket = excluded.bucket, key = excluded.key, name = excluded.name,
        content_type = excluded.content_type, size = excluded.size, etag = excluded.etag, version_id = excluded.version_id,
        sequencer = excluded.sequencer, last_modified = excluded.last_modified, status = excluded.status, error = excluded.error,
        text = excluded.text, truncated = excluded.truncated, pages = excluded.pages, ocr_pages = excluded.ocr_pages,
        thumbnail = excluded.thumbnail, indexed_at = excluded.indexed_at, ${META_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')},
        sha256 = excluded.sha256, extractor_version = excluded.extractor_version
      WHERE seq_newer(excluded.sequencer, documents.sequencer)`);
    this.#remove = db.prepare('DELETE FROM documents WHERE id = :id AND seq_newer(:sequencer, sequencer) RETURNING rowid');
    this.#get = db.prepare('SELECT * FROM documents WHERE id = ?');
    this.#tombstone = db.prepare('SELECT sequencer FROM deletions WHERE id = ?');
    this.#bury = db.prepare(`INSERT INTO deletions (id, sequencer) VALUES (:id, :sequencer)
      ON CONFLICT(id) DO UPDATE SET sequencer = excluded.sequencer WHERE seq_newer(excluded.sequencer, deletions.sequencer)`);
    this.#unbury = db.prepare('DELETE FROM deletions WHERE id = ?');
    this.#rowidOf = db.prepare('SELECT rowid FROM documents WHERE id = ?');
    this.#dropGrams = db.prepare(`DELETE FROM ${GRAMS_TABLE} WHERE rowid = ?`);
    this.#putGrams = db.prepare(`INSERT INTO ${GRAMS_TABLE}(rowid, grams) VALUES (?, ?)`);
    this.#db = db;
  }

  #require(): DatabaseSync {
    if (!this.#db) throw new Error('SqliteIndex used before init()');
    return this.#db;
  }

  /**
   * One transaction per batch. BEGIN IMMEDIATE takes the write lock before the first read, so two
   * processes on one file queue for it (busy timeout, then async retries) instead of failing the
   * upgrade from reader to writer. A lock that cannot be had is retryable, never a rejection.
   */
  async write(ops: IndexOp[]): Promise<IndexItemResult[]> {
    const db = this.#require();
    return whileBusy(`writing to ${this.path}`, () => this.#writeOnce(db, ops));
  }

  #writeOnce(db: DatabaseSync, ops: IndexOp[]): IndexItemResult[] {
    const results: IndexItemResult[] = [];
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const op of ops) {
        try {
          if (op.kind === 'upsert') {
            const d = op.doc;
            const removed = this.#tombstone.get(d.id) as { sequencer: string } | undefined;
            if (removed && d.sequencer && compareSequencers(d.sequencer, removed.sequencer) <= 0) {
              results.push({ ok: true, stale: true });
              continue;
            }
            const r = this.#upsert.run({
              id: d.id, source: d.source, bucket: d.bucket, key: d.key, name: d.name, contentType: d.contentType, size: d.size,
              etag: d.etag ?? null, versionId: d.versionId ?? null, sequencer: d.sequencer ?? null, lastModified: d.lastModified ?? null,
              status: d.status, error: d.error ?? null, text: d.text, truncated: d.truncated ? 1 : 0, pages: d.pages, ocrPages: d.ocrPages,
              thumbnail: d.thumbnail ?? null, indexedAt: d.indexedAt, ...metadataParams(d), sha256: d.sha256 ?? null, extractorVersion: d.extractorVersion ?? null,
            });
            if (r.changes > 0) {
              const { rowid } = this.#rowidOf.get(d.id) as { rowid: number };
              this.#dropGrams.run(rowid);
              this.#putGrams.run(rowid, documentGrams(d.name, d.source, d.text));
            }
            if (r.changes > 0 && removed) this.#unbury.run(d.id);
            results.push(r.changes > 0 ? { ok: true } : { ok: true, stale: true });
          } else {
            for (const { rowid } of this.#remove.all({ id: op.id, sequencer: op.sequencer ?? null }) as Array<{ rowid: number }>) this.#dropGrams.run(rowid);
            if (op.sequencer) this.#bury.run({ id: op.id, sequencer: op.sequencer });
            results.push({ ok: true });
          }
        } catch (err) {
          // A lock or I/O problem is the database's, not the document's: the whole batch is retried.
          if (!isRejection(err)) throw err;
          results.push({ ok: false, error: new IndexRejectedError(0, 'sqlite', errorMessage(err)) });
        }
      }
      db.exec('COMMIT');
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw err;
    }
    return results;
  }

  async get(id: string): Promise<IndexDocument | undefined> {
    this.#require();
    const row = this.#get.get(id) as Row | undefined;
    return row ? toDocument(row) : undefined;
  }

  async states(ids: string[]): Promise<Map<string, StoredState>> {
    const db = this.#require();
    const out = new Map<string, StoredState>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = db.prepare(`SELECT ${STATE_COLUMNS} FROM documents WHERE id IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as Row[];
      for (const r of rows) out.set(String(r.id), toState(r));
    }
    return out;
  }

  async findByHash(sha256: string, extractorVersion: number): Promise<IndexDocument | undefined> {
    const row = this.#require().prepare('SELECT * FROM documents WHERE sha256 = ? AND extractor_version = ? ORDER BY indexed_at DESC LIMIT 1').get(sha256, extractorVersion) as Row | undefined;
    return row ? toDocument(row) : undefined;
  }

  async *scan(bucket: string, prefix: string): AsyncIterable<StoredState> {
    const db = this.#require();
    // Key order within the bucket; the range bounds the prefix without LIKE's escaping.
    const stmt = db.prepare(`SELECT ${STATE_COLUMNS} FROM documents WHERE bucket = ? AND key >= ? AND (? = '' OR key < ?) ORDER BY key`);
    for (const r of stmt.iterate(bucket, prefix, prefix, prefixEnd(prefix)) as Iterable<Row>) yield toState(r);
  }

  async count(): Promise<number> {
    const row = this.#require().prepare('SELECT count(*) AS n FROM documents').get() as { n: number };
    return row.n;
  }

  /** The query side over this same connection (tests of `:memory:` indexes; commands open a read-only SqliteSearch). */
  searcher(): SqliteSearch {
    return new SqliteSearch(this.#require());
  }

  /** The first `limit` hits for free text, best first (a shorthand of searcher() for tests and scripts). */
  async search(text: string, limit = 20): Promise<SearchHit[]> {
    return (await this.searcher().search(buildQuery({ q: text, limit }, { maxPageSize: 10_000 }))).hits;
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
  }
}

const META_COLUMNS = METADATA_FIELD_NAMES.map(columnOf);

/** SQLite has no date type: dates are ISO 8601 TEXT (sortable, and what its date functions read); lists are JSON arrays. */
const COLUMN_TYPE: Record<(typeof METADATA_FIELDS)[MetadataField], string> = { text: 'TEXT', list: 'TEXT', keyword: 'TEXT', date: 'TEXT', integer: 'INTEGER' };

/** Adds the metadata columns a database created by an older version lacks (ALTER TABLE keeps its rows). */
function addMetadataColumns(db: DatabaseSync): void {
  const have = new Set((db.prepare('PRAGMA table_info(documents)').all() as Array<{ name: string }>).map((c) => c.name));
  for (const field of METADATA_FIELD_NAMES) {
    const column = columnOf(field);
    if (!have.has(column)) db.exec(`ALTER TABLE documents ADD COLUMN ${column} ${COLUMN_TYPE[METADATA_FIELDS[field]]}`);
  }
  db.exec('CREATE INDEX IF NOT EXISTS documents_language ON documents(language)');
}

function metadataParams(d: IndexDocument): Record<string, string | number | null> {
  const out: Record<string, string | number | null> = {};
  for (const field of METADATA_FIELD_NAMES) {
    const v = d[field];
    out[field] = v === undefined ? null : Array.isArray(v) ? JSON.stringify(v) : v;
  }
  return out;
}

/** Waited inside SQLite (blocking the thread) for a lock, per attempt: short, so the event loop stays free. */
const BUSY_TIMEOUT_MS = 100;
/** Attempts are repeated, with an async pause, for up to this long before the write counts as failed. */
const BUSY_DEADLINE_MS = 30_000;

/** SQLITE_BUSY / SQLITE_LOCKED (and their extended codes): another connection holds the lock. */
export function isBusy(err: unknown): boolean {
  const e = err as { errcode?: number; message?: string };
  const primary = typeof e?.errcode === 'number' ? e.errcode & 0xff : undefined;
  return primary === 5 || primary === 6 || /database (table )?is locked|SQLITE_BUSY/i.test(e?.message ?? '');
}

/** Errors that are about the op itself (a constraint, a value SQLite refuses), not the database. */
function isRejection(err: unknown): boolean {
  const primary = ((err as { errcode?: number })?.errcode ?? 0) & 0xff;
  // SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_TOOBIG, SQLITE_RANGE; plain JS errors (a bad bind value).
  return primary === 19 || primary === 20 || primary === 18 || primary === 25 || (err as { code?: string })?.code !== 'ERR_SQLITE_ERROR';
}

/** Runs fn, retrying while the database is locked by another connection; then a RetryableError. */
/** Waits between tries while another process holds the write lock: short, jittered so writers interleave. */
const BUSY_BACKOFF: BackoffOptions = { baseMs: 10, maxMs: 250, jitter: 0.5 };

async function whileBusy<T>(what: string, fn: () => T): Promise<T> {
  const deadline = Date.now() + BUSY_DEADLINE_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err)) {
        if ((err as { code?: string })?.code === 'ERR_SQLITE_ERROR') throw new RetryableError(`${what}: ${errorMessage(err)}`, { cause: err });
        throw err;
      }
      if (Date.now() >= deadline) throw new RetryableError(`${what}: ${errorMessage(err)} (still locked after ${BUSY_DEADLINE_MS / 1000} s)`, { cause: err });
      await sleep(backoffMs(attempt, BUSY_BACKOFF));
    }
  }
}

const STATE_COLUMNS = 'id, key, etag, version_id, sha256, extractor_version, status';

function toState(r: Row): StoredState {
  return {
    id: String(r.id),
    key: String(r.key),
    status: String(r.status) as DocStatus,
    ...(r.etag !== null ? { etag: String(r.etag) } : {}),
    ...(r.version_id !== null ? { versionId: String(r.version_id) } : {}),
    ...(r.sha256 !== null ? { sha256: String(r.sha256) } : {}),
    ...(r.extractor_version !== null ? { extractorVersion: Number(r.extractor_version) } : {}),
  };
}

/** The smallest string above every string that starts with `prefix` (for a key range). */
function prefixEnd(prefix: string): string {
  return prefix ? prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1) : '';
}
