// The embedded index: node:sqlite with an FTS5 table using the trigram tokenizer, which matches any
// substring of 3+ characters — Japanese has no spaces between words. Shorter query terms (two-kanji
// words are common) fall back to a LIKE scan. Upserts never let an older S3 event (by sequencer)
// overwrite a newer one, nor bring back a document that a newer event removed.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { IndexRejectedError, errorMessage } from '../errors.ts';
import { compareSequencers } from '../ids.ts';
import type { DocStatus, IndexDocument, IndexItemResult, IndexOp, QueryableIndex, SearchHit } from '../types.ts';

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
  indexed_at TEXT NOT NULL
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

type Row = Record<string, string | number | null>;

export class SqliteIndex implements QueryableIndex {
  readonly kind = 'sqlite';
  readonly path: string;
  #db: DatabaseSync | undefined;
  #upsert!: StatementSync;
  #remove!: StatementSync;
  #get!: StatementSync;
  #tombstone!: StatementSync;
  #bury!: StatementSync;
  #unbury!: StatementSync;

  constructor(path: string) {
    this.path = path;
  }

  async init(): Promise<void> {
    if (this.#db) return;
    if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
    const db = new DatabaseSync(this.path);
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    db.exec(SCHEMA);
    // seq_newer(incoming, stored): may the incoming op replace what is stored?
    db.function('seq_newer', { deterministic: true }, (incoming, stored) =>
      incoming == null || stored == null || compareSequencers(String(incoming), String(stored)) >= 0 ? 1 : 0,
    );
    this.#upsert = db.prepare(`
      INSERT INTO documents (id, source, bucket, key, name, content_type, size, etag, version_id, sequencer, last_modified,
        status, error, text, truncated, pages, ocr_pages, thumbnail, indexed_at)
      VALUES (:id, :source, :bucket, :key, :name, :contentType, :size, :etag, :versionId, :sequencer, :lastModified,
        :status, :error, :text, :truncated, :pages, :ocrPages, :thumbnail, :indexedAt)
      ON CONFLICT(id) DO UPDATE SET source = excluded.source, bucket = excluded.bucket, key = excluded.key, name = excluded.name,
        content_type = excluded.content_type, size = excluded.size, etag = excluded.etag, version_id = excluded.version_id,
        sequencer = excluded.sequencer, last_modified = excluded.last_modified, status = excluded.status, error = excluded.error,
        text = excluded.text, truncated = excluded.truncated, pages = excluded.pages, ocr_pages = excluded.ocr_pages,
        thumbnail = excluded.thumbnail, indexed_at = excluded.indexed_at
      WHERE seq_newer(excluded.sequencer, documents.sequencer)`);
    this.#remove = db.prepare('DELETE FROM documents WHERE id = :id AND seq_newer(:sequencer, sequencer)');
    this.#get = db.prepare('SELECT * FROM documents WHERE id = ?');
    this.#tombstone = db.prepare('SELECT sequencer FROM deletions WHERE id = ?');
    this.#bury = db.prepare(`INSERT INTO deletions (id, sequencer) VALUES (:id, :sequencer)
      ON CONFLICT(id) DO UPDATE SET sequencer = excluded.sequencer WHERE seq_newer(excluded.sequencer, deletions.sequencer)`);
    this.#unbury = db.prepare('DELETE FROM deletions WHERE id = ?');
    this.#db = db;
  }

  #require(): DatabaseSync {
    if (!this.#db) throw new Error('SqliteIndex used before init()');
    return this.#db;
  }

  async write(ops: IndexOp[]): Promise<IndexItemResult[]> {
    const db = this.#require();
    const results: IndexItemResult[] = [];
    db.exec('BEGIN');
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
              thumbnail: d.thumbnail ?? null, indexedAt: d.indexedAt,
            });
            if (r.changes > 0 && removed) this.#unbury.run(d.id);
            results.push(r.changes > 0 ? { ok: true } : { ok: true, stale: true });
          } else {
            this.#remove.run({ id: op.id, sequencer: op.sequencer ?? null });
            if (op.sequencer) this.#bury.run({ id: op.id, sequencer: op.sequencer });
            results.push({ ok: true });
          }
        } catch (err) {
          results.push({ ok: false, error: new IndexRejectedError(0, 'sqlite', errorMessage(err)) });
        }
      }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
    return results;
  }

  async get(id: string): Promise<IndexDocument | undefined> {
    this.#require();
    const row = this.#get.get(id) as Row | undefined;
    return row ? toDocument(row) : undefined;
  }

  async *dump(): AsyncIterable<IndexDocument> {
    const db = this.#require();
    for (const row of db.prepare('SELECT * FROM documents ORDER BY source').iterate() as Iterable<Row>) yield toDocument(row);
  }

  async count(): Promise<number> {
    const row = this.#require().prepare('SELECT count(*) AS n FROM documents').get() as { n: number };
    return row.n;
  }

  /** Every term must appear (AND). Terms of 3+ characters use the trigram index; shorter ones a LIKE scan. */
  async search(query: string, limit: number): Promise<SearchHit[]> {
    const db = this.#require();
    const terms = query.split(/[\s\u3000]+/).map((t) => t.trim()).filter(Boolean);
    if (terms.length === 0) return [];
    const long = terms.filter((t) => [...t].length >= 3);
    const short = terms.filter((t) => [...t].length < 3);
    const params: Record<string, string | number> = { limit };
    const where: string[] = [];
    short.forEach((t, i) => {
      params[`s${i}`] = `%${t.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      where.push(`(d.text LIKE :s${i} ESCAPE '\\' OR d.name LIKE :s${i} ESCAPE '\\')`);
    });
    let sql: string;
    if (long.length > 0) {
      params.match = long.map((t) => `"${t.replace(/"/g, '""')}"`).join(' AND ');
      sql = `SELECT d.id, d.source, d.name, d.status, bm25(documents_fts) AS score,
               snippet(documents_fts, 2, '[', ']', '…', 64) AS snippet, d.text AS text
             FROM documents_fts JOIN documents d ON d.rowid = documents_fts.rowid
             WHERE documents_fts MATCH :match ${where.length ? `AND ${where.join(' AND ')}` : ''}
             ORDER BY score LIMIT :limit`;
    } else {
      sql = `SELECT d.id, d.source, d.name, d.status, 0 AS score, '' AS snippet, d.text AS text FROM documents d
             WHERE ${where.join(' AND ')} ORDER BY d.source LIMIT :limit`;
    }
    const rows = db.prepare(sql).all(params) as Row[];
    return rows.map((r) => ({
      id: String(r.id),
      source: String(r.source),
      name: String(r.name),
      status: String(r.status) as DocStatus,
      score: -Number(r.score),
      snippet: r.snippet ? String(r.snippet) : likeSnippet(String(r.text ?? ''), short[0] ?? terms[0]!),
    }));
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
  }
}

