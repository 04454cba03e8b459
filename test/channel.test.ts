import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Channel, ChannelClosedError } from '../src/flow/channel.ts';
import { batches, writeBatches } from '../src/flow/batch.ts';

test('push waits while the channel is full and resumes when an item is taken', async () => {
  const ch = new Channel<number>('t', 2);
  await ch.push(1);
  await ch.push(2);
  let third = false;
  const p = ch.push(3).then(() => { third = true; });
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(third, false, 'third push blocked at capacity');
  assert.equal(ch.depth, 2);
  assert.deepEqual(await ch.pull(), { value: 1, done: false });
  await p;
  assert.equal(third, true);
  assert.equal(ch.depth, 2);
});

test('close lets consumers drain, then ends iteration; later pushes reject', async () => {
  const ch = new Channel<number>('t', 5);
  await ch.push(1);
  await ch.push(2);
  ch.close();
  const seen: number[] = [];
  for await (const v of ch) seen.push(v);
  assert.deepEqual(seen, [1, 2]);
  await assert.rejects(ch.push(3), ChannelClosedError);
});

test('waitForSpace does not steal a wake-up from a real producer', async () => {
  const ch = new Channel<number>('t', 1);
  await ch.push(1);
  const waiting = ch.waitForSpace();
  let pushed = false;
  const producer = ch.push(2).then(() => { pushed = true; });
  await ch.pull();
  await waiting;
  await producer;
  assert.equal(pushed, true);
});

test('batches close by count and by time, and lose no item', async () => {
  const ch = new Channel<number>('t', 100);
  for (let i = 0; i < 7; i++) await ch.push(i);
  const out: number[][] = [];
  const done = (async () => { for await (const b of batches(ch, { maxCount: 3, maxWaitMs: 30 })) out.push(b); })();
  await new Promise((r) => setTimeout(r, 80));
  await ch.push(7);
  await new Promise((r) => setTimeout(r, 5));
  ch.close();
  await done;
  assert.deepEqual(out.slice(0, 2), [[0, 1, 2], [3, 4, 5]]);
  assert.deepEqual(out.flat(), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('writeBatches keeps at most `concurrency` writes in flight and leaves the rest in the channel', async () => {
  const ch = new Channel<number>('w', 100);
  for (let i = 0; i < 10; i++) await ch.push(i);
  ch.close();
  let inFlight = 0;
  let most = 0;
  const releases: Array<() => void> = [];
  const written: number[][] = [];
  const done = writeBatches(ch, { maxCount: 2, maxWaitMs: 1_000, concurrency: 2 }, async (batch) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise<void>((r) => releases.push(r));
    written.push(batch);
    inFlight--;
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(inFlight, 2, 'two writes started');
  // Two batches writing, at most one more formed and waiting: the rest stay in the channel.
  assert.ok(ch.depth >= 4, `channel still holds ${ch.depth}`);
  while (written.flat().length < 10) {
    releases.shift()?.();
    await new Promise((r) => setTimeout(r, 5));
  }
  await done;
  assert.equal(most, 2);
  assert.deepEqual(written.flat().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('writeBatches ends with the error of a write that throws', async () => {
  const ch = new Channel<number>('e', 10);
  for (let i = 0; i < 4; i++) await ch.push(i);
  ch.close();
  await assert.rejects(
    writeBatches(ch, { maxCount: 1, maxWaitMs: 10, concurrency: 1 }, async (b) => {
      if (b[0] === 1) throw new Error('sink down');
    }),
    /sink down/,
  );
});
