// `dump`: every document of the local SQLite index, one JSON object a line.
import type { Config } from '../config.ts';
import { openLocalIndex } from '../wiring.ts';

export async function runDumpCommand(config: Config, db: string | undefined): Promise<number> {
  const index = openLocalIndex(config, db);
  await index.init();
  for await (const doc of index.dump()) {
    // Every field is present on every line (null when unknown), so consumers need no special cases.
    const line = { ...doc, error: doc.error ?? null, thumbnail: doc.thumbnail ?? null };
    if (!process.stdout.write(`${JSON.stringify(line)}\n`)) await new Promise((r) => process.stdout.once('drain', r));
  }
  await index.close();
  return 0;
}
