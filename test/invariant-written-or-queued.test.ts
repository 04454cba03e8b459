// The invariant of "nothing lost" (issue 16), checked per message across every fault the suite knows how
// to inject: once the worker has stopped, each message is either WRITTEN (its document, or its metadata
// with a status) or STILL QUEUED (on the queue, or in the DLQ after the redrive policy gave up). A
// message deleted with nothing written breaks it. (An object that S3 says is gone — 404/412 — is out of
// scope: there is nothing to write, and a later event describes it.)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { OpenSearchIndex } from '../src/adapters/opensearch-index.ts';
import { documentId } from '../src/ids.ts';
import type { SearchIndex } from '../src/types.ts';
import { startSqsS3Fixture, type SqsS3Fixture } from './helpers/fauxqs.ts';
import { startFaultProxy, type Fault, type FaultProxy, type Match } from './helpers/fault-proxy.ts';
import { startOpenSearchDouble, type OpenSearchDouble, type ItemFaultKind, type RequestFault } from './helpers/opensearch-double.ts';
import { startInProcessWorker, type InProcessWorker } from './helpers/in-process-worker.ts';
import { queuedBodies, until } from './helpers/worker-process.ts';

const root = new URL('..', import.meta.url).pathname;
const KEYS = ['k0.txt', 'k1.txt', 'k2.txt', 'k3.txt'];
/** The key every fault aims at (some faults hit all keys). */
const TARGET = 'k1.txt';

type Ctx = { fx: SqsS3Fixture; proxy: FaultProxy; os?: OpenSearchDouble; tmp: string; db: string; w?: InProcessWorker };
type Scenario = {
  name: string;
  index: 'sqlite' | 'opensearch';
  /** Before the worker starts. */
  before?: (c: Ctx) => void | Promise<void>;
  /** Once the worker runs. */
  during?: (c: Ctx) => void | Promise<void>;
  aws?: { s3SocketIdleTimeoutMs?: number };
  extractFails?: boolean;
};

const s3 = (match: Match, fault: Fault, times?: number) => (c: Ctx) => void c.proxy.inject(match, fault, times);
const target: Match = { operation: 'GetObject', key: (k) => k === TARGET };
const osRequest = (times: number, fault: RequestFault) => (c: Ctx) => c.os!.faults.next(times, fault);
const osItem = (kind: ItemFaultKind, times: number) => (c: Ctx) => c.os!.faults.item(documentId(c.fx.bucket, TARGET), kind, times);

let locker: ChildProcess | undefined;
const SCENARIOS: Scenario[] = [
  { name: 'S3 GetObject 500 (transient)', index: 'sqlite', before: s3({ operation: 'GetObject' }, { kind: 'error', status: 500, code: 'InternalError' }, 4) },
  { name: 'S3 GetObject 503 SlowDown (for good)', index: 'sqlite', before: s3(target, { kind: 'error', status: 503, code: 'SlowDown' }) },
  { name: 'S3 GetObject connection reset', index: 'sqlite', before: s3({ operation: 'GetObject' }, { kind: 'reset' }, 3) },
  { name: 'S3 GetObject body cut mid-way', index: 'sqlite', before: s3({ operation: 'GetObject' }, { kind: 'resetAfterBytes', bytes: 5 }, 3) },
  { name: 'S3 GetObject body stalls', index: 'sqlite', aws: { s3SocketIdleTimeoutMs: 500 }, before: s3(target, { kind: 'stallAfterBytes', bytes: 5 }, 2) },
  { name: 'S3 GetObject 403 AccessDenied (for good)', index: 'sqlite', before: s3(target, { kind: 'error', status: 403, code: 'AccessDenied', message: 'Access Denied' }) },
  { name: 'S3 GetObject 400 KMS.DisabledException', index: 'sqlite', before: s3(target, { kind: 'error', status: 400, code: 'KMS.DisabledException', message: 'key is disabled' }) },
  { name: 'S3 GetObject 403 InvalidObjectState', index: 'sqlite', before: s3(target, { kind: 'error', status: 403, code: 'InvalidObjectState', message: 'archived' }) },
  { name: 'S3 GetObject 400 InvalidRequest', index: 'sqlite', before: s3(target, { kind: 'error', status: 400, code: 'InvalidRequest', message: 'no' }) },
  { name: 'SQS ReceiveMessage throttled', index: 'sqlite', before: s3({ operation: 'ReceiveMessage' }, { kind: 'error', status: 400, code: 'ThrottlingException', message: 'Rate exceeded' }, 4) },
  { name: 'SQS DeleteMessageBatch 500', index: 'sqlite', before: s3({ operation: 'DeleteMessageBatch' }, { kind: 'error', status: 500, code: 'InternalError' }, 6) },
  { name: 'SQS ChangeMessageVisibility 500', index: 'sqlite', before: s3({ operation: ['ChangeMessageVisibility', 'ChangeMessageVisibilityBatch'] }, { kind: 'error', status: 500, code: 'InternalError' }) },
  { name: 'the extract pool crashes on one file', index: 'sqlite', extractFails: true },
  {
    name: 'SQLite locked by another process for 2 s', index: 'sqlite',
    before: (c) => {
      locker = spawn(process.execPath, ['-e', `const { DatabaseSync } = require('node:sqlite'); const d = new DatabaseSync(${JSON.stringify(c.db)}); d.exec('PRAGMA journal_mode = WAL; CREATE TABLE IF NOT EXISTS x (a); BEGIN IMMEDIATE; INSERT INTO x VALUES (1)'); setTimeout(() => d.exec('COMMIT'), 2000);`], { cwd: root, stdio: 'ignore' });
    },
  },
  {
    name: 'the temp dir is removed mid-run', index: 'sqlite',
    during: async (c) => {
      for (const e of await readdir(c.tmp)) await rm(join(c.tmp, e), { recursive: true, force: true });
    },
  },
  { name: 'OpenSearch bulk 429', index: 'opensearch', before: osRequest(3, { status: 429, type: 'es_rejected_execution_exception', reason: 'busy' }) },
  { name: 'OpenSearch bulk 503 (for good)', index: 'opensearch', before: osRequest(Number.MAX_SAFE_INTEGER, { status: 503, type: 'cluster_block_exception', reason: 'no master' }) },
  { name: 'OpenSearch bulk hangs', index: 'opensearch', before: osRequest(2, 'hang') },
  { name: 'OpenSearch bulk connection reset', index: 'opensearch', before: osRequest(2, 'reset') },
  { name: 'OpenSearch bulk 400 for the request', index: 'opensearch', before: osRequest(1, { status: 400, type: 'illegal_argument_exception', reason: 'bad request' }) },
  { name: 'OpenSearch item 429', index: 'opensearch', before: osItem('rejected', 3) },
  { name: 'OpenSearch item 500', index: 'opensearch', before: osItem('internal', 3) },
  { name: 'OpenSearch item mapper_parsing_exception once', index: 'opensearch', before: osItem('mapper_parsing', 1) },
  { name: 'OpenSearch item mapper_parsing_exception always', index: 'opensearch', before: osItem('mapper_parsing', 1_000) },
];

