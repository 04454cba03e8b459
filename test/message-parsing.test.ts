import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MalformedMessageError } from '../src/errors.ts';
import { parseMessageBody, jsonDepth } from '../src/adapters/s3-events.ts';
import { encodeS3EventKey, s3EventNotification, snsEnvelope } from './helpers/fauxqs.ts';

/** One S3 notification record with the key exactly as given (already encoded the S3 way). */
function record(eventName: string, encodedKey: string, object: Record<string, unknown> = {}, bucket = 'docs'): Record<string, unknown> {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'eu-west-1',
    eventTime: '2024-05-01T10:00:00.000Z',
    eventName,
    s3: { s3SchemaVersion: '1.0', bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key: encodedKey, ...object } },
  };
}

const notification = (...records: unknown[]) => JSON.stringify({ Records: records });

function eventBridge(detailType: string, key: string, object: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: '0',
    id: '17793124-05d4-b198-2fde-7ededc63b103',
    'detail-type': detailType,
    source: 'aws.s3',
    account: '111122223333',
    time: '2024-05-01T10:00:00Z',
    region: 'eu-west-1',
    resources: ['arn:aws:s3:::docs'],
    detail: { version: '0', bucket: { name: 'docs' }, object: { key, ...object }, reason: 'PutObject' },
  });
}

function assertMalformed(body: string, pattern: RegExp): void {
  assert.throws(() => parseMessageBody(body), (err: unknown) => {
    assert.ok(err instanceof MalformedMessageError, `expected MalformedMessageError, got ${String(err)}`);
    assert.equal(err.kind, 'malformed');
    assert.match(err.message, pattern);
    return true;
  });
}

