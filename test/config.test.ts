import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, parseIndexUrl, resolvePoolSize, DEFAULTS } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

test('with no environment everything defaults to local SQLite and the machine cores', () => {
  const c = loadConfig({});
  assert.deepEqual(c.index, { kind: 'sqlite', path: './data/index.db' });
  assert.equal(c.thumbnails, undefined);
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
  assert.deepEqual(parseIndexUrl('http://search.example:9200/files'), { kind: 'opensearch', node: 'http://search.example:9200', index: 'files', auth: { kind: 'none' } });
  // Credentials in the URL become basic auth; the node URL the client logs carries none.
  assert.deepEqual(parseIndexUrl('https://user:p%40ss@search.example:9200/files'), {
    kind: 'opensearch', node: 'https://search.example:9200', index: 'files', auth: { kind: 'basic', username: 'user', password: 'p@ss' },
  });
  // Config holds the parsed value: nothing downstream parses INDEX_URL again.
  assert.deepEqual(loadConfig({ INDEX_URL: 'http://os:9200/docs' }).index, { kind: 'opensearch', node: 'http://os:9200', index: 'docs', auth: { kind: 'none' } });
  // INDEX_AUTH=auto signs requests to AWS hosts with SigV4 (region and service from the host).
  assert.deepEqual(loadConfig({ INDEX_URL: 'https://search-x.eu-west-1.es.amazonaws.com/files' }).index, {
    kind: 'opensearch', node: 'https://search-x.eu-west-1.es.amazonaws.com', index: 'files', auth: { kind: 'sigv4', region: 'eu-west-1', service: 'es' },
  });
  assert.deepEqual(loadConfig({ THUMBNAIL_URL: 's3://b/thumbs/' }).thumbnails, { kind: 's3', bucket: 'b', prefix: 'thumbs/' });
});

test('every tunable in DEFAULTS has a row in the README configuration table', async () => {
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const rows = readme.split('\n').filter((l) => l.startsWith('| `'));
  const missing = Object.keys(DEFAULTS).filter((k) => !rows.some((r) => r.split('|')[1]?.includes(`\`${k}\``)));
  assert.deepEqual(missing, [], `README lacks rows for ${missing.join(', ')}`);
});

test('delete and index tunables reach the config, and bad values name the variable', () => {
  const c = loadConfig({ DELETE_BATCH_SIZE: '5', DELETE_CONCURRENCY: '2', DELETE_RETRIES: '0', DELETE_RETRY_BASE_MS: '50', INDEX_CONCURRENCY: '3', UNKNOWN_SIZE_RESERVE: '1024' });
  assert.deepEqual(
    [c.queue.deleteBatchSize, c.queue.deleteConcurrency, c.queue.deleteRetries, c.queue.deleteRetryBaseMs, c.stages.indexConcurrency, c.stages.unknownSizeReserve],
    [5, 2, 0, 50, 3, 1024],
  );
  assert.throws(() => loadConfig({ DELETE_BATCH_SIZE: '11' }), /DELETE_BATCH_SIZE.*1\.\.10.*"11"/);
});
