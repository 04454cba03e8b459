// Index lifecycle: INDEX_URL names an alias; the documents live in `<alias>-v<mapping version>`.
//
// First start (ensureAlias): if the alias does not exist, create `<alias>-v<MAPPING_VERSION>` with the
// mapping (its version in mappings._meta.mappingVersion) and the alias attached as write index, in one
// request; a worker that loses the race finds the alias. A concrete index already named like the
// alias (a deployment from before aliases) is used as it is, with a warning.
//
// `reindex` (reindexAlias) builds the next version while workers keep writing:
//   1. create `<alias>-v<next>` with the current mapping;
//   2. one atomic _aliases call makes it the alias's write index, attached with a match_none filter so
//      searches still see only the old index (no duplicates, no half-built results);
//   3. `_reindex` old -> new with dest.version_type=external and conflicts=proceed: a document the
//      workers already wrote to the new index carries an S3-sequencer version at least as new as the
//      old copy, so the old copy is refused (409) instead of overwriting it; a delete made during
//      the window leaves a tombstone (kept for index.gc_deletes) that refuses the old copy too;
//   4. catch-up pass: the same _reindex again for documents indexed since shortly before step 2, for
//      bulk requests that resolved the alias to the old index just before the swap and landed after
//      the first pass read it;
//   5. one atomic _aliases call: drop the filter, detach the old index. The old index is kept (the
//      command prints how to delete it).
// Ops without an S3 sequencer use internal versions, and for those step 3 cannot tell old from new:
// see docs/operations.md ("Reindexing").
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@opensearch-project/opensearch';
import { ConfigError, WorkerError } from '../errors.ts';
import type { Logger } from '../telemetry/log.ts';

/** What a request to the cluster needs: the client and per-request options (no client-side retries). */
export type ClusterAccess = { client: Client; requestOptions: { maxRetries: number; requestTimeout: number } };

type Json = Record<string, unknown>;

export function versionedIndexName(alias: string, version: number): string {
  return `${alias}-v${version}`;
}

async function call<T = Json>(c: ClusterAccess, method: string, path: string, body?: Json, querystring?: Record<string, string>): Promise<{ status: number; body: T }> {
  const res = await c.client.transport.request({ method, path, ...(body !== undefined ? { body } : {}), ...(querystring ? { querystring } : {}) }, c.requestOptions);
  return { status: res.statusCode ?? 200, body: res.body as T };
}

function statusOf(err: unknown): number | undefined {
  const e = err as { statusCode?: number; meta?: { statusCode?: number } };
  return e?.statusCode ?? e?.meta?.statusCode;
}

function errorType(err: unknown): string | undefined {
  const body = (err as { meta?: { body?: { error?: { type?: string } } }; body?: { error?: { type?: string } } })?.meta?.body ?? (err as { body?: { error?: { type?: string } } }).body;
  return typeof body?.error === 'object' ? body.error?.type : undefined;
}

