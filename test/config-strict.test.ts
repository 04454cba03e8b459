// Configuration that says what it means (issue 16): numeric variables take decimal integers only, and no
// URL's password is ever echoed back in an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../src/config.ts';
import { ConfigError, errorMessage, redactUrl } from '../src/errors.ts';

test('numeric variables accept decimal integers only: hex, exponents, signs and padding are refused by name', () => {
  for (const raw of ['0x1F90', '1e3', ' 8080 ', '8080 ', '+8080', '80.0', '0b1', '']) {
    if (raw === '') {
      assert.equal(loadConfig({ METRICS_PORT: raw }).metricsPort, 9464, 'empty means the default');
      continue;
    }
    assert.throws(() => loadConfig({ METRICS_PORT: raw }), (err: unknown) => err instanceof ConfigError && err.message === `METRICS_PORT: must be an integer 0..65535, got ${JSON.stringify(raw)}`, raw);
  }
  assert.equal(loadConfig({ METRICS_PORT: '8080' }).metricsPort, 8080);
  assert.equal(loadConfig({ METRICS_PORT: '0' }).metricsPort, 0);
});

test('a bad INDEX_URL or QUEUE_URL is reported without its password', () => {
  for (const env of [
    { INDEX_URL: 'https://admin:s3cret@search.example:9200' },
    { INDEX_URL: 'https://admin:s3cret@search.example:9200/Bad Index' },
    { INDEX_URL: 'ftp://admin:s3cret@search.example/files' },
    { INDEX_URL: 'https://admin:s3c@ret@search.example:9200/files/x' },
    { QUEUE_URL: 'sqs://key:s3cret@queue' },
  ]) {
    let message = '';
    try {
      loadConfig(env);
    } catch (err) {
      message = errorMessage(err);
    }
    assert.ok(message, `refused: ${JSON.stringify(env)}`);
    assert.doesNotMatch(message, /s3cret|s3c@ret|ret@/, message);
    assert.match(message, /\*\*\*@/);
  }
});

test('redactUrl hides the password of every URL in a text and leaves the rest', () => {
  assert.equal(redactUrl('connect to https://u:p@h:9200/i failed; see http://h2/x'), 'connect to https://u:***@h:9200/i failed; see http://h2/x');
  assert.equal(redactUrl('https://ghp_T0KEN@git.example/x'), 'https://***@git.example/x', 'user info without a password is a token: hidden whole');
  assert.equal(redactUrl('no url here, a@b.c'), 'no url here, a@b.c');
});
