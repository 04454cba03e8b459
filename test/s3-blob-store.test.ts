import { after, before, beforeEach, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { S3BlobStore, type S3Sender } from '../src/adapters/s3-blob-store.ts';
import { S3ThumbnailSink } from '../src/adapters/s3-thumbnail-sink.ts';
import { NotFoundError, RetryableError, StaleEventError, TooLargeError } from '../src/errors.ts';
import { noTelemetry, type Telemetry } from '../src/telemetry/telemetry.ts';
import { startSqsS3Fixture, type SqsS3Fixture } from './helpers/fauxqs.ts';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function countingTelemetry(): { telemetry: Telemetry; bytes: () => number } {
  let bytes = 0;
  return { telemetry: { ...noTelemetry, bytesDownloaded: (n) => void (bytes += n) }, bytes: () => bytes };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 's3-blob-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('S3BlobStore against fauxqs', () => {
  let fx: SqsS3Fixture;
  before(async () => {
    fx = await startSqsS3Fixture();
  });
  after(async () => {
    await fx.stop();
  });

  test('downloads the object pinned by its etag to a random name, mode 0600, inside dir', async () => {
    const key = 'reports/../Q1 日本語 report+final.txt';
    const body = 'quarterly numbers\n'.repeat(100);
    const put = await fx.putObject(key, body, { contentType: 'text/plain' });
    const { telemetry, bytes } = countingTelemetry();
    const store = new S3BlobStore({ client: fx.s3, telemetry });
    const file = await store.download({ bucket: fx.bucket, key, etag: put.etag, size: put.size }, { dir, maxBytes: 1_000_000 });

    assert.equal(path.dirname(file.path), dir);
    assert.match(path.basename(file.path), UUID_RE, 'a random name, nothing taken from the key');
    assert.equal(await readFile(file.path, 'utf8'), body);
    assert.equal((await stat(file.path)).mode & 0o777, 0o600);
    assert.equal(file.size, Buffer.byteLength(body));
    assert.equal(file.etag, put.etag);
    assert.equal(file.contentType, 'text/plain');
    assert.ok(file.lastModified instanceof Date);
    assert.equal(bytes(), file.size);

    await file.dispose();
    assert.deepEqual(await readdir(dir), []);
    await file.dispose(); // idempotent
  });

  test('two downloads of the same key get two different files', async () => {
    const put = await fx.putObject('same.txt', 'x');
    const store = new S3BlobStore({ client: fx.s3 });
    const a = await store.download({ bucket: fx.bucket, key: 'same.txt', etag: put.etag }, { dir, maxBytes: 10 });
    const b = await store.download({ bucket: fx.bucket, key: 'same.txt', etag: put.etag }, { dir, maxBytes: 10 });
    assert.notEqual(a.path, b.path);
    assert.equal((await readdir(dir)).length, 2);
  });

  test('an etag from before the object changed gives StaleEventError and leaves no file', async () => {
    const old = await fx.putObject('changing.txt', 'version one');
    await fx.putObject('changing.txt', 'version two, longer');
    const store = new S3BlobStore({ client: fx.s3 });
    await assert.rejects(store.download({ bucket: fx.bucket, key: 'changing.txt', etag: old.etag }, { dir, maxBytes: 1000 }), StaleEventError);
    assert.deepEqual(await readdir(dir), []);
  });

  test('a missing object gives NotFoundError and leaves no file', async () => {
    const store = new S3BlobStore({ client: fx.s3 });
    await assert.rejects(store.download({ bucket: fx.bucket, key: 'never-uploaded.pdf' }, { dir, maxBytes: 1000 }), NotFoundError);
    assert.deepEqual(await readdir(dir), []);
  });

  test('an object larger than maxBytes by its Content-Length is refused before a file is written', async () => {
    await fx.putObject('big.bin', randomBytes(4096));
    const store = new S3BlobStore({ client: fx.s3 });
    await assert.rejects(store.download({ bucket: fx.bucket, key: 'big.bin' }, { dir, maxBytes: 1000 }), (err: unknown) => {
      assert.ok(err instanceof TooLargeError);
      assert.equal(err.size, 4096);
      assert.equal(err.limit, 1000);
      return true;
    });
    assert.deepEqual(await readdir(dir), []);
  });

  test('a multipart object over 11 MiB downloads intact with its multipart etag', async () => {
    const data = randomBytes(12 * 1024 * 1024 + 123);
    const put = await fx.putObject('large/scan.tif', data);
    assert.match(put.etag, /-3$/, 'uploaded in three parts');
    const { telemetry, bytes } = countingTelemetry();
    const store = new S3BlobStore({ client: fx.s3, telemetry });
    const file = await store.download({ bucket: fx.bucket, key: 'large/scan.tif', etag: put.etag, size: data.length }, { dir, maxBytes: 64 * 1024 * 1024 });
    assert.equal(file.size, data.length);
    assert.equal(sha256(await readFile(file.path)), sha256(data));
    assert.equal(bytes(), data.length);
    await file.dispose();
  });

  test('exists() follows the key: true while it is there, false once deleted', async () => {
    await fx.putObject('here.txt', 'x');
    const store = new S3BlobStore({ client: fx.s3 });
    assert.equal(await store.exists({ bucket: fx.bucket, key: 'here.txt', versionId: 'an-old-version' }), true);
    await fx.deleteObject('here.txt');
    assert.equal(await store.exists({ bucket: fx.bucket, key: 'here.txt' }), false);
  });

  test('S3ThumbnailSink stores image/webp under the prefix and returns its s3:// address', async () => {
    const sink = new S3ThumbnailSink({ client: fx.s3, bucket: fx.bucket, prefix: 'thumbs' });
    const id = 'a'.repeat(64);
    const where = await sink.put(id, new Uint8Array([0x52, 0x49, 0x46, 0x46]));
    assert.equal(where, `s3://${fx.bucket}/thumbs/${id}.webp`);
    const head = await fx.s3.send(new HeadObjectCommand({ Bucket: fx.bucket, Key: `thumbs/${id}.webp` }));
    assert.equal(head.ContentType, 'image/webp');
    assert.equal(head.ContentLength, 4);
    await assert.rejects(sink.put('../escape', new Uint8Array(1)), /unexpected document id/);
  });

  test('S3ThumbnailSink copies a thumbnail it stored to another document and deletes thumbnails, absent ones included', async () => {
    const sink = new S3ThumbnailSink({ client: fx.s3, bucket: fx.bucket, prefix: 'thumbs/' });
    const [a, b] = ['b'.repeat(64), 'c'.repeat(64)];
    const fromA = await sink.put(a, new Uint8Array([0x52, 0x49, 0x46, 0x46, 7]));
    assert.equal(await sink.copy(fromA, b), `s3://${fx.bucket}/thumbs/${b}.webp`);
    const copied = await fx.s3.send(new HeadObjectCommand({ Bucket: fx.bucket, Key: `thumbs/${b}.webp` }));
    assert.deepEqual([copied.ContentType, copied.ContentLength], ['image/webp', 5]);
    assert.equal(await sink.copy(fromA, a), fromA, 'its own thumbnail is already its own');
    await assert.rejects(sink.copy(`s3://other-bucket/thumbs/${a}.webp`, b), /is not under/);

    await sink.remove([a, 'd'.repeat(64)]);
    await assert.rejects(fx.s3.send(new HeadObjectCommand({ Bucket: fx.bucket, Key: `thumbs/${a}.webp` })), /NotFound|404/);
    assert.equal((await fx.s3.send(new HeadObjectCommand({ Bucket: fx.bucket, Key: `thumbs/${b}.webp` }))).ContentLength, 5, 'the copy outlives its source');
    await assert.rejects(sink.remove(['../escape']), /unexpected document id/);
  });
});