/** alias -> its indices and how each is attached; undefined when no such alias. */
export async function aliasTargets(c: ClusterAccess, alias: string): Promise<Map<string, { isWriteIndex?: boolean; filter?: Json }> | undefined> {
  try {
    // GET /<alias>/_alias/<alias> rather than /_alias/<alias>: every path stays under the index name,
    // which is what the worker's IAM policy grants (deploy/iam-policy.json).
    const { body } = await call<Record<string, { aliases?: Record<string, { is_write_index?: boolean; filter?: Json }> }>>(c, 'GET', `/${encodeURIComponent(alias)}/_alias/${encodeURIComponent(alias)}`);
    const out = new Map<string, { isWriteIndex?: boolean; filter?: Json }>();
    for (const [index, v] of Object.entries(body ?? {})) {
      const a = v.aliases?.[alias];
      if (!a) continue;
      out.set(index, { ...(a.is_write_index !== undefined ? { isWriteIndex: a.is_write_index } : {}), ...(a.filter ? { filter: a.filter } : {}) });
    }
    return out.size > 0 ? out : undefined;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/** HEAD /<name>: the client resolves a 404 on HEAD instead of throwing. */
async function indexExists(c: ClusterAccess, name: string): Promise<boolean> {
  try {
    return (await call(c, 'HEAD', `/${encodeURIComponent(name)}`)).status === 200;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw err;
  }
}

function writeIndexOf(targets: Map<string, { isWriteIndex?: boolean }>): string | undefined {
  if (targets.size === 1) return [...targets.keys()][0];
  return [...targets].find(([, t]) => t.isWriteIndex)?.[0];
}

async function mappingVersionOf(c: ClusterAccess, index: string): Promise<number | undefined> {
  const { body } = await call<Record<string, { mappings?: { _meta?: { mappingVersion?: unknown } } }>>(c, 'GET', `/${encodeURIComponent(index)}/_mapping`);
  const v = body?.[index]?.mappings?._meta?.mappingVersion;
  return typeof v === 'number' ? v : undefined;
}

export type AliasState = { alias: string; writeIndex: string; mappingVersion: number | undefined; legacy: boolean };

/**
 * Makes sure `alias` exists and points at a versioned index, creating `<alias>-v<version>` with
 * `definition` on first start. Safe when several workers start at once.
 */
export async function ensureAlias(c: ClusterAccess, alias: string, version: number, definition: Json, logger: Logger): Promise<AliasState> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const targets = await aliasTargets(c, alias);
    if (targets) {
      const writeIndex = writeIndexOf(targets);
      if (!writeIndex) throw new ConfigError('INDEX_URL', `alias ${alias} points at ${[...targets.keys()].join(', ')} and none is its write index`);
      const mappingVersion = await mappingVersionOf(c, writeIndex);
      if (mappingVersion !== undefined && mappingVersion < version) {
        logger.warn({ alias, index: writeIndex, mappingVersion, current: version }, 'the index has an older mapping; run `filesearch-worker reindex` to move to the current one');
      }
      return { alias, writeIndex, mappingVersion, legacy: false };
    }
    const exists = await indexExists(c, alias);
    if (exists) {
      logger.warn({ index: alias }, 'INDEX_URL names a concrete index, not an alias; writing to it as it is (`filesearch-worker reindex` moves it behind an alias)');
      return { alias, writeIndex: alias, mappingVersion: await mappingVersionOf(c, alias), legacy: true };
    }
    const index = versionedIndexName(alias, version);
    try {
      await call(c, 'PUT', `/${encodeURIComponent(index)}`, { ...definition, aliases: { [alias]: { is_write_index: true } } });
      logger.info({ alias, index, mappingVersion: version }, 'created OpenSearch index behind its alias');
      return { alias, writeIndex: index, mappingVersion: version, legacy: false };
    } catch (err) {
      // Another worker created it between our look and our PUT: look again.
      if (errorType(err) !== 'resource_already_exists_exception') throw err;
    }
  }
  throw new WorkerError('retryable', 'RETRYABLE', `alias ${alias}: the index exists but the alias does not appear; another process may be creating it`);
}

export type ReindexOptions = {
  alias: string;
  /** The mapping version the new index gets (usually the code's MAPPING_VERSION). */
  version: number;
  definition: Json;
  logger: Logger;
  /** How long in-flight bulk requests may still land on the old index after the swap (REINDEX_SETTLE_SECONDS). */
  settleMs: number;
  pollMs?: number;
  now?: () => number;
};

export type ReindexReport = { from: string; to: string; copied: number; conflicts: number; caughtUp: number };

