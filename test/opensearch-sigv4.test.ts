// Signed OpenSearch requests (issue 12): the double recomputes every request's SigV4 signature with the
// AWS SDK's own signer for known test credentials; a wrong region, service or secret is refused, as
// Amazon OpenSearch Service refuses it. Also: how INDEX_AUTH is resolved, that credentials never show
// in configuration errors, and what the adapter sends to Serverless.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenSearchIndex } from '../src/adapters/opensearch-index.ts';
import type { AwsCredentials } from '../src/adapters/opensearch-client.ts';
import { loadConfig, resolveIndexAuth } from '../src/config.ts';
import { AuthError, ConfigError } from '../src/errors.ts';
import { documentId } from '../src/ids.ts';
import type { IndexDocument } from '../src/types.ts';
import { startOpenSearchDouble } from './helpers/opensearch-double.ts';

const KEYS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLETOKEN' };

function doc(key: string, sequencer?: string): IndexDocument {
  return {
    id: documentId('b', key), source: `s3://b/${key}`, bucket: 'b', key, name: key, contentType: 'text/plain', size: 4, status: 'ok',
    text: `text of ${key}`, truncated: false, pages: 1, ocrPages: 0, indexedAt: new Date().toISOString(), ...(sequencer ? { sequencer } : {}),
  };
}

async function signedSetup(t: import('node:test').TestContext, signWith: { region: string; service: 'es' | 'aoss'; credentials?: AwsCredentials | (() => Promise<AwsCredentials>) }) {
  const double = await startOpenSearchDouble({ sigv4: { region: 'eu-west-1', service: 'es', credentials: { ...KEYS } } });
  const index = new OpenSearchIndex({
    node: double.url, index: 'files', auth: { kind: 'sigv4', region: signWith.region, service: signWith.service },
    credentials: signWith.credentials ?? { ...KEYS }, maxRetries: 1, backoffBaseMs: 1, backoffMaxMs: 2, requestTimeoutMs: 2_000,
  });
  t.after(async () => {
    await index.close();
    await double.stop();
  });
  return { double, index };
}

test('requests signed for the right region, service and credentials are accepted by the SDK signer check', async (t) => {
  const { double, index } = await signedSetup(t, { region: 'eu-west-1', service: 'es' });
  await index.init();
  await index.checkWritable();
  const d = doc('a.txt', '0055AED6DCD90281E5');
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: d }]), [{ ok: true }]);
  assert.deepEqual(double.signatureFailures, []);
  assert.equal(double.readDocs('files').get(d.id)?.source.text, 'text of a.txt');
  // Creation (PUT with body), alias lookup (GET), write check and bulk (POST NDJSON) were all signed.
  const kinds = new Set(double.requests.map((r) => `${r.method} ${r.path.replace(/files-v\d+/, 'files-vN')}`));
  for (const k of ['GET /files/_alias/files', 'PUT /files-vN', 'PUT /files/_bulk']) assert.ok(kinds.has(k), `expected a signed ${k}; saw ${[...kinds].join(', ')}`);
});

for (const [what, signWith, problem] of [
  ['a wrong region', { region: 'us-east-1', service: 'es' as const }, /region/],
  ['a wrong service', { region: 'eu-west-1', service: 'aoss' as const }, /service/],
  ['a wrong secret', { region: 'eu-west-1', service: 'es' as const, credentials: { ...KEYS, secretAccessKey: 'not-the-secret' } }, /signature we calculated does not match/],
  ['a wrong session token', { region: 'eu-west-1', service: 'es' as const, credentials: { ...KEYS, sessionToken: 'other-token' } }, /security token/],
] as const) {
  test(`${what} is refused with 403, and the worker reports an AuthError without the secret`, async (t) => {
    const { double, index } = await signedSetup(t, signWith);
    await assert.rejects(index.init(), (err: unknown) => {
      assert.ok(err instanceof AuthError, `expected AuthError, got ${String(err)}`);
      assert.equal(err.status, 403);
      assert.doesNotMatch(err.message, new RegExp(KEYS.secretAccessKey.replace(/[+/]/g, '.')));
      assert.doesNotMatch(err.message, /not-the-secret/);
      return true;
    });
    assert.ok(double.signatureFailures.length > 0);
    assert.match(double.signatureFailures[0]!.problem, problem);
    // A bulk refused for auth is not retried round after round: one request, an AuthError per item.
    const before = double.requests.length;
    const [r] = await index.write([{ kind: 'upsert', doc: doc('b.txt') }]);
    assert.ok(r && !r.ok && r.error instanceof AuthError && r.error.retryable, `got ${JSON.stringify(r)}`);
    assert.equal(double.requests.length - before, 1);
  });
}

test('rotated credentials are fetched again before the old ones expire', async (t) => {
  let calls = 0;
  const provider = async (): Promise<AwsCredentials> => {
    calls++;
    // First set: expires within one request timeout soon; the signer must ask again.
    return calls === 1
      ? { ...KEYS, expiration: new Date(Date.now() + 2_300) }
      : { accessKeyId: 'AKIDROTATED', secretAccessKey: 'rotated-secret', sessionToken: 'rotated-token', expiration: new Date(Date.now() + 3_600_000) };
  };
  const { double, index } = await signedSetup(t, { region: 'eu-west-1', service: 'es', credentials: provider });
  await index.init();
  assert.equal(calls, 1);
  // The role's credentials rotate: AWS now accepts only the new ones.
  await new Promise((r) => setTimeout(r, 500));
  const expectation = { accessKeyId: 'AKIDROTATED', secretAccessKey: 'rotated-secret', sessionToken: 'rotated-token' };
  double.setSigV4Credentials(expectation);
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: doc('c.txt') }]), [{ ok: true }]);
  assert.equal(calls, 2);
  assert.deepEqual(double.signatureFailures, []);
});

