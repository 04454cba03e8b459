// The columns a query reads for every matching row — filters, facets, sort keys — in a narrow table of
// their own. A `documents` row carries its text inline (a kilobyte or far more), so a query matching
// half of 100,000 documents touched tens of thousands of wide pages; these rows are ~150 bytes, and
// broad queries cost about a third less CPU (bench: `npm run bench -- --only=search`). Triggers keep it
// equal to `documents`; the writer (sqlite-index.ts) creates and backfills it, the reader uses it when
// it exists.

export const LOOKUP_TABLE = 'documents_lookup';

const COLUMNS = 'id, source, status, content_type, language, last_modified';
const NEW_ROW = 'new.rowid, new.id, new.source, new.status, new.content_type, new.language, new.last_modified';

/** Table and triggers (idempotent). Needs the `language` column, so it runs after the metadata columns exist. */
export const LOOKUP_SCHEMA = `
CREATE TABLE IF NOT EXISTS ${LOOKUP_TABLE} (
  rid INTEGER PRIMARY KEY, id TEXT NOT NULL, source TEXT NOT NULL, status TEXT NOT NULL, content_type TEXT NOT NULL, language TEXT, last_modified TEXT
);
CREATE TRIGGER IF NOT EXISTS ${LOOKUP_TABLE}_ai AFTER INSERT ON documents BEGIN
  INSERT OR REPLACE INTO ${LOOKUP_TABLE} (rid, ${COLUMNS}) VALUES (${NEW_ROW});
END;
CREATE TRIGGER IF NOT EXISTS ${LOOKUP_TABLE}_au AFTER UPDATE ON documents BEGIN
  DELETE FROM ${LOOKUP_TABLE} WHERE rid = old.rowid;
  INSERT OR REPLACE INTO ${LOOKUP_TABLE} (rid, ${COLUMNS}) VALUES (${NEW_ROW});
END;
CREATE TRIGGER IF NOT EXISTS ${LOOKUP_TABLE}_ad AFTER DELETE ON documents BEGIN
  DELETE FROM ${LOOKUP_TABLE} WHERE rid = old.rowid;
END;`;

/** Fills the table from the documents an index already holds (run once, when the table is new). */
export const LOOKUP_BACKFILL = `INSERT OR REPLACE INTO ${LOOKUP_TABLE} (rid, ${COLUMNS}) SELECT rowid, ${COLUMNS} FROM documents`;
