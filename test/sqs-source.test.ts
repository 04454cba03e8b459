import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createAwsClients } from '../src/adapters/aws-clients.ts';
import { S3BlobStore } from '../src/adapters/s3-blob-store.ts';
import { SqsJobSource, type SqsJobSourceOptions, type SqsSender } from '../src/adapters/sqs-source.ts';
import { loadConfig } from '../src/config.ts';
import { MalformedMessageError } from '../src/errors.ts';
import { noTelemetry, type Telemetry } from '../src/telemetry/telemetry.ts';
import type { Delivery, Lease } from '../src/types.ts';
import { startSqsS3Fixture, type SqsS3Fixture } from './helpers/fauxqs.ts';

type Counts = { extended: number; failed: number };

function recordingTelemetry(): { telemetry: Telemetry; counts: Counts } {
  const counts: Counts = { extended: 0, failed: 0 };
  return {
    counts,
    telemetry: { ...noTelemetry, heartbeatExtended: (n) => void (counts.extended += n), heartbeatFailed: (n) => void (counts.failed += n) },
  };
}

/** Receives until `n` deliveries have arrived (fauxqs may hand them out over several polls). */
async function receiveN(source: SqsJobSource, n: number): Promise<Delivery[]> {
  const got: Delivery[] = [];
  for (let i = 0; i < 20 && got.length < n; i++) got.push(...(await source.receive(n - got.length, new AbortController().signal)));
  assert.equal(got.length, n, `expected ${n} deliveries`);
  return got;
}

/** What another consumer would get right now (no long poll). */
async function otherConsumerReceives(fx: SqsS3Fixture): Promise<number> {
  const out = await fx.sqs.send(new ReceiveMessageCommand({ QueueUrl: fx.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30 }));
  return out.Messages?.length ?? 0;
}

