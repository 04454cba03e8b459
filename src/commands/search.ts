// `search <query>`: full-text search of the local SQLite index, as lines for people or JSON lines.
import type { Config } from '../config.ts';
import { openLocalIndex } from '../wiring.ts';

export type SearchCommandOptions = { query: string; db: string | undefined; json: boolean; limit: number };

export async function runSearchCommand(config: Config, o: SearchCommandOptions): Promise<number> {
  const index = openLocalIndex(config, o.db);
  await index.init();
  const hits = await index.search(o.query, o.limit);
  await index.close();
  if (o.json) for (const h of hits) console.log(JSON.stringify(h));
  else if (hits.length === 0) console.log(`no documents match ${JSON.stringify(o.query)}`);
  else for (const h of hits) console.log(`${h.source}  [${h.status}]\n    ${h.snippet.replace(/\s+/g, ' ').trim()}`);
  return 0;
}
