// Index lifecycle (issue 12): INDEX_URL names an alias; the first start creates `<alias>-v<mapping
// version>` with the mapping (version in _meta) and points the alias at it; `reindex` builds the next
// version while the worker keeps writing and swaps the alias atomically, losing no update.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAPPING_VERSION, OpenSearchIndex, indexDefinition } from '../src/adapters/opensearch-index.ts';
import { reindexAlias } from '../src/adapters/opensearch-lifecycle.ts';
import { documentId } from '../src/ids.ts';
import { createLogger } from '../src/telemetry/log.ts';
import type { IndexDocument, IndexOp } from '../src/types.ts';
import { startOpenSearchDouble, type OpenSearchDouble } from './helpers/opensearch-double.ts';

const logger = createLogger('silent');

function doc(key: string, sequencer: string, text: string): IndexDocument {
  return {
    id: documentId('b', key), source: `s3://b/${key}`, bucket: 'b', key, name: key, contentType: 'text/plain', size: text.length, status: 'ok',
    text, truncated: false, pages: 1, ocrPages: 0, indexedAt: new Date().toISOString(), sequencer,
  };
}

/** Increasing S3-style sequencers (18 hex digits, starting 00). */
let seq = 0x55aed6dcd9000000n;
function nextSequencer(): string {
  seq += 1n;
  return seq.toString(16).toUpperCase().padStart(18, '0');
}

async function setup(t: import('node:test').TestContext, o: { reindexBatch?: number; reindexStepMs?: number } = {}) {
  const double = await startOpenSearchDouble({ reindexBatch: o.reindexBatch ?? 5, reindexStepMs: o.reindexStepMs ?? 5 });
  const index = new OpenSearchIndex({ node: double.url, index: 'files', maxRetries: 2, backoffBaseMs: 1, backoffMaxMs: 5, logger });
  t.after(async () => {
    await index.close();
    await double.stop();
  });
  return { double, index };
}

function aliasView(double: OpenSearchDouble) {
  return Object.fromEntries([...(double.aliases.get('files') ?? [])].map(([i, e]) => [i, e]));
}

test('first start creates files-v<N> with the mapping version in _meta and points the alias at it; later starts reuse it', async (t) => {
  const { double, index } = await setup(t);
  await index.init();
  const name = `files-v${MAPPING_VERSION}`;
  assert.deepEqual(aliasView(double), { [name]: { isWriteIndex: true } });
  assert.equal((double.indices.get(name)?.mappings?._meta as { mappingVersion?: number }).mappingVersion, MAPPING_VERSION);
  assert.equal(double.indices.has('files'), false, 'no concrete index takes the alias name');
  assert.deepEqual(index.aliasState, { alias: 'files', writeIndex: name, mappingVersion: MAPPING_VERSION, legacy: false });
  // Writes through the alias land in the versioned index.
  const d = doc('a.txt', nextSequencer(), 'alpha');
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: d }]), [{ ok: true }]);
  assert.equal(double.docs.get(name)?.get(d.id)?.source.text, 'alpha');
  // A second worker, and one that loses the creation race, find the alias; the index is created once.
  const second = new OpenSearchIndex({ node: double.url, index: 'files', logger });
  await second.init();
  await second.close();
  const uuid = double.indices.get(name)?.uuid;
  double.faults.next(1, { status: 404 }, (r) => r.method === 'GET' && r.path === '/files/_alias/files');
  const third = new OpenSearchIndex({ node: double.url, index: 'files', logger });
  await third.init();
  await third.close();
  assert.equal(double.indices.get(name)?.uuid, uuid);
  assert.equal(double.indices.size, 1);
});

test('a concrete index already named like the alias (before aliases) is used as it is', async (t) => {
  const { double, index } = await setup(t);
  const legacy = new OpenSearchIndex({ node: double.url, index: 'files', aliases: false, logger });
  await legacy.init();
  await legacy.close();
  await index.init();
  assert.equal(index.aliasState?.legacy, true);
  assert.equal(double.aliases.size, 0);
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: doc('b.txt', nextSequencer(), 'beta') }]), [{ ok: true }]);
  assert.equal(double.docs.get('files')?.size, 1);
});

