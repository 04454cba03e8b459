// Thumbnails kept in S3 reach the page as short-lived presigned GET URLs (fauxqs on 127.0.0.1): the
// server redirects, the page's CSP allows that origin for images, and the server signs nothing outside
// the THUMBNAIL_URL bucket and prefix, whatever the index says.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { SqliteSearch } from '../src/adapters/sqlite-search.ts';
import { s3ThumbnailLinks } from '../src/adapters/s3-thumbnail-links.ts';
import { startSearchServer, type SearchServer } from '../src/search/http-api.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import type { IndexDocument } from '../src/types.ts';
import { startSqsS3Fixture, type SqsS3Fixture } from './helpers/fauxqs.ts';

let fx: SqsS3Fixture;
let dir: string;
let server: SearchServer;
let backend: SqliteSearch;

function doc(id: string, thumbnail: string): IndexDocument {
  return {
    id, source: `s3://${fx.bucket}/docs/${id}.pdf`, bucket: fx.bucket, key: `docs/${id}.pdf`, name: `${id}.pdf`, contentType: 'application/pdf', size: 1,
    status: 'ok', text: 'thumbnail test', truncated: false, pages: 1, ocrPages: 0, indexedAt: '2026-12-01T00:00:00.000Z', thumbnail,
  };
}

before(async () => {
  fx = await startSqsS3Fixture();
  dir = await mkdtemp(join(tmpdir(), 'fsw-thumbs-s3-'));
  await fx.putObject('thumbs/good.webp', 'RIFF-webp-bytes', { contentType: 'image/webp' });
  await fx.putObject('private/secret.txt', 'not a thumbnail');
  const index = new SqliteIndex(join(dir, 'index.db'));
  await index.init();
  await index.write([
    { kind: 'upsert', doc: doc('good', `s3://${fx.bucket}/thumbs/good.webp`) },
    { kind: 'upsert', doc: doc('outside', `s3://${fx.bucket}/private/secret.txt`) },
    { kind: 'upsert', doc: doc('climb', `s3://${fx.bucket}/thumbs/../private/secret.txt`) },
    { kind: 'upsert', doc: doc('local', '/etc/passwd') },
  ]);
  await index.close();
  backend = new SqliteSearch(join(dir, 'index.db'));
  const thumbnails = await s3ThumbnailLinks({ client: fx.s3, bucket: fx.bucket, prefix: 'thumbs/', expiresInSeconds: 120 });
  server = await startSearchServer({ host: '127.0.0.1', port: 0, backend, thumbnails, logger: silentLogger, maxUrlBytes: 4096, maxTextChars: 1000, maxPageSize: 100, maxConnections: 64, maxConcurrentRequests: 16 });
});

after(async () => {
  await server?.close();
  await backend?.close();
  await fx?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a thumbnail in S3 is a redirect to a presigned URL that expires, and the CSP allows its origin', async () => {
  const res = await fetch(`${server.url}/thumbnails/good`, { redirect: 'manual' });
  assert.equal(res.status, 302);
  const location = new URL(res.headers.get('location')!);
  assert.equal(location.origin, new URL(fx.endpoint).origin);
  assert.equal(location.searchParams.get('X-Amz-Expires'), '120');
  assert.ok(location.searchParams.get('X-Amz-Signature'));
  const image = await fetch(location);
  assert.equal(image.status, 200);
  assert.equal(await image.text(), 'RIFF-webp-bytes');
  const page = await fetch(`${server.url}/`);
  assert.match(page.headers.get('content-security-policy') ?? '', new RegExp(`img-src 'self' ${location.origin.replace(/[.]/g, '\\.')}`));
});

test('objects outside the thumbnail prefix, and paths the index names, are never signed or read', async () => {
  for (const id of ['outside', 'climb', 'local']) {
    const res = await fetch(`${server.url}/thumbnails/${id}`, { redirect: 'manual' });
    assert.equal(res.status, 404, id);
  }
});
