import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, parseIndexUrl, resolvePoolSize, DEFAULTS } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

test('with no environment everything defaults to local SQLite and the machine cores', () => {
  const c = loadConfig({});
  assert.equal(c.indexUrl, 'sqlite:./data/index.db');
  assert.equal(c.queue.url, undefined);
  assert.equal(c.queue.batchSize, 10);
  assert.equal(c.queue.waitTimeSeconds, 20);
  assert.equal(c.pool.source, 'cores');
  assert.equal(c.pool.ocrLangs, 'eng+jpn');
  assert.equal(c.shutdownTimeoutMs, DEFAULTS.SHUTDOWN_TIMEOUT_MS);
  assert.equal(c.metricsPort, 9464);
});

test('pool size: POOL_SIZE beats INSTANCE_TYPE beats cores', () => {
  assert.deepEqual(resolvePoolSize({ POOL_SIZE: '3', INSTANCE_TYPE: 'c7i.xlarge' }, 8), { size: 3, source: 'POOL_SIZE' });
  assert.deepEqual(resolvePoolSize({ INSTANCE_TYPE: 'c7i.xlarge' }, 8), { size: 4, source: 'INSTANCE_TYPE' });
  assert.deepEqual(resolvePoolSize({ INSTANCE_TYPE: 't3.medium' }, 8), { size: 2, source: 'INSTANCE_TYPE' });
  assert.deepEqual(resolvePoolSize({}, 6), { size: 6, source: 'cores' });
});

test('a bad value is reported with the variable, the value and what is allowed', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ QUEUE_BATCH_SIZE: '12' }, /QUEUE_BATCH_SIZE: must be an integer 1\.\.10, got "12"/],
    [{ POOL_SIZE: 'lots' }, /POOL_SIZE: must be an integer 1\.\.256, got "lots"/],
    [{ INSTANCE_TYPE: 'x9.huge' }, /INSTANCE_TYPE: has no preset .*got "x9.huge"/],
    [{ INDEX_URL: 'mysql://x' }, /INDEX_URL: must be sqlite:PATH or http\(s\):\/\/host:port\/index, got "mysql:\/\/x"/],
    [{ INDEX_URL: 'http://localhost:9200' }, /INDEX_URL: must name one lowercase OpenSearch index/],
    [{ S3_FORCE_PATH_STYLE: 'maybe' }, /S3_FORCE_PATH_STYLE: must be true or false, got "maybe"/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/],
    [{ OCR_LANGS: 'eng jpn' }, /OCR_LANGS: must be tesseract codes joined by \+/],
    [{ VISIBILITY_TIMEOUT_SECONDS: '30', HEARTBEAT_SECONDS: '20' }, /HEARTBEAT_SECONDS: must be at most half of VISIBILITY_TIMEOUT_SECONDS \(30\), got 20/],
    [{ QUEUE_URL: 'my-queue' }, /QUEUE_URL: must be an SQS queue URL/],
    [{ THUMBNAIL_URL: 's3://' }, /THUMBNAIL_URL: s3:\/\/ needs a bucket/],
  ];
  for (const [env, re] of cases) {
    assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && re.test(err.message), JSON.stringify(env));
  }
});

test('INDEX_URL picks the adapter', () => {
  assert.deepEqual(parseIndexUrl('sqlite:/var/lib/fs/index.db'), { kind: 'sqlite', path: '/var/lib/fs/index.db' });
  assert.deepEqual(parseIndexUrl('https://user:pw@search.example:9200/files'), { kind: 'opensearch', node: 'https://user:pw@search.example:9200', index: 'files' });
});
