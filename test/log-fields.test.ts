import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { messageOutcomeFields, outcomeLevel } from '../src/telemetry/log-fields.ts';

describe('messageOutcomeFields', () => {
  it('names the message, its one source, status and per-stage ms in stage order', () => {
    const f = messageOutcomeFields({
      messageId: 'm-1',
      sources: ['s3://docs/a b.pdf'],
      status: 'deleted',
      stageMs: { index: 12.345, download: 30.04, extract: 1200.96, receive: 0.123 },
      totalMs: 1300.449,
      receiveCount: 1,
      documents: ['ok'],
    });
    assert.deepEqual(f, {
      event: 'message',
      messageId: 'm-1',
      status: 'deleted',
      source: 's3://docs/a b.pdf',
      ms: { receive: 0.1, download: 30, extract: 1201, index: 12.3 },
      totalMs: 1300.4,
      receiveCount: 1,
      docStatus: 'ok',
    });
    assert.deepEqual(Object.keys(f.ms), ['receive', 'download', 'extract', 'index']);
  });

  it('lists every source and document status when a message carried several records', () => {
    const f = messageOutcomeFields({
      messageId: 'm-2',
      sources: ['s3://b/one', 's3://b/two'],
      status: 'deleted',
      stageMs: {},
      totalMs: 5,
      documents: ['ok', 'unsupported'],
    });
    assert.equal(f.source, 's3://b/one');
    assert.deepEqual(f.sources, ['s3://b/one', 's3://b/two']);
    assert.deepEqual(f.docStatuses, ['ok', 'unsupported']);
    assert.equal(f.docStatus, undefined);
  });

  it('keeps retry details, cuts long errors and drops non-finite timings', () => {
    const f = messageOutcomeFields({
      messageId: 'm-3',
      sources: [],
      status: 'retry',
      stageMs: { download: Number.NaN, extract: 4 },
      totalMs: 10,
      retryInSeconds: 40,
      error: 'x'.repeat(1000),
    });
    assert.equal(f.source, undefined);
    assert.deepEqual(f.ms, { extract: 4 });
    assert.equal(f.retryInSeconds, 40);
    assert.ok(f.error!.length <= 301, `error length ${f.error!.length}`);
  });

  it('does not carry fields outside its input type, such as a receipt handle', () => {
    const input = { messageId: 'm-4', sources: ['/tmp/x.txt'], status: 'deleted' as const, stageMs: {}, totalMs: 1, receiptHandle: 'SECRET' };
    assert.ok(!JSON.stringify(messageOutcomeFields(input)).includes('SECRET'));
  });

  it('logs deletions at info and everything given back at warn', () => {
    assert.equal(outcomeLevel('deleted'), 'info');
    for (const s of ['retry', 'malformed', 'shutdown', 'delete_failed'] as const) assert.equal(outcomeLevel(s), 'warn');
  });
});