describe('SqsJobSource against fauxqs', () => {
  let fx: SqsS3Fixture;
  const sources: SqsJobSource[] = [];
  const source = (o: Partial<SqsJobSourceOptions> = {}): SqsJobSource => {
    const s = new SqsJobSource({ client: fx.sqs, queueUrl: fx.queueUrl, waitTimeSeconds: 1, visibilityTimeoutSeconds: 30, heartbeatSeconds: 10, ...o });
    sources.push(s);
    return s;
  };

  beforeEach(async () => {
    fx = await startSqsS3Fixture({ maxReceiveCount: 2 });
  });
  afterEach(async () => {
    for (const s of sources.splice(0)) await s.close();
    await fx.stop();
  });

  test('receive turns a message into a lease with its jobs; ack deletes it from the queue', async () => {
    await fx.putObject('reports/q1 final.pdf', 'hello');
    await fx.sendS3Event('upsert', 'reports/q1 final.pdf');
    const s = source({ now: () => 1_000_000 });
    const [d] = await receiveN(s, 1);
    assert.ok(d && d.jobs, 'a parsed delivery');
    assert.equal(d.jobs.length, 1);
    assert.equal(d.jobs[0]?.ref.key, 'reports/q1 final.pdf');
    assert.equal(d.jobs[0]?.ref.size, 5);
    assert.deepEqual(Object.keys(d.lease).sort(), ['id', 'receiveCount', 'receivedAt'], 'no receipt handle on the lease');
    assert.equal(d.lease.receiveCount, 1);
    assert.equal(d.lease.receivedAt, 1_000_000);
    assert.deepEqual(await fx.queueCounts(), { visible: 0, inFlight: 1, delayed: 0 });
    assert.equal(s.inFlight().count, 1);

    assert.deepEqual(await s.ack([d.lease]), { failed: [] });
    assert.deepEqual(await fx.queueCounts(), { visible: 0, inFlight: 0, delayed: 0 });
    assert.equal(s.inFlight().count, 0);
    // A lease ends once: acking or releasing it again does nothing.
    assert.deepEqual(await s.ack([d.lease]), { failed: [] });
    await s.release(d.lease, 0);
    assert.deepEqual(await fx.queueCounts(), { visible: 0, inFlight: 0, delayed: 0 });
  });

  test('an SNS-wrapped event and a TestEvent arrive as deliveries (the TestEvent with no jobs)', async () => {
    await fx.sendS3Event('remove', 'a+b.txt', { sns: true });
    await fx.sendRaw(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: fx.bucket }));
    const ds = await receiveN(source(), 2);
    const jobs = ds.flatMap((d) => d.jobs ?? []);
    assert.deepEqual(jobs.map((j) => [j.action, j.ref.key]), [['remove', 'a+b.txt']]);
    assert.ok(ds.every((d) => !d.malformed));
  });

  test('the heartbeat keeps a slow message invisible past its visibility timeout; release(…, 0) brings it back', async () => {
    const { telemetry, counts } = recordingTelemetry();
    await fx.sendRaw(JSON.stringify({ bucket: fx.bucket, key: 'slow.pdf' }));
    const s = source({ visibilityTimeoutSeconds: 2, heartbeatSeconds: 1, telemetry });
    const [d] = await receiveN(s, 1);
    for (let t = 0; t < 5; t++) {
      await sleep(1000);
      assert.equal(await otherConsumerReceives(fx), 0, `nobody else gets the message after ${t + 1}s`);
    }
    assert.ok(counts.extended >= 3, `heartbeat extended the lease (${counts.extended} times)`);
    assert.equal(counts.failed, 0);
    assert.equal(s.inFlight().count, 1);

    await s.release(d!.lease, 0);
    assert.equal(s.inFlight().count, 0);
    const again = await receiveN(source(), 1);
    assert.equal(again[0]?.lease.id, d!.lease.id);
    assert.equal(again[0]?.lease.receiveCount, 2);
  });

  test('release with a delay hides the message for that long, then it returns', async () => {
    await fx.sendRaw(JSON.stringify({ bucket: fx.bucket, key: 'retry.txt' }));
    const s = source();
    const [d] = await receiveN(s, 1);
    await s.release(d!.lease, 2);
    assert.equal(await otherConsumerReceives(fx), 0, 'still hidden right after the release');
    assert.equal((await fx.queueCounts()).inFlight, 1);
    await sleep(2200);
    assert.equal((await fx.queueCounts()).visible, 1, 'visible again after the delay');
    assert.equal(s.inFlight().count, 0);
  });

  test('a malformed body is delivered as malformed and its lease is held like any other', async () => {
    await fx.sendRaw('this is not json');
    const s = source();
    const [d] = await receiveN(s, 1);
    assert.ok(d?.malformed instanceof MalformedMessageError);
    assert.match(d.malformed.message, /not JSON/);
    assert.equal(d.jobs, undefined);
    assert.equal(s.inFlight().count, 1);
  });

  test('aborting an idle long poll returns promptly with nothing', async () => {
    const s = source({ waitTimeSeconds: 20 });
    const ac = new AbortController();
    const started = Date.now();
    const pending = s.receive(10, ac.signal);
    setTimeout(() => ac.abort(), 200);
    const guard = sleep(10_000, 'still waiting', { ref: false });
    const result = await Promise.race([pending, guard]);
    assert.deepEqual(result, [], `receive resolved [] (after ${Date.now() - started} ms) instead of waiting out the 20 s poll`);
  });

  test('close() ends an idle long poll and releases every held lease at once', async () => {
    for (let i = 0; i < 3; i++) await fx.sendRaw(JSON.stringify({ bucket: fx.bucket, key: `k${i}` }));
    const s = source({ waitTimeSeconds: 20 });
    const held = await receiveN(s, 3);
    assert.equal(held.length, 3);
    assert.deepEqual(await fx.queueCounts(), { visible: 0, inFlight: 3, delayed: 0 });
    const idle = s.receive(10, new AbortController().signal); // nothing left: a 20 s poll
    await sleep(100);
    await s.close();
    assert.deepEqual(await Promise.race([idle, sleep(10_000, 'still waiting', { ref: false })]), []);
    assert.deepEqual(await fx.queueCounts(), { visible: 3, inFlight: 0, delayed: 0 });
    assert.equal(s.inFlight().count, 0);
    assert.deepEqual(await s.receive(10, new AbortController().signal), [], 'a closed source receives nothing');
  });

  test('why close() releases before it aborts: a poll cut by its client still takes messages on the server', async () => {
    // Same as real SQS (aws/aws-sdk-js#2350): the dead poll swallows the next message for a visibility timeout.
    const s = source({ waitTimeSeconds: 20 });
    const ac = new AbortController();
    const pending = s.receive(10, ac.signal);
    await sleep(100);
    ac.abort();
    assert.deepEqual(await pending, []);
    await fx.sendRaw(JSON.stringify({ bucket: fx.bucket, key: 'swallowed' }));
    await sleep(100);
    assert.deepEqual(await fx.queueCounts(), { visible: 0, inFlight: 1, delayed: 0 });
  });

  test('fauxqs honours the redrive policy: past maxReceiveCount the message moves to the DLQ', async () => {
    const body = JSON.stringify({ bucket: fx.bucket, key: 'poison' });
    await fx.sendRaw(body);
    const s = source();
    for (let i = 1; i <= 2; i++) {
      const [d] = await receiveN(s, 1);
      assert.equal(d?.lease.receiveCount, i);
      await s.release(d!.lease, 0);
    }
    assert.deepEqual(await s.receive(10, new AbortController().signal), [], 'the third receive finds nothing');
    assert.equal(await fx.dlqCount(), 1);
    const dead = await fx.receiveAllFromDlq();
    assert.deepEqual(dead.map((m) => m.body), [body]);
    assert.equal(await fx.dlqCount(), 0);
  });
});

