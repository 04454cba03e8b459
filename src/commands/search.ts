// `search <words…>`: the query model from the terminal, against whichever index INDEX_URL (or --db)
// names. Filters as flags; pages are followed until --limit hits are printed.
import { parseArgs } from 'node:util';
import { QueryError } from '../errors.ts';
import { buildQuery, QUERY_LIMITS, type QueryInput, type SearchBackend } from '../search/query.ts';
import { snippetToText } from '../search/snippet.ts';

export const SEARCH_USAGE = `search <words…> [--db FILE] [--json] [--limit N] [--status S] [--type MIME] [--lang ja]
         [--folder PREFIX] [--from DATE] [--to DATE] [--sort relevance|date]`;

const MAX_CLI_HITS = 10_000;

export async function runSearchCommand(args: string[], open: (db: string | undefined) => Promise<SearchBackend>): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      db: { type: 'string' }, json: { type: 'boolean' }, limit: { type: 'string' }, status: { type: 'string', multiple: true },
      type: { type: 'string', multiple: true }, lang: { type: 'string', multiple: true }, folder: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, sort: { type: 'string' },
    },
  });
  const wanted = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > MAX_CLI_HITS) {
    console.error(`search: --limit must be 1..${MAX_CLI_HITS}, got ${values.limit}`);
    return 2;
  }
  const input: QueryInput = {
    q: positionals.join(' '), status: (values.status ?? []).flatMap((s) => s.split(',')), type: (values.type ?? []).flatMap((s) => s.split(',')), lang: (values.lang ?? []).flatMap((s) => s.split(',')),
    folder: values.folder, from: values.from, to: values.to, sort: values.sort,
  };
  if (!input.q?.trim() && !input.status?.length && !input.type?.length && !input.lang?.length && !input.folder && !input.from && !input.to) {
    console.error(`search: give words to search for, or a filter\nusage: ${SEARCH_USAGE}`);
    return 2;
  }
  let backend: SearchBackend | undefined;
  try {
    backend = await open(values.db);
    let printed = 0;
    let total = 0;
    let cursor: string | undefined;
    do {
      const page = await backend.search(buildQuery({ ...input, limit: Math.min(QUERY_LIMITS.maxPageSize, wanted - printed), cursor }));
      total = page.total;
      for (const h of page.hits) {
        if (values.json) console.log(JSON.stringify(h));
        else console.log(`${h.source}  [${h.status}]\n    ${snippetToText(h.snippet)}`);
      }
      printed += page.hits.length;
      cursor = page.nextCursor ?? undefined;
    } while (cursor && printed < wanted);
    if (!values.json) console.log(total === 0 ? `no documents match ${JSON.stringify(input.q?.trim() ?? '')}` : `${printed} of ${total} document(s)`);
    return 0;
  } catch (err) {
    if (err instanceof QueryError) {
      console.error(`search: ${err.message}`);
      return 2;
    }
    throw err;
  } finally {
    await backend?.close();
  }
}
