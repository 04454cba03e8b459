import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyDependencyError, NotFoundError, RetryableError, StaleEventError, WorkerError } from '../src/errors.ts';

const sdkError = (status: number | undefined, name = 'Error', message = 'boom') =>
  Object.assign(new Error(message), { name, ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }) });

test('a failed S3/SQS/network call is classified by what a retry can do, with its cause kept', () => {
  const cases: Array<[unknown, string, boolean]> = [
    [sdkError(404, 'NoSuchKey'), 'NOT_FOUND', false],
    [sdkError(412, 'PreconditionFailed'), 'STALE_EVENT', false],
    [sdkError(503, 'ServiceUnavailable'), 'RETRYABLE', true],
    [sdkError(429, 'SlowDown'), 'RETRYABLE', true],
    [sdkError(undefined, 'Error', 'read ECONNRESET'), 'RETRYABLE', true],
    // Auth refusals are configuration, which can be fixed: retried, and the redrive policy has the last word.
    [sdkError(403, 'AccessDenied'), 'RETRYABLE', true],
    [sdkError(400, 'KMS.DisabledException'), 'RETRYABLE', true],
    [sdkError(403, 'InvalidObjectState'), 'REQUEST_REJECTED', false],
    [sdkError(400, 'InvalidRequest'), 'REQUEST_REJECTED', false],
  ];
  for (const [err, code, retryable] of cases) {
    const e = classifyDependencyError(err, 'GetObject s3://b/k');
    assert.equal(e.code, code, String(err));
    assert.equal(e.retryable, retryable, String(err));
    assert.equal(e.cause, err);
    assert.match(e.message, /^GetObject s3:\/\/b\/k: /);
  }
  assert.ok(classifyDependencyError(sdkError(404, 'NoSuchKey'), 'x') instanceof NotFoundError);
  assert.ok(classifyDependencyError(sdkError(412), 'x') instanceof StaleEventError);
  assert.ok(classifyDependencyError(sdkError(500), 'x') instanceof RetryableError);
  const already = new WorkerError('permanent', 'UNSUPPORTED', 'as raised');
  assert.equal(classifyDependencyError(already, 'x'), already, 'an error classified where it was raised is kept');
});
