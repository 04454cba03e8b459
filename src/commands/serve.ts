// `serve`: the search page and its API over the index, until SIGINT/SIGTERM.
import { once } from 'node:events';
import type { Config } from '../config.ts';
import type { Logger } from '../telemetry/log.ts';
import { openSearchBackend, openThumbnailLinks } from '../wiring.ts';
import { startSearchServer } from '../search/http-api.ts';

export async function runServeCommand(config: Config, logger: Logger, o: { db?: string }): Promise<number> {
  const backend = await openSearchBackend(config, o.db);
  try {
    const server = await startSearchServer({
      ...config.serve,
      backend,
      thumbnails: await openThumbnailLinks(config, o.db),
      logger,
    });
    console.log(`search page: ${server.url}/  (${backend.kind} index; Ctrl-C stops)`);
    await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
    await server.close();
    return 0;
  } finally {
    await backend.close();
  }
}
