// `reindex`: builds the next version of the OpenSearch index behind the INDEX_URL alias with the
// current mapping and moves the alias to it, while workers keep writing (see
// src/adapters/opensearch-lifecycle.ts for how no update is lost). Needs more rights than the worker:
// _reindex, _aliases and _tasks (docs/operations.md, "Reindexing").
import type { Config } from '../config.ts';
import type { Logger } from '../telemetry/log.ts';
import { errorMessage } from '../errors.ts';
import { MAPPING_VERSION, OPENSEARCH_INDEX_DEFAULTS, OpenSearchIndex, indexDefinition } from '../adapters/opensearch-index.ts';
import { reindexAlias } from '../adapters/opensearch-lifecycle.ts';

export async function runReindexCommand(config: Config, logger: Logger, o: { settleSeconds: number }): Promise<number> {
  const target = config.index;
  if (target.kind !== 'opensearch') {
    console.error('reindex: INDEX_URL must name an OpenSearch alias (http(s)://host/alias); the SQLite index needs no reindex');
    return 2;
  }
  if (target.auth.kind === 'sigv4' && target.auth.service === 'aoss') {
    console.error('reindex: not supported on OpenSearch Serverless (the worker writes to the index directly there); see docs/operations.md');
    return 2;
  }
  const index = new OpenSearchIndex({ node: target.node, index: target.index, auth: target.auth, logger });
  try {
    const report = await reindexAlias(
      { client: index.client, requestOptions: { maxRetries: 0, requestTimeout: OPENSEARCH_INDEX_DEFAULTS.requestTimeoutMs } },
      { alias: target.index, version: MAPPING_VERSION, definition: indexDefinition(OPENSEARCH_INDEX_DEFAULTS.gcDeletes), logger, settleMs: o.settleSeconds * 1000 },
    );
    console.log(`alias ${target.index} now points at ${report.to} (copied ${report.copied}, kept ${report.conflicts} newer documents, caught up ${report.caughtUp}).`);
    console.log(`The old index ${report.from} is kept; delete it when satisfied: DELETE /${report.from}`);
    return 0;
  } catch (err) {
    console.error(`reindex: ${errorMessage(err)}`);
    return 1;
  } finally {
    await index.close();
  }
}