test('reindex while events keep flowing: the alias moves to the new index and no document is missing or stale', async (t) => {
  const { double, index } = await setup(t, { reindexBatch: 4, reindexStepMs: 5 });
  await index.init();
  // The expected end state: key -> latest text, or null when the latest event deleted it.
  const expected = new Map<string, string | null>();
  const apply = async (ops: Array<{ key: string; text: string | null }>) => {
    const batch: IndexOp[] = ops.map(({ key, text }) => {
      const s = nextSequencer();
      return text === null ? { kind: 'remove', id: documentId('b', key), sequencer: s } : { kind: 'upsert', doc: doc(key, s, text) };
    });
    const results = await index.write(batch);
    results.forEach((r, i) => {
      assert.ok(r.ok && !r.stale, `op ${i} failed: ${JSON.stringify(r)}`);
      expected.set(ops[i]!.key, ops[i]!.text);
    });
  };
  const keys = Array.from({ length: 120 }, (_, i) => `docs/${i}.txt`);
  for (let i = 0; i < keys.length; i += 20) await apply(keys.slice(i, i + 20).map((key) => ({ key, text: `v0 ${key}` })));

  let reindexDone = false;
  let round = 0;
  let swappedWhileWriting = false;
  const writer = (async () => {
    // Updates, deletes, re-creations and new keys, until the reindex has finished.
    while (!reindexDone) {
      round++;
      const ops: Array<{ key: string; text: string | null }> = [];
      for (let j = 0; j < 6; j++) {
        const n = (round * 7 + j * 13) % 140; // keys 120..139 are new ones
        const key = `docs/${n}.txt`;
        ops.push({ key, text: (round + j) % 5 === 0 ? null : `v${round} ${key}` });
      }
      // One op per key per batch, so a batch has no ordering question of its own.
      const unique = [...new Map(ops.map((o) => [o.key, o])).values()];
      await apply(unique);
      if ((double.aliases.get('files')?.size ?? 0) === 2) swappedWhileWriting = true;
      await new Promise((r) => setTimeout(r, 3));
    }
  })();
  const report = await reindexAlias(
    { client: index.client, requestOptions: { maxRetries: 0, requestTimeout: 5_000 } },
    { alias: 'files', version: MAPPING_VERSION, definition: indexDefinition('1h'), logger, settleMs: 30, pollMs: 10 },
  );
  reindexDone = true;
  await writer;

  assert.ok(swappedWhileWriting, 'the writer wrote while both indices were behind the alias');
  assert.ok(round > 10, `events kept flowing during the reindex (${round} rounds)`);
  assert.equal(report.from, `files-v${MAPPING_VERSION}`);
  assert.equal(report.to, `files-v${MAPPING_VERSION + 1}`);
  assert.deepEqual(aliasView(double), { [report.to]: { isWriteIndex: true } }, 'the alias points at the new index only, unfiltered');
  assert.equal((double.indices.get(report.to)?.mappings?._meta as { mappingVersion?: number }).mappingVersion, MAPPING_VERSION + 1);
  assert.ok(report.conflicts > 0, 'some old copies were refused because the worker had written newer ones');

  const visible = double.readDocs('files');
  const missing: string[] = [];
  const stale: string[] = [];
  const resurrected: string[] = [];
  for (const [key, text] of expected) {
    const got = visible.get(documentId('b', key))?.source.text;
    if (text === null && got !== undefined) resurrected.push(key);
    else if (text !== null && got === undefined) missing.push(key);
    else if (text !== null && got !== text) stale.push(`${key}: ${String(got)} != ${text}`);
  }
  assert.deepEqual({ missing, stale, resurrected }, { missing: [], stale: [], resurrected: [] });
  assert.equal(visible.size, [...expected.values()].filter((v) => v !== null).length);
});

test('a write that lands on the old index just after the swap is carried over by the catch-up pass', async (t) => {
  const { double, index } = await setup(t, { reindexBatch: 1000, reindexStepMs: 1 });
  await index.init();
  const early = doc('early.txt', nextSequencer(), 'early');
  await index.write([{ kind: 'upsert', doc: early }]);
  const late = doc('late.txt', nextSequencer(), 'late');
  const from = `files-v${MAPPING_VERSION}`;
  // A bulk request that resolved the alias before the swap and is applied after the first copy:
  // simulated by writing straight to the old index once the first _reindex has been started.
  const original = double.tasks.set.bind(double.tasks);
  let injected = false;
  double.tasks.set = (id, task) => {
    const out = original(id, task);
    if (!injected) {
      injected = true;
      setTimeout(() => double.docs.get(from)?.set(late.id, { source: { ...late }, version: 1n << 40n, seqNo: 999 }), 0);
    }
    return out;
  };
  const report = await reindexAlias(
    { client: index.client, requestOptions: { maxRetries: 0, requestTimeout: 5_000 } },
    { alias: 'files', version: MAPPING_VERSION, definition: indexDefinition('1h'), logger, settleMs: 0, pollMs: 5 },
  );
  const visible = double.readDocs('files');
  assert.equal(visible.get(early.id)?.source.text, 'early');
  assert.equal(visible.get(late.id)?.source.text, 'late', 'the catch-up pass copied the late write');
  assert.ok(report.caughtUp >= 1);
});

test('reindex refuses an alias that already points at two indices (an interrupted reindex)', async (t) => {
  const { double, index } = await setup(t);
  await index.init();
  double.indices.set('files-v9', { uuid: 'x', settings: {}, mappings: {} });
  double.docs.set('files-v9', new Map());
  double.tombstones.set('files-v9', new Map());
  double.aliases.get('files')!.set('files-v9', { isWriteIndex: false });
  await assert.rejects(
    reindexAlias({ client: index.client, requestOptions: { maxRetries: 0, requestTimeout: 5_000 } }, { alias: 'files', version: MAPPING_VERSION, definition: indexDefinition('1h'), logger, settleMs: 0 }),
    /already under way or was interrupted/,
  );
});

test('the reindex command moves the alias of INDEX_URL and says what it did', async (t) => {
  const { double, index } = await setup(t, { reindexBatch: 100, reindexStepMs: 1 });
  await index.init();
  await index.write([{ kind: 'upsert', doc: doc('c.txt', nextSequencer(), 'gamma') }]);
  const { execFile } = await import('node:child_process');
  const run = (env: Record<string, string>) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['src/cli.ts', 'reindex', '--settle-seconds', '0'], { env: { PATH: process.env.PATH ?? '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
  const ok = await run({ INDEX_URL: `${double.url}/files` });
  assert.equal(ok.code, 0, ok.stderr);
  const to = `files-v${MAPPING_VERSION + 1}`;
  assert.match(ok.stdout, new RegExp(`alias files now points at ${to}`));
  assert.deepEqual(aliasView(double), { [to]: { isWriteIndex: true } });
  assert.equal(double.readDocs('files').get(documentId('b', 'c.txt'))?.source.text, 'gamma');
  const sqlite = await run({ INDEX_URL: 'sqlite:/tmp/x.db' });
  assert.equal(sqlite.code, 2);
  assert.match(sqlite.stderr, /needs no reindex/);
});