// ---------------------------------------------------------------------------------------------
// What fauxqs cannot show (versions, broken streams, 5xx): a stubbed S3 client.

type Sent = { name: string; input: Record<string, unknown> };

function stubS3(handler: (name: string, input: Record<string, unknown>, opts?: { abortSignal?: AbortSignal }) => unknown): { client: S3Sender; sent: Sent[] } {
  const sent: Sent[] = [];
  const client = {
    async send(cmd: { constructor: { name: string }; input: Record<string, unknown> }, opts?: { abortSignal?: AbortSignal }) {
      const name = cmd.constructor.name.replace(/Command$/, '');
      sent.push({ name, input: cmd.input });
      return handler(name, cmd.input, opts);
    },
  } as unknown as S3Sender;
  return { client, sent };
}

const httpError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('S3BlobStore with a stubbed client', () => {
  test('a size from the event over maxBytes is refused without any request', async () => {
    const { client, sent } = stubS3(() => assert.fail('no request expected'));
    const store = new S3BlobStore({ client });
    await assert.rejects(store.download({ bucket: 'b', key: 'k', size: 2001 }, { dir, maxBytes: 2000 }), TooLargeError);
    assert.equal(sent.length, 0);
  });

  test('a Content-Length over maxBytes destroys the body unread and never opens a file', async () => {
    let reads = 0;
    const body = new Readable({
      read() {
        reads++;
        this.push(null);
      },
    });
    const { client } = stubS3(() => ({ Body: body, ContentLength: 5000 }));
    await assert.rejects(new S3BlobStore({ client }).download({ bucket: 'b', key: 'k' }, { dir, maxBytes: 4999 }), TooLargeError);
    assert.equal(reads, 0);
    assert.equal(body.destroyed, true);
    assert.deepEqual(await readdir(dir), []);
  });

  test('a versionId pins the GetObject by VersionId; an etag alone pins it by a quoted If-Match', async () => {
    const { client, sent } = stubS3(() => ({ Body: Readable.from([Buffer.from('ok')]), ContentLength: 2 }));
    const store = new S3BlobStore({ client });
    await store.download({ bucket: 'b', key: 'k', versionId: 'v42', etag: 'abc' }, { dir, maxBytes: 10 });
    await store.download({ bucket: 'b', key: 'k', etag: 'abc' }, { dir, maxBytes: 10 });
    await store.download({ bucket: 'b', key: 'k', etag: '"abc"' }, { dir, maxBytes: 10 });
    assert.deepEqual(sent.map((s) => [s.input.VersionId, s.input.IfMatch]), [['v42', undefined], [undefined, '"abc"'], [undefined, '"abc"']]);
  });

  test('NoSuchVersion is NotFoundError; 412 is StaleEventError; 503 and throttling are RetryableError', async () => {
    const cases: Array<[Error, new (...a: never[]) => Error]> = [
      [httpError('NoSuchVersion', 404), NotFoundError],
      [httpError('PreconditionFailed', 412), StaleEventError],
      [httpError('ServiceUnavailable', 503), RetryableError],
      [httpError('SlowDown', 503), RetryableError],
      [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), RetryableError],
    ];
    for (const [thrown, expected] of cases) {
      const { client } = stubS3(() => {
        throw thrown;
      });
      await assert.rejects(new S3BlobStore({ client }).download({ bucket: 'b', key: 'k' }, { dir, maxBytes: 10 }), expected, thrown.name);
    }
  });

  test('a connection reset halfway through the body is retryable and the partial file is removed', async () => {
    const body = new Readable({
      read() {
        this.push(Buffer.alloc(500, 1));
        this.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
      },
    });
    const { client } = stubS3(() => ({ Body: body, ContentLength: 1000 }));
    await assert.rejects(new S3BlobStore({ client }).download({ bucket: 'b', key: 'k' }, { dir, maxBytes: 10_000 }), RetryableError);
    assert.deepEqual(await readdir(dir), []);
  });

  test('a body that ends short of its Content-Length is retryable and leaves no file', async () => {
    const { client } = stubS3(() => ({ Body: Readable.from([Buffer.alloc(10)]), ContentLength: 100 }));
    await assert.rejects(new S3BlobStore({ client }).download({ bucket: 'b', key: 'k' }, { dir, maxBytes: 1000 }), /body ended after 10 of 100 bytes/);
    assert.deepEqual(await readdir(dir), []);
  });

  test('a body without Content-Length that grows past maxBytes is cut off as TooLargeError', async () => {
    const chunks = Array.from({ length: 10 }, () => Buffer.alloc(300));
    const { client } = stubS3(() => ({ Body: Readable.from(chunks) }));
    await assert.rejects(new S3BlobStore({ client }).download({ bucket: 'b', key: 'k' }, { dir, maxBytes: 1000 }), TooLargeError);
    assert.deepEqual(await readdir(dir), []);
  });

  test('aborting mid-download fails the download, retryable, and removes the partial file', async () => {
    const ac = new AbortController();
    const body = new Readable({
      read() {
        this.push(Buffer.alloc(100));
        ac.abort();
      },
    });
    const { client } = stubS3(() => ({ Body: body, ContentLength: 10_000 }));
    await assert.rejects(new S3BlobStore({ client }).download({ bucket: 'b', key: 'k' }, { dir, maxBytes: 100_000, signal: ac.signal }), RetryableError);
    assert.deepEqual(await readdir(dir), []);
  });

  test('exists(): HeadObject without a version; an error other than 404 is RetryableError', async () => {
    const { client, sent } = stubS3(() => {
      throw httpError('Forbidden', 403);
    });
    const store = new S3BlobStore({ client });
    await assert.rejects(store.exists({ bucket: 'b', key: 'k', versionId: 'v1' }), RetryableError);
    assert.equal(sent[0]?.name, 'HeadObject');
    assert.equal(sent[0]?.input.VersionId, undefined);
    const notFound = stubS3(() => {
      throw httpError('NotFound', 404);
    });
    assert.equal(await new S3BlobStore({ client: notFound.client }).exists({ bucket: 'b', key: 'k' }), false);
  });
});