describe('S3 event notifications', () => {
  test('an ObjectCreated record becomes an upsert carrying etag without quotes, size, version and sequencer', () => {
    const jobs = parseMessageBody(
      notification(record('ObjectCreated:Put', 'reports/q1.pdf', { size: 1234, eTag: '"0123456789abcdef0123456789abcdef"', versionId: 'v-1', sequencer: '0055AED6DCD90281E5' })),
    );
    assert.deepEqual(jobs, [
      {
        action: 'upsert',
        ref: { bucket: 'docs', key: 'reports/q1.pdf', size: 1234, etag: '0123456789abcdef0123456789abcdef', versionId: 'v-1', sequencer: '0055AED6DCD90281E5' },
      },
    ]);
  });

  test('every ObjectCreated variant is an upsert', () => {
    for (const name of ['ObjectCreated:Put', 'ObjectCreated:Post', 'ObjectCreated:Copy', 'ObjectCreated:CompleteMultipartUpload', 's3:ObjectCreated:Put']) {
      assert.equal(parseMessageBody(notification(record(name, 'a.txt')))[0]?.action, 'upsert', name);
    }
  });

  test('ObjectRemoved (including DeleteMarkerCreated) and lifecycle expiry are removes', () => {
    for (const name of ['ObjectRemoved:Delete', 'ObjectRemoved:DeleteMarkerCreated', 'LifecycleExpiration:Delete', 'LifecycleExpiration:DeleteMarkerCreated']) {
      const jobs = parseMessageBody(notification(record(name, 'old.txt', { sequencer: '0A' })));
      assert.deepEqual(jobs, [{ action: 'remove', ref: { bucket: 'docs', key: 'old.txt', sequencer: '0A' } }], name);
    }
  });

  test('other event types are ignored record by record', () => {
    const jobs = parseMessageBody(
      notification(
        record('ObjectRestore:Completed', 'cold.bin'),
        record('Replication:OperationFailedReplication', 'rep.bin'),
        record('ObjectTagging:Put', 'tagged.bin'),
        record('ObjectCreated:Put', 'kept.txt'),
      ),
    );
    assert.deepEqual(jobs.map((j) => j.ref.key), ['kept.txt']);
  });

  test('several records in one message give several jobs, in order', () => {
    const jobs = parseMessageBody(notification(record('ObjectCreated:Put', 'one.txt'), record('ObjectRemoved:Delete', 'two.txt'), record('ObjectCreated:Copy', 'three.txt', {}, 'other-bucket')));
    assert.deepEqual(
      jobs.map((j) => [j.action, j.ref.bucket, j.ref.key]),
      [['upsert', 'docs', 'one.txt'], ['remove', 'docs', 'two.txt'], ['upsert', 'other-bucket', 'three.txt']],
    );
  });

  test('keys are decoded as S3 encodes them: "+" is a space, "%2B" a plus', () => {
    const cases: Array<[string, string]> = [
      ['red+flower.jpg', 'red flower.jpg'],
      ['a%2Bb.txt', 'a+b.txt'],
      ['a+%2B+b.txt', 'a + b.txt'],
      ['%E6%97%A5%E6%9C%AC%E8%AA%9E/%E5%A0%B1%E5%91%8A%E6%9B%B8.pdf', '日本語/報告書.pdf'],
      ['..%2F..%2Fetc%2Fpasswd', '../../etc/passwd'],
      ['../x/../y', '../x/../y'],
      ['dt%3D2024-05-01/_SUCCESS', 'dt=2024-05-01/_SUCCESS'],
      ['100%25+done.txt', '100% done.txt'],
    ];
    for (const [encoded, key] of cases) {
      assert.equal(parseMessageBody(notification(record('ObjectCreated:Put', encoded)))[0]?.ref.key, key, encoded);
    }
  });

  test('keys survive a round trip through the S3 encoding used by the test fixture', () => {
    const keys = ['plain.txt', 'with space.pdf', 'plus+sign.doc', 'both + and space', '日本語のファイル.pdf', '../../escape', 'a/b/c=d&e?f#g.txt', "quote'\"!*()~.txt", '%41 literal percent'];
    for (const key of keys) {
      const body = s3EventNotification({ eventName: 'ObjectCreated:Put', bucket: 'docs', key, sequencer: '01' });
      assert.equal(parseMessageBody(body)[0]?.ref.key, key);
    }
  });

  test('a 1024-byte key is accepted; a longer one is malformed', () => {
    const longest = 'k'.repeat(1021) + '日'; // 1021 + 3 bytes
    assert.equal(parseMessageBody(notification(record('ObjectCreated:Put', encodeS3EventKey(longest))))[0]?.ref.key, longest);
    assertMalformed(notification(record('ObjectCreated:Put', 'k'.repeat(1025))), /1025 bytes, over S3's limit of 1024/);
  });

  test('an ObjectRemoved record has no etag or size and none is invented', () => {
    const [job] = parseMessageBody(notification(record('ObjectRemoved:Delete', 'gone.txt')));
    assert.deepEqual(job, { action: 'remove', ref: { bucket: 'docs', key: 'gone.txt' } });
  });

  test('versionId "null" (unversioned bucket) is no version at all', () => {
    const [job] = parseMessageBody(notification(record('ObjectCreated:Put', 'a.txt', { versionId: 'null' })));
    assert.equal(job?.ref.versionId, undefined);
  });
});

describe('envelopes and other forms', () => {
  test('an S3 notification inside an SNS envelope parses like the bare one', () => {
    const inner = notification(record('ObjectCreated:Put', 'red+flower.jpg', { size: 5 }), record('ObjectRemoved:Delete', 'b.txt'));
    assert.deepEqual(parseMessageBody(snsEnvelope(inner)), parseMessageBody(inner));
    assert.equal(parseMessageBody(snsEnvelope(inner))[0]?.ref.key, 'red flower.jpg');
  });

  test('s3:TestEvent gives no jobs, bare or in SNS', () => {
    const testEvent = JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2024-05-01T10:00:00.000Z', Bucket: 'docs', RequestId: 'X', HostId: 'Y' });
    assert.deepEqual(parseMessageBody(testEvent), []);
    assert.deepEqual(parseMessageBody(snsEnvelope(testEvent)), []);
  });

  test('SNS subscription confirmations give no jobs', () => {
    assert.deepEqual(parseMessageBody(JSON.stringify({ Type: 'SubscriptionConfirmation', Message: 'You have chosen to subscribe', SubscribeURL: 'https://example' })), []);
  });

  test('EventBridge Object Created is an upsert with the key taken as is (not url-decoded)', () => {
    const jobs = parseMessageBody(eventBridge('Object Created', 'raw/a+b c%2B.pdf', { size: 42, etag: 'abc123-2', 'version-id': 'ver', sequencer: '0064D3901D00059242' }));
    assert.deepEqual(jobs, [{ action: 'upsert', ref: { bucket: 'docs', key: 'raw/a+b c%2B.pdf', size: 42, etag: 'abc123-2', versionId: 'ver', sequencer: '0064D3901D00059242' } }]);
  });

  test('EventBridge Object Deleted is a remove; other detail types are ignored', () => {
    assert.deepEqual(parseMessageBody(eventBridge('Object Deleted', '日本/x.txt')), [{ action: 'remove', ref: { bucket: 'docs', key: '日本/x.txt' } }]);
    assert.deepEqual(parseMessageBody(eventBridge('Object Restore Completed', 'x.txt')), []);
    assert.deepEqual(parseMessageBody(eventBridge('Object Tags Added', 'x.txt')), []);
  });

  test('EventBridge from another source is malformed', () => {
    const body = JSON.parse(eventBridge('Object Created', 'x')) as Record<string, unknown>;
    body.source = 'aws.ec2';
    assertMalformed(JSON.stringify(body), /source is "aws.ec2"/);
  });

  test('a plain {bucket, key} body is an upsert of that key, not decoded', () => {
    assert.deepEqual(parseMessageBody(JSON.stringify({ bucket: 'docs', key: 'a+b.txt' })), [{ action: 'upsert', ref: { bucket: 'docs', key: 'a+b.txt' } }]);
    assert.deepEqual(parseMessageBody(JSON.stringify({ bucket: 'docs', key: 'x', action: 'remove' })), [{ action: 'remove', ref: { bucket: 'docs', key: 'x' } }]);
    assertMalformed(JSON.stringify({ bucket: 'docs', key: 'x', action: 'explode' }), /action must be "upsert" or "remove", got "explode"/);
  });
});

describe('hostile and broken bodies are malformed, saying what was wrong', () => {
  test('not JSON', () => {
    assertMalformed('hello world', /not JSON/);
    assertMalformed('{"Records": [', /not JSON/);
    assertMalformed('', /empty/);
  });

  test('JSON that is not an object', () => {
    assertMalformed('[1,2,3]', /must be a JSON object, got array/);
    assertMalformed('"Records"', /must be a JSON object, got string/);
    assertMalformed('null', /must be a JSON object, got null/);
  });

  test('a body over 256 KiB is refused before parsing', () => {
    const big = JSON.stringify({ bucket: 'docs', key: 'x', pad: 'p'.repeat(256 * 1024) });
    assertMalformed(big, /bytes, over the limit of 262144/);
  });

  test('deep nesting is refused before parsing, inside SNS too', () => {
    const deep = '{"a":'.repeat(100) + '1' + '}'.repeat(100);
    assertMalformed(deep, /nests JSON 100 levels deep, over the limit of 32/);
    const deepArrays = JSON.stringify({ Records: JSON.parse('['.repeat(40) + ']'.repeat(40)) });
    assertMalformed(deepArrays, /levels deep/);
    assertMalformed(snsEnvelope(deep), /SNS Message nests JSON/);
  });

  test('the depth scan ignores brackets inside strings', () => {
    assert.equal(jsonDepth(JSON.stringify({ key: '[[[[{{{{' + '\\"[[' })), 1);
    assert.equal(parseMessageBody(JSON.stringify({ bucket: 'docs', key: '{'.repeat(200) }))[0]?.ref.key, '{'.repeat(200));
  });

  test('missing or mistyped fields name the field', () => {
    assertMalformed(JSON.stringify({ Records: 'nope' }), /Records must be an array, got string/);
    assertMalformed(notification({ eventSource: 'aws:s3', s3: {} }), /Records\[0\]\.eventName is missing/);
    assertMalformed(notification({ eventName: 'ObjectCreated:Put' }), /Records\[0\]\.s3 is missing/);
    assertMalformed(notification({ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'docs' }, object: {} } }), /s3\.object\.key is missing/);
    assertMalformed(notification({ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'docs' }, object: { key: 7 } } }), /s3\.object\.key must be a string, got number/);
    assertMalformed(notification({ eventName: 'ObjectCreated:Put', s3: { bucket: {}, object: { key: 'a' } } }), /s3\.bucket\.name is missing/);
    assertMalformed(notification(record('ObjectCreated:Put', 'a', { size: -1 })), /size must be a non-negative integer, got -1/);
    assertMalformed(notification(record('ObjectCreated:Put', 'a', { size: '12' })), /size must be a non-negative integer, got "12"/);
    assertMalformed(notification(record('ObjectCreated:Put', 'a', { sequencer: 'not-hex' })), /sequencer must be hex/);
    assertMalformed(notification(record('ObjectCreated:Put', 'a', {}, '../bucket')), /not a valid bucket name/);
    assertMalformed(JSON.stringify({ Type: 'Notification', Message: 42 }), /SNS envelope without a string Message/);
    assertMalformed(JSON.stringify({ hello: 'world' }), /not an S3 notification.*"hello"/);
  });

  test('a record from another event source is malformed', () => {
    assertMalformed(notification({ ...record('ObjectCreated:Put', 'a'), eventSource: 'aws:dynamodb' }), /eventSource is "aws:dynamodb"/);
  });

  test('broken percent-encoding and empty keys are malformed', () => {
    assertMalformed(notification(record('ObjectCreated:Put', 'bad%E0%A4%A.txt')), /invalid percent-encoding/);
    assertMalformed(notification(record('ObjectCreated:Put', '100%')), /invalid percent-encoding/);
    assertMalformed(notification(record('ObjectCreated:Put', '')), /empty object key/);
  });

  test('one bad record fails the whole message rather than dropping it silently', () => {
    assertMalformed(notification(record('ObjectCreated:Put', 'good.txt'), record('ObjectCreated:Put', 'bad%')), /Records\[1\]/);
  });

  test('prototype keys in a body do not leak into jobs', () => {
    const [job] = parseMessageBody('{"bucket":"docs","key":"k","__proto__":{"versionId":"evil"}}');
    assert.deepEqual(job, { action: 'upsert', ref: { bucket: 'docs', key: 'k' } });
    assert.equal(({} as { versionId?: string }).versionId, undefined);
  });
});
