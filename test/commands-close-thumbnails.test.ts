// reconcile and a local `index` re-run open the thumbnail sink to delete the thumbnails of removed
// documents; with THUMBNAIL_URL=s3://… that sink holds an S3 client (and its keep-alive sockets). The
// commands close it on their way out, whether they succeed or fail: every S3 client they used is
// destroyed by the time they return (fauxqs on 127.0.0.1).
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { loadConfig, type Config } from '../src/config.ts';
import { runReconcileCommand } from '../src/commands/reconcile.ts';
import { runIndexCommand } from '../src/commands/index-files.ts';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { S3ThumbnailSink } from '../src/adapters/s3-thumbnail-sink.ts';
import { documentId, sourceOf } from '../src/ids.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import type { IndexDocument } from '../src/types.ts';
import { startSqsS3Fixture, type SqsS3Fixture } from './helpers/fauxqs.ts';

let fx: SqsS3Fixture;
let tmp: string;

/** S3 clients (other than the fixture's own) that sent a request, and those destroyed; sink closes; DeleteObjects calls. */
const seen = { used: new Set<S3Client>(), destroyed: new Set<S3Client>(), sinkCloses: 0, deletes: 0 };
type Spied = { send(...args: unknown[]): Promise<unknown>; destroy(): void };
const proto = S3Client.prototype as unknown as Spied;
const { send, destroy } = proto;
const sinkClose = S3ThumbnailSink.prototype.close;

before(async () => {
  fx = await startSqsS3Fixture();
  tmp = await mkdtemp(join(tmpdir(), 'fsw-close-thumbs-'));
  proto.send = function (this: S3Client, ...args: unknown[]) {
    if (this !== fx.s3) seen.used.add(this);
    if (args[0] instanceof DeleteObjectsCommand) seen.deletes++;
    return send.apply(this, args);
  };
  proto.destroy = function (this: S3Client) {
    seen.destroyed.add(this);
    destroy.call(this);
  };
  S3ThumbnailSink.prototype.close = function (this: S3ThumbnailSink) {
    seen.sinkCloses++;
    return sinkClose.call(this);
  };
});

after(async () => {
  proto.send = send;
  proto.destroy = destroy;
  S3ThumbnailSink.prototype.close = sinkClose;
  await fx?.stop();
  await rm(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  seen.used.clear();
  seen.destroyed.clear();
  seen.sinkCloses = 0;
  seen.deletes = 0;
});

function assertAllDestroyed(what: string): void {
  const open = [...seen.used].filter((c) => !seen.destroyed.has(c));
  assert.equal(open.length, 0, `${what}: ${open.length} of the ${seen.used.size} S3 client(s) it used were left open`);
}

function config(db: string, env: Record<string, string> = {}): Config {
  return loadConfig({ ...fx.env, INDEX_URL: `sqlite:${db}`, TMPDIR: tmp, THUMBNAIL_URL: `s3://${fx.bucket}/thumbs/`, POOL_SIZE: '1', ...env });
}

const clients = () => ({ endpoint: fx.endpoint, region: fx.region, credentials: { accessKeyId: fx.env.AWS_ACCESS_KEY_ID!, secretAccessKey: fx.env.AWS_SECRET_ACCESS_KEY! } });

function ghost(key: string): IndexDocument {
  return {
    id: documentId(fx.bucket, key), source: sourceOf(fx.bucket, key), bucket: fx.bucket, key, name: key.split('/').pop()!,
    contentType: 'text/plain', size: 1, status: 'ok', text: 'its object is gone', truncated: false, pages: 1, ocrPages: 0,
    indexedAt: new Date().toISOString(), thumbnail: `s3://${fx.bucket}/thumbs/${documentId(fx.bucket, key)}.webp`,
  };
}

test('reconcile removing documents with THUMBNAIL_URL=s3://… destroys the sink\'s S3 client (and every other) when it ends', async () => {
  const db = join(tmp, 'reconcile.db');
  const index = new SqliteIndex(db);
  await index.init();
  await index.write([{ kind: 'upsert', doc: ghost('gone/a.txt') }]);
  await index.close();

  const r = await runReconcileCommand(config(db), silentLogger, { target: `s3://${fx.bucket}/gone/`, dryRun: false, maxRate: Infinity }, { clients: clients() });
  assert.deepEqual([r.code, r.counts.removed], [0, 1]);
  assert.ok(seen.deletes >= 1, 'the sink deleted the thumbnail through its client');
  assert.equal(seen.sinkCloses, 1);
  assertAllDestroyed('reconcile');
});

test('reconcile that fails (its bucket does not exist) still closes the thumbnail sink and destroys its clients', async () => {
  const db = join(tmp, 'reconcile-fails.db');
  await assert.rejects(runReconcileCommand(config(db), silentLogger, { target: 's3://no-such-bucket-here/x/', dryRun: false, maxRate: Infinity }, { clients: clients() }));
  assert.equal(seen.sinkCloses, 1, 'the sink is closed on the error path');
  assert.ok(seen.used.size >= 1, 'the listing reached S3');
  assertAllDestroyed('failed reconcile');
});

test('a local index re-run, with and without thumbnails, closes the S3 sink that deleted the thumbnails of vanished files', async () => {
  const dir = join(tmp, 'files');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const db = join(tmp, 'local.db');
  const a = join(dir, 'a.txt');
  const b = join(dir, 'b.txt');
  await writeFile(a, 'quarterly harbour report');
  await writeFile(b, 'invoice for the harbour project');
  // openThumbnails reads the SDK's endpoint and credentials from the environment, as in production.
  const saved = Object.fromEntries(Object.keys(fx.env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, fx.env);
  try {
    const first = await runIndexCommand(config(db), silentLogger, { paths: [dir], db, serveMetrics: false, thumbnails: true });
    assert.equal(first, 0);
    assert.equal(seen.sinkCloses, 1, 'the worker closed its sink');
    assertAllDestroyed('index');

    for (const [file, thumbnails] of [[a, true], [b, false]] as const) {
      seen.used.clear();
      seen.destroyed.clear();
      seen.sinkCloses = 0;
      seen.deletes = 0;
      await unlink(file);
      const code = await runIndexCommand(config(db), silentLogger, { paths: [dir], db, serveMetrics: false, thumbnails });
      assert.equal(code, 0);
      assert.ok(seen.deletes >= 1, `thumbnails ${thumbnails}: the vanished file's thumbnail was deleted in S3`);
      assert.ok(seen.sinkCloses >= 1, `thumbnails ${thumbnails}: the sink was closed`);
      assertAllDestroyed(`index re-run (thumbnails ${thumbnails})`);
    }
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
