// Errors in the log (issue 16): under one key, `err`, as pino's err serializer writes them (type,
// message, stack kept), and never with a URL's password.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../src/telemetry/log.ts';
import { RetryableError } from '../src/errors.ts';

test('an error is logged under err with its type, message and stack; URLs in it lose their password', () => {
  const lines: Array<Record<string, any>> = [];
  const logger = createLogger('info', { write: (s: string) => void lines.push(JSON.parse(s)) });
  const cause = new Error('connect ECONNREFUSED https://admin:s3cret@search.example:9200/_bulk');
  logger.warn({ err: new RetryableError(`OpenSearch bulk: ${cause.message}`, { cause }) }, 'index write failed for https://u:pw@h/x');
  const line = lines[0]!;
  assert.equal(line.err.type, 'RetryableError');
  assert.match(line.err.message, /OpenSearch bulk: connect ECONNREFUSED https:\/\/admin:\*\*\*@search\.example:9200/);
  assert.match(line.err.stack, /RetryableError: .*\n\s+at /, 'the stack is kept');
  assert.doesNotMatch(JSON.stringify(line), /s3cret|u:pw/);
  assert.equal(line.msg, 'index write failed for https://u:***@h/x');
});
