// `dump`: every indexed document as one JSON object a line, from SQLite or OpenSearch.
import type { SearchBackend } from '../search/query.ts';
import { METADATA_FIELD_NAMES, type IndexDocument } from '../types.ts';

export async function runDumpCommand(backend: SearchBackend): Promise<number> {
  try {
    for await (const doc of backend.dump()) {
      // Every field is present on every line (null when unknown), so consumers need no special cases.
      const line = { ...doc, error: doc.error ?? null, thumbnail: doc.thumbnail ?? null, ...metadataOrNull(doc) };
      if (!process.stdout.write(`${JSON.stringify(line)}\n`)) await new Promise((r) => process.stdout.once('drain', r));
    }
    return 0;
  } finally {
    await backend.close();
  }
}

/** Every metadata field, null where the document has none. */
function metadataOrNull(doc: IndexDocument): Record<string, unknown> {
  return Object.fromEntries(METADATA_FIELD_NAMES.map((f) => [f, doc[f] ?? null]));
}
