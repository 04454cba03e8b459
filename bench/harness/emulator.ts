// The emulator the bench runs against: fauxqs on 127.0.0.1 (the test fixture), plus what a benchmark
// needs on top: a fresh queue per run, a backlog enqueued without HTTP, and a "drained" check.
//
// A fresh queue per run matters: fauxqs (like SQS) keeps serving a long poll whose client has gone,
// so a queue reused right after a worker stopped would lose messages to the dead polls for a whole
// visibility timeout.
import { readFile, stat } from 'node:fs/promises';
import { s3EventNotification, startSqsS3Fixture, type SqsS3Fixture } from '../../test/helpers/fauxqs.ts';

export type StoredObject = { key: string; etag: string; size: number };

export type Emulator = {
  fixture: SqsS3Fixture;
  /** A new empty queue; returns its name and URL (the URL the workers use). */
  newQueue(label: string): { name: string; url: string };
  /** Enqueues one ObjectCreated event per object, straight into the emulator's store. */
  enqueueUpserts(queue: string, objects: StoredObject[]): number;
  /** Messages not yet deleted (visible, in flight or delayed). */
  remaining(queue: string): number;
  /** Resolves once the queue holds no message at all; polls every `everyMs`. Rejects after `timeoutMs`. */
  waitDrained(queue: string, timeoutMs: number, everyMs?: number): Promise<number>;
  putFile(key: string, path: string, contentType?: string): Promise<StoredObject>;
  putBytes(key: string, body: Uint8Array | string, contentType?: string): Promise<StoredObject>;
  stop(): Promise<void>;
};

export async function startEmulator(): Promise<Emulator> {
  const fixture = await startSqsS3Fixture({ visibilityTimeout: 60, maxReceiveCount: 5 });
  let n = 0;
  let seq = BigInt(Date.now()) << 16n;
  const emu: Emulator = {
    fixture,
    newQueue(label) {
      const name = `bench-${label}-${++n}`;
      fixture.server.createQueue(name, { attributes: { VisibilityTimeout: '60' } });
      return { name, url: `${fixture.endpoint}/000000000000/${name}` };
    },
    enqueueUpserts(queue, objects) {
      for (const o of objects) {
        seq++;
        const body = s3EventNotification({
          eventName: 'ObjectCreated:Put',
          bucket: fixture.bucket,
          key: o.key,
          etag: o.etag,
          size: o.size,
          sequencer: seq.toString(16).toUpperCase().padStart(18, '0'),
        });
        fixture.server.sendMessage(queue, body);
      }
      return objects.length;
    },
    remaining(queue) {
      const q = fixture.server.inspectQueue(queue);
      if (!q) throw new Error(`bench queue ${queue} is gone`);
      return q.messages.ready.length + q.messages.inflight.length + q.messages.delayed.length;
    },
    async waitDrained(queue, timeoutMs, everyMs = 20) {
      const t0 = performance.now();
      for (;;) {
        if (emu.remaining(queue) === 0) return performance.now();
        if (performance.now() - t0 > timeoutMs) throw new Error(`queue ${queue} still holds ${emu.remaining(queue)} messages after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    },
    async putFile(key, path, contentType) {
      const size = (await stat(path)).size;
      // Small files go up in one PutObject; the fixture switches to multipart above 5 MiB.
      const out = await fixture.putObject(key, size > 5 * 1024 * 1024 ? { path } : await readFile(path), contentType ? { contentType } : {});
      return { key, etag: out.etag, size: out.size };
    },
    async putBytes(key, body, contentType) {
      const out = await fixture.putObject(key, body, contentType ? { contentType } : {});
      return { key, etag: out.etag, size: out.size };
    },
    stop: () => fixture.stop(),
  };
  return emu;
}