/** Builds the next version of the alias's index and moves the alias to it; see the header. */
export async function reindexAlias(c: ClusterAccess, o: ReindexOptions): Promise<ReindexReport> {
  const { alias, logger } = o;
  const settleMs = o.settleMs;
  const now = o.now ?? Date.now;
  const targets = await aliasTargets(c, alias);
  if (!targets) {
    const exists = await indexExists(c, alias);
    if (!exists) throw new ConfigError('INDEX_URL', `${alias} is neither an alias nor an index: nothing to reindex (the worker creates it on first start)`);
    throw new ConfigError('INDEX_URL', `${alias} is a concrete index; an alias cannot take its name while it exists. Reindex it into ${versionedIndexName(alias, o.version)} by hand, delete it, and add the alias (docs/operations.md)`);
  }
  if (targets.size !== 1) throw new WorkerError('permanent', 'CONFIG', `alias ${alias} points at ${[...targets.keys()].join(', ')}: a reindex is already under way or was interrupted; finish it by hand (docs/operations.md)`);
  const from = [...targets.keys()][0]!;
  const fromVersion = Number(/-v(\d+)$/.exec(from)?.[1] ?? 0);
  const next = Math.max(o.version, fromVersion + 1);
  const to = versionedIndexName(alias, next);
  const definition = structuredClone(o.definition) as { mappings?: { _meta?: Json } };
  definition.mappings = { ...definition.mappings, _meta: { ...definition.mappings?._meta, mappingVersion: next } };
  await call(c, 'PUT', `/${encodeURIComponent(to)}`, definition);
  logger.info({ alias, from, to }, 'created the new index');

  const swappedAt = now();
  await call(c, 'POST', '/_aliases', {
    actions: [
      { add: { index: to, alias, is_write_index: true, filter: { match_none: {} } } },
      { add: { index: from, alias, is_write_index: false } },
    ],
  });
  logger.info({ alias, writeIndex: to }, 'writes now go to the new index; searches still read the old one');
  await sleep(settleMs);

  const first = await runReindex(c, { source: { index: from }, dest: { index: to, version_type: 'external' }, conflicts: 'proceed' }, o.pollMs ?? 1000);
  logger.info({ from, to, copied: first.created + first.updated, conflicts: first.conflicts }, 'copied the old index');
  const since = new Date(swappedAt - settleMs - 60_000).toISOString();
  const second = await runReindex(c, { source: { index: from, query: { range: { indexedAt: { gte: since } } } }, dest: { index: to, version_type: 'external' }, conflicts: 'proceed' }, o.pollMs ?? 1000);
  logger.info({ since, copied: second.created + second.updated, conflicts: second.conflicts }, 'catch-up pass done');

  await call(c, 'POST', '/_aliases', {
    actions: [
      { add: { index: to, alias, is_write_index: true } },
      { remove: { index: from, alias } },
    ],
  });
  logger.info({ alias, index: to }, 'alias moved to the new index');
  return { from, to, copied: first.created + first.updated, conflicts: first.conflicts, caughtUp: second.created + second.updated };
}

type ReindexCounts = { created: number; updated: number; conflicts: number };

async function runReindex(c: ClusterAccess, body: Json, pollMs: number): Promise<ReindexCounts> {
  // As a task: a large index takes longer than any sensible request timeout.
  const { body: started } = await call<{ task?: string }>(c, 'POST', '/_reindex', body, { wait_for_completion: 'false' });
  if (!started?.task) throw new WorkerError('retryable', 'RETRYABLE', `_reindex did not return a task: ${JSON.stringify(started).slice(0, 200)}`);
  for (;;) {
    const { body: t } = await call<{ completed?: boolean; error?: unknown; response?: { created?: number; updated?: number; version_conflicts?: number; failures?: unknown[] } }>(
      c, 'GET', `/_tasks/${encodeURIComponent(started.task)}`,
    );
    if (t?.completed) {
      if (t.error) throw new WorkerError('retryable', 'RETRYABLE', `_reindex task ${started.task} failed: ${JSON.stringify(t.error).slice(0, 500)}`);
      const failures = t.response?.failures ?? [];
      if (failures.length > 0) throw new WorkerError('retryable', 'RETRYABLE', `_reindex task ${started.task}: ${failures.length} documents failed, e.g. ${JSON.stringify(failures[0]).slice(0, 300)}`);
      return { created: t.response?.created ?? 0, updated: t.response?.updated ?? 0, conflicts: t.response?.version_conflicts ?? 0 };
    }
    await sleep(pollMs);
  }
}