function likeSnippet(text: string, term: string): string {
  const i = text.indexOf(term);
  if (i < 0) return text.slice(0, 80).replace(/\s+/g, ' ');
  const start = Math.max(0, i - 30);
  return `${start > 0 ? '…' : ''}${text.slice(start, i)}[${term}]${text.slice(i + term.length, i + term.length + 30)}…`.replace(/\s+/g, ' ');
}

function toDocument(r: Row): IndexDocument {
  const opt = (v: string | number | null) => (v === null ? undefined : String(v));
  const doc: IndexDocument = {
    id: String(r.id), source: String(r.source), bucket: String(r.bucket), key: String(r.key), name: String(r.name),
    contentType: String(r.content_type), size: Number(r.size), status: String(r.status) as DocStatus, text: String(r.text),
    truncated: Number(r.truncated) === 1, pages: Number(r.pages), ocrPages: Number(r.ocr_pages), indexedAt: String(r.indexed_at),
  };
  const extra: Array<[keyof IndexDocument, string | number | null | undefined]> = [
    ['etag', r.etag], ['versionId', r.version_id], ['sequencer', r.sequencer], ['lastModified', r.last_modified], ['error', r.error], ['thumbnail', r.thumbnail],
  ];
  for (const [k, v] of extra) if (v !== null && v !== undefined) (doc as Record<string, unknown>)[k] = opt(v);
  return doc;
}