const table: string[] = [];
after(() => console.log(`# invariant: per fault, messages written / still queued / in the DLQ (of ${KEYS.length})\n${table.map((l) => `#   ${l}`).join('\n')}`));

async function written(c: Ctx, index: SearchIndex, key: string): Promise<boolean> {
  const id = documentId(c.fx.bucket, key);
  if (index instanceof SqliteIndex) return (await index.get(id)) !== undefined;
  return c.os!.readDocs('files').has(id);
}

function dlqBodies(fx: SqsS3Fixture): string[] {
  const q = fx.server.inspectQueue(fx.dlqUrl.split('/').pop()!);
  return q ? [...q.messages.ready, ...q.messages.delayed, ...q.messages.inflight.map((m) => m.message)].map((m) => m.body) : [];
}

const mentions = (bodies: string[], key: string) => bodies.some((b) => b.includes(`"key":"${key}"`));

test('every fault the suite knows: each message is written or still queued (queue or DLQ), never deleted with nothing written', async () => {
  const broken: string[] = [];
  for (const s of SCENARIOS) {
    const fx = await startSqsS3Fixture({ maxReceiveCount: 3, visibilityTimeout: 30 });
    const proxy = await startFaultProxy(fx.endpoint);
    const work = await mkdtemp(join(tmpdir(), 'fsw-inv-'));
    const tmp = join(work, 'tmp');
    await rm(tmp, { recursive: true, force: true });
    await import('node:fs/promises').then((f) => f.mkdir(tmp));
    const c: Ctx = { fx, proxy, tmp, db: join(work, 'index.db') };
    if (s.index === 'opensearch') c.os = await startOpenSearchDouble();
    const index: SearchIndex = s.index === 'sqlite'
      ? new SqliteIndex(c.db)
      : new OpenSearchIndex({ node: c.os!.url, index: 'files', maxRetries: 1, backoffBaseMs: 20, backoffMaxMs: 50, requestTimeoutMs: 500 });
    try {
      for (const k of KEYS) {
        await fx.putObject(k, `document ${k} ${'text '.repeat(10)}`);
        await fx.sendS3Event('upsert', k);
      }
      await s.before?.(c);
      c.w = await startInProcessWorker({
        fx, proxy, tmp, index, aws: s.aws ?? {}, visibilitySeconds: 10, heartbeatSeconds: 2,
        opts: { retryBaseSeconds: 0, retryMaxSeconds: 0 },
      });
      if (s.extractFails) c.w.extractor.failNames.add(TARGET);
      await s.during?.(c);
      // Run until every message is written or in the DLQ, or for at most 8 s: either way, judge then.
      await until(`${s.name}: settled`, async () => {
        for (const k of KEYS) if (!(await written(c, index, k)) && !mentions(dlqBodies(fx), k)) return false;
        return true;
      }, 8_000, 100).catch(() => {});
      await c.w.stop(s.name);
      c.w = undefined;
      const queued = queuedBodies(fx);
      const dlq = dlqBodies(fx);
      let w = 0, q = 0, d = 0;
      for (const k of KEYS) {
        if (await written(c, index, k)) w++;
        else if (mentions(queued, k)) q++;
        else if (mentions(dlq, k)) d++;
        else broken.push(`${s.name}: ${k} was deleted with nothing written`);
      }
      table.push(`${s.name}: ${w} / ${q} / ${d}`);
    } finally {
      locker?.kill('SIGKILL');
      locker = undefined;
      await c.w?.stop(s.name).catch(() => {});
      await index.close().catch(() => {});
      await c.os?.stop();
      await proxy.stop();
      await fx.stop();
      await rm(work, { recursive: true, force: true });
    }
  }
  assert.deepEqual(broken, []);
  assert.equal(table.length, SCENARIOS.length, 'every scenario ran');
});