describe('clients built from config and the environment', () => {
  test('reach fauxqs through AWS_ENDPOINT_URL even when the queue URL names another host', async () => {
    const fx = await startSqsS3Fixture();
    const saved = Object.fromEntries(Object.keys(fx.env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, fx.env);
    const clients = createAwsClients(loadConfig(fx.env));
    try {
      // fauxqs's own URL form, http://sqs.us-east-1.localhost:PORT/..., does not resolve here.
      const nativeUrl = fx.server.inspectQueue('jobs')!.url;
      assert.match(nativeUrl, /sqs\.us-east-1\.localhost/);
      await fx.putObject('env/check.txt', 'from env');
      await fx.sendS3Event('upsert', 'env/check.txt');
      const s = new SqsJobSource({ client: clients.sqs, queueUrl: nativeUrl, waitTimeSeconds: 1, visibilityTimeoutSeconds: 30, heartbeatSeconds: 10 });
      const [d] = await receiveN(s, 1);
      const ref = d!.jobs![0]!.ref;
      const dir = await mkdtemp(path.join(os.tmpdir(), 'aws-clients-'));
      const file = await new S3BlobStore({ client: clients.s3 }).download(ref, { dir, maxBytes: 1000 });
      assert.equal(await readFile(file.path, 'utf8'), 'from env');
      await rm(dir, { recursive: true });
      assert.deepEqual(await s.ack([d!.lease]), { failed: [] });
      await s.close();
    } finally {
      clients.destroy();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await fx.stop();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Paths fauxqs never takes (it always deletes and extends successfully): a stubbed SQS client.

type Sent = { name: string; input: Record<string, unknown> };

function stubClient(handlers: Record<string, (input: Record<string, unknown>) => unknown>): { client: SqsSender; sent: Sent[] } {
  const sent: Sent[] = [];
  const client = {
    async send(cmd: { constructor: { name: string }; input: Record<string, unknown> }) {
      const name = cmd.constructor.name.replace(/Command$/, '');
      sent.push({ name, input: cmd.input });
      const h = handlers[name];
      if (!h) throw new Error(`stub: unexpected ${name}`);
      return h(cmd.input);
    },
  } as unknown as SqsSender;
  return { client, sent };
}

const messages = (n: number) => ({
  Messages: Array.from({ length: n }, (_, i) => ({
    MessageId: `m${i}`,
    ReceiptHandle: `secret-handle-${i}`,
    Body: JSON.stringify({ bucket: 'docs', key: `k${i}` }),
    Attributes: { ApproximateReceiveCount: String(i + 1) },
  })),
});

function capturingLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const dest = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  return { logger: pino({ level: 'debug' }, dest), lines };
}

describe('SqsJobSource with a stubbed SQS client', () => {
  const base = { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q', waitTimeSeconds: 0, visibilityTimeoutSeconds: 30, heartbeatSeconds: 10 };

  test('receive asks for at most 10 messages with the visibility, wait and attributes it needs', async () => {
    const { client, sent } = stubClient({ ReceiveMessage: () => messages(2) });
    const s = new SqsJobSource({ ...base, client, waitTimeSeconds: 7 });
    const ds = await s.receive(25, new AbortController().signal);
    assert.equal(ds.length, 2);
    assert.deepEqual(ds.map((d) => d.lease.receiveCount), [1, 2]);
    const input = sent[0]!.input;
    assert.equal(input.MaxNumberOfMessages, 10);
    assert.equal(input.WaitTimeSeconds, 7);
    assert.equal(input.VisibilityTimeout, 30);
    assert.deepEqual(input.MessageSystemAttributeNames, ['ApproximateReceiveCount', 'SentTimestamp']);
    await s.close();
  });

  test('ack: a retryable entry failure is returned and kept; a sender-fault failure ends the lease; handles are never logged', async () => {
    const { logger, lines } = capturingLogger();
    let deleteReply: unknown = {
      Successful: [{ Id: '0' }],
      Failed: [
        { Id: '1', SenderFault: false, Code: 'InternalError', Message: 'try again' },
        { Id: '2', SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: 'The input receipt handle is invalid.' },
      ],
    };
    const { client, sent } = stubClient({
      ReceiveMessage: () => messages(3),
      DeleteMessageBatch: () => deleteReply,
      ChangeMessageVisibility: () => ({}),
      ChangeMessageVisibilityBatch: () => ({ Successful: [], Failed: [] }),
    });
    const s = new SqsJobSource({ ...base, client, logger });
    const [a, b, c] = (await s.receive(10, new AbortController().signal)).map((d) => d.lease) as [Lease, Lease, Lease];

    const result = await s.ack([a, b, c]);
    assert.deepEqual(result.failed, [b], 'only the entry a retry can help is reported');
    assert.deepEqual(sent.at(-1)!.input.Entries, [
      { Id: '0', ReceiptHandle: 'secret-handle-0' },
      { Id: '1', ReceiptHandle: 'secret-handle-1' },
      { Id: '2', ReceiptHandle: 'secret-handle-2' },
    ]);
    assert.equal(s.inFlight().count, 1, 'the failed lease is still held (and heartbeated)');

    const before = sent.length;
    await s.release(c, 0);
    await s.ack([a]);
    assert.equal(sent.length, before, 'ended leases cost no calls');

    deleteReply = { Successful: [{ Id: '0' }], Failed: [] };
    assert.deepEqual(await s.ack([b]), { failed: [] }, 'the retry succeeds');
    assert.equal(s.inFlight().count, 0);
    await s.close();

    const log = lines.join('');
    assert.match(log, /ReceiptHandleIsInvalid/, 'the refusal is logged');
    assert.doesNotMatch(log, /secret-handle/, 'receipt handles never reach the log');
  });

  test('ack: a whole-call failure (throttling) returns every lease as failed and keeps them all', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    const { client } = stubClient({
      ReceiveMessage: () => messages(2),
      DeleteMessageBatch: () => {
        throw throttled;
      },
      ChangeMessageVisibilityBatch: () => ({ Successful: [], Failed: [] }),
    });
    const s = new SqsJobSource({ ...base, client });
    const leases = (await s.receive(10, new AbortController().signal)).map((d) => d.lease);
    assert.deepEqual((await s.ack(leases)).failed, leases);
    assert.equal(s.inFlight().count, 2);
    await s.close();
  });

  test('ack of more than 10 leases is split into batches of 10', async () => {
    let n = 0;
    const { client, sent } = stubClient({
      ReceiveMessage: () => {
        const m = messages(10);
        for (const x of m.Messages) {
          x.MessageId = `m${n}`;
          x.ReceiptHandle = `h${n++}`;
        }
        return m;
      },
      DeleteMessageBatch: (input) => ({ Successful: (input.Entries as Array<{ Id: string }>).map((e) => ({ Id: e.Id })), Failed: [] }),
    });
    const s = new SqsJobSource({ ...base, client });
    const leases = [...(await s.receive(10, new AbortController().signal)), ...(await s.receive(10, new AbortController().signal))].map((d) => d.lease);
    assert.deepEqual(await s.ack(leases.slice(0, 12)), { failed: [] });
    assert.deepEqual(sent.filter((x) => x.name === 'DeleteMessageBatch').map((x) => (x.input.Entries as unknown[]).length), [10, 2]);
    assert.equal(s.inFlight().count, 8);
  });

  test('heartbeat: one batched call per 10 leases; a lost handle drops its lease with a warning', async () => {
    const { telemetry, counts } = recordingTelemetry();
    const { logger, lines } = capturingLogger();
    let n = 0;
    const { client, sent } = stubClient({
      ReceiveMessage: () => {
        const m = messages(10);
        for (const x of m.Messages) x.ReceiptHandle = `h${n++}`;
        return m;
      },
      ChangeMessageVisibilityBatch: (input) => {
        const entries = input.Entries as Array<{ Id: string; ReceiptHandle: string }>;
        const lost = entries.filter((e) => e.ReceiptHandle === 'h3');
        return {
          Successful: entries.filter((e) => e.ReceiptHandle !== 'h3').map((e) => ({ Id: e.Id })),
          Failed: lost.map((e) => ({ Id: e.Id, SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: 'invalid' })),
        };
      },
    });
    const s = new SqsJobSource({ ...base, client, heartbeatSeconds: 0.05, telemetry, logger });
    await s.receive(10, new AbortController().signal);
    await s.receive(10, new AbortController().signal);
    await s.receive(10, new AbortController().signal);
    await sleep(120);
    await s.close();
    const beats = sent.filter((x) => x.name === 'ChangeMessageVisibilityBatch' && (x.input.Entries as Array<{ VisibilityTimeout: number }>)[0]?.VisibilityTimeout === 30);
    assert.ok(beats.length >= 3, 'the first beat took 3 calls');
    assert.deepEqual(beats.slice(0, 3).map((b) => (b.input.Entries as unknown[]).length), [10, 10, 10]);
    assert.ok(counts.extended >= 29);
    assert.ok(counts.failed >= 1);
    assert.match(lines.join(''), /lease lost/);
    const beatHandles = beats.flatMap((b) => (b.input.Entries as Array<{ ReceiptHandle: string }>).map((e) => e.ReceiptHandle));
    assert.equal(beatHandles.filter((h) => h === 'h3').length, 1, 'the lost lease is not extended again');
  });

  test('heartbeats never overlap, however slow SQS is', async () => {
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    const { client } = stubClient({
      ReceiveMessage: () => messages(1),
      ChangeMessageVisibilityBatch: async () => {
        active++;
        calls++;
        maxActive = Math.max(maxActive, active);
        await sleep(80);
        active--;
        return { Successful: [{ Id: '0' }], Failed: [] };
      },
    });
    const s = new SqsJobSource({ ...base, client, heartbeatSeconds: 0.02 });
    await s.receive(1, new AbortController().signal);
    await sleep(400);
    await s.close();
    assert.ok(calls >= 2, `several beats ran (${calls})`);
    assert.equal(maxActive, 1);
  });

  test('release clamps the delay to 0..43200 and ends the lease once', async () => {
    const { client, sent } = stubClient({ ReceiveMessage: () => messages(3), ChangeMessageVisibility: () => ({}) });
    const s = new SqsJobSource({ ...base, client });
    const [a, b, c] = (await s.receive(3, new AbortController().signal)).map((d) => d.lease) as [Lease, Lease, Lease];
    await s.release(a, -5);
    await s.release(b, 1e9);
    await s.release(c, 2.2);
    await s.release(c, 0);
    const cmv = sent.filter((x) => x.name === 'ChangeMessageVisibility').map((x) => x.input.VisibilityTimeout);
    assert.deepEqual(cmv, [0, 43200, 3]);
    assert.equal(s.inFlight().count, 0);
    await s.close();
  });

  test('a release that SQS refuses does not throw: the lease has ended either way', async () => {
    const { client } = stubClient({
      ReceiveMessage: () => messages(1),
      ChangeMessageVisibility: () => {
        throw Object.assign(new Error('boom'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
      },
    });
    const s = new SqsJobSource({ ...base, client });
    const [d] = await s.receive(1, new AbortController().signal);
    await s.release(d!.lease, 10);
    assert.equal(s.inFlight().count, 0);
  });

  test('a receive error other than an abort is thrown, classified', async () => {
    const { client } = stubClient({
      ReceiveMessage: () => {
        throw Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
      },
    });
    const s = new SqsJobSource({ ...base, client });
    await assert.rejects(s.receive(1, new AbortController().signal), (err: Error & { kind?: string }) => err.kind === 'retryable');
  });

  test('inFlight reports the count and the age of the oldest lease', async () => {
    let now = 10_000;
    const { client } = stubClient({ ReceiveMessage: () => messages(1), ChangeMessageVisibilityBatch: () => ({ Successful: [], Failed: [] }) });
    const s = new SqsJobSource({ ...base, client, now: () => now });
    assert.deepEqual(s.inFlight(), { count: 0, oldestAgeSeconds: 0 });
    await s.receive(1, new AbortController().signal);
    now += 5_000;
    await s.receive(1, new AbortController().signal);
    now += 2_500;
    assert.deepEqual(s.inFlight(), { count: 2, oldestAgeSeconds: 7.5 });
    await s.close();
  });

  test('options are validated with the bad value named', () => {
    const { client } = stubClient({});
    assert.throws(() => new SqsJobSource({ ...base, client, heartbeatSeconds: 30 }), /heartbeatSeconds must be > 0 and under visibilityTimeoutSeconds \(30\), got 30/);
    assert.throws(() => new SqsJobSource({ ...base, client, waitTimeSeconds: 21 }), /waitTimeSeconds must be an integer 0..20, got 21/);
  });
});
