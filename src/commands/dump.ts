// `dump`: every indexed document as one JSON object a line, from SQLite or OpenSearch.
import type { SearchBackend } from '../search/query.ts';

export async function runDumpCommand(backend: SearchBackend): Promise<number> {
  try {
    for await (const doc of backend.dump()) {
      // Every field is present on every line (null when unknown), so consumers need no special cases.
      const line = { ...doc, error: doc.error ?? null, thumbnail: doc.thumbnail ?? null };
      if (!process.stdout.write(`${JSON.stringify(line)}\n`)) await new Promise((r) => process.stdout.once('drain', r));
    }
    return 0;
  } finally {
    await backend.close();
  }
}