test('INDEX_AUTH=auto: SigV4 for AWS hosts (es or aoss from the host), basic with user info, else none', () => {
  const t = (node: string, username?: string, password?: string) => ({ node, auth: username ? { kind: 'basic' as const, username, password: password ?? '' } : { kind: 'none' as const } });
  assert.deepEqual(resolveIndexAuth(t('https://search-files-abc.eu-west-1.es.amazonaws.com'), 'auto'), { kind: 'sigv4', region: 'eu-west-1', service: 'es' });
  assert.deepEqual(resolveIndexAuth(t('https://vpc-files-abc.ap-northeast-1.es.amazonaws.com'), 'auto'), { kind: 'sigv4', region: 'ap-northeast-1', service: 'es' });
  assert.deepEqual(resolveIndexAuth(t('https://abc123.us-east-1.aoss.amazonaws.com'), 'auto'), { kind: 'sigv4', region: 'us-east-1', service: 'aoss' });
  assert.deepEqual(resolveIndexAuth(t('https://search.example.com:9200', 'u', 'p'), 'auto'), { kind: 'basic', username: 'u', password: 'p' });
  assert.deepEqual(resolveIndexAuth(t('http://127.0.0.1:9200'), 'auto'), { kind: 'none' });
  assert.deepEqual(resolveIndexAuth(t('https://proxy.internal'), 'sigv4', { region: 'eu-central-1', service: 'aoss' }), { kind: 'sigv4', region: 'eu-central-1', service: 'aoss' });
  assert.throws(() => resolveIndexAuth(t('https://proxy.internal'), 'sigv4'), (e: unknown) => e instanceof ConfigError && e.variable === 'AWS_REGION');
  assert.throws(() => resolveIndexAuth(t('https://proxy.internal'), 'sigv4', { region: 'eu-west-1', service: 'lambda' }), (e: unknown) => e instanceof ConfigError && e.variable === 'INDEX_AWS_SERVICE');
  assert.throws(() => resolveIndexAuth(t('https://x.eu-west-1.es.amazonaws.com', 'u', 'hunter2'), 'auto'), (e: unknown) => e instanceof ConfigError && !e.message.includes('hunter2'));
  assert.throws(() => resolveIndexAuth(t('http://127.0.0.1:9200'), 'basic'), (e: unknown) => e instanceof ConfigError && e.variable === 'INDEX_AUTH');
});

test('a malformed INDEX_URL is reported without its password', () => {
  for (const url of ['https://admin:s3cr3t-Pa55@search.example.com:9200/Files', 'https://admin:s3cr3t-Pa55@search.example.com:9200/', 'https://admin:s3cr3t-Pa55@search.example.com:9200/a/b']) {
    assert.throws(() => loadConfig({ INDEX_URL: url }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.variable, 'INDEX_URL');
      assert.doesNotMatch(e.message, /s3cr3t/);
      assert.match(e.message, /admin:\*\*\*@/);
      return true;
    });
  }
});

test('Serverless (aoss): no external versions, no gc_deletes, no alias; plain index/delete with ids', async (t) => {
  const double = await startOpenSearchDouble();
  const index = new OpenSearchIndex({ node: double.url, index: 'files', auth: { kind: 'sigv4', region: 'eu-west-1', service: 'aoss' }, credentials: { ...KEYS }, maxRetries: 0 });
  t.after(async () => {
    await index.close();
    await double.stop();
  });
  await index.init();
  const meta = double.indices.get('files');
  assert.ok(meta, 'the index is created under its own name');
  assert.equal((meta.settings.index as { gc_deletes?: string } | undefined)?.gc_deletes, undefined);
  assert.equal(double.aliases.size, 0);
  const d = doc('d.txt', '0055AED6DCD90281E5');
  assert.deepEqual(await index.write([{ kind: 'upsert', doc: d }, { kind: 'remove', id: documentId('b', 'gone.txt'), sequencer: '0055AED6DCD90281E6' }]), [{ ok: true }, { ok: true }]);
  const bulk = double.requests.find((r) => r.bulk)?.bulk ?? [];
  assert.deepEqual(bulk.map((b) => [b.action, b.id, b.version, b.versionType]), [['index', d.id, undefined, undefined], ['delete', documentId('b', 'gone.txt'), undefined, undefined]]);
});

test('run refuses to start (exit 78, one clear line, no secret) when the index refuses our identity', async (t) => {
  const double = await startOpenSearchDouble();
  t.after(() => double.stop());
  double.faults.next(1000, { status: 403 }, () => true);
  const { execFile } = await import('node:child_process');
  const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, ['src/cli.ts', 'run'], {
      env: {
        PATH: process.env.PATH ?? '', QUEUE_URL: 'http://127.0.0.1:9/000000000000/jobs', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y',
        INDEX_URL: `${double.url.replace('http://', 'http://worker:hunter2@')}/files`, METRICS_PORT: '0', LOG_LEVEL: 'silent',
      },
    }, (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr }));
  });
  assert.equal(out.code, 78, out.stderr);
  assert.match(out.stderr, /the index at http:\/\/127\.0\.0\.1:\d+\/files is not usable: .*refused our identity \(403/);
  assert.doesNotMatch(out.stderr, /hunter2/);
  assert.equal(double.requests.filter((r) => r.path.endsWith('/_bulk') && r.bodyBytes > 200).length, 0, 'no document was sent');
});
