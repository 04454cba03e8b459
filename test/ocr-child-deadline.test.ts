// An OCR child past its deadline, or whose caller gave up, is killed (SIGKILL) — by the one-shot runner
// and by the long-lived session alike — and a child that answered leaves no timer or abort listener behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { getEventListeners, once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { killOnDeadline, type DeadlineWatch } from '../src/workers/ocr/kill-on-deadline.ts';
import { runProcess } from '../src/workers/ocr/spawner.ts';
import { ProcessSession } from '../src/workers/ocr/process-session.ts';

/** A child that never ends by itself. */
const forever = ['-e', 'setInterval(() => {}, 1000)'];

function idleChild(): ChildProcess {
  return spawn(process.execPath, forever, { stdio: 'ignore' });
}

async function ended(child: ChildProcess): Promise<string | null> {
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  return child.signalCode;
}

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** Runs `check` on an idle child watched by killOnDeadline; the child and the watch never outlive it. */
async function watched(ms: number, signal: AbortSignal | undefined, check: (child: ChildProcess, watch: DeadlineWatch) => Promise<void>): Promise<void> {
  const child = idleChild();
  const watch = killOnDeadline(child, ms, signal);
  try {
    await check(child, watch);
  } finally {
    watch.dispose();
    child.kill('SIGKILL');
  }
}

test('killOnDeadline kills the child with SIGKILL at its deadline and says it timed out', { timeout: 20_000 }, async () => {
  await watched(150, undefined, async (child, watch) => {
    assert.equal(await ended(child), 'SIGKILL');
    assert.equal(watch.timedOut, true);
  });
});

test('killOnDeadline kills the child with SIGKILL when the signal aborts (or has aborted), not as a timeout', { timeout: 20_000 }, async () => {
  const ac = new AbortController();
  await watched(60_000, ac.signal, async (child, watch) => {
    await sleep(50);
    assert.equal(child.exitCode, null, 'still running before the abort');
    ac.abort();
    assert.equal(await ended(child), 'SIGKILL');
    assert.equal(watch.timedOut, false);
  });
  await watched(60_000, ac.signal, async (child) => {
    assert.equal(await ended(child), 'SIGKILL', 'a signal aborted before the watch began kills at once');
  });
});

test('a disposed watch leaves no timer or abort listener, and neither its deadline nor an abort kills the child after', { timeout: 20_000 }, async () => {
  const ac = new AbortController();
  const child = idleChild();
  try {
    const before = timers();
    const watch = killOnDeadline(child, 100, ac.signal);
    assert.equal(timers(), before + 1);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
    watch.dispose();
    watch.dispose();
    assert.equal(timers(), before, 'the deadline timer is cleared');
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0, 'the abort listener is removed');
    await sleep(300);
    ac.abort();
    await sleep(100);
    assert.equal(child.exitCode, null);
    assert.equal(child.signalCode, null, 'the child still runs');
    assert.equal(watch.timedOut, false);
  } finally {
    child.kill('SIGKILL');
  }
});

test('runProcess: a child past its deadline is killed and reported timed out; an abort kills it without a timeout; nothing is left on the signal', { timeout: 20_000 }, async () => {
  const job = { bin: process.execPath, args: forever, input: new Uint8Array(), env: {} };
  const late = await runProcess({ ...job, timeoutMs: 150 });
  assert.equal(late.signal, 'SIGKILL');
  assert.equal(late.timedOut, true);

  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const aborted = await runProcess({ ...job, timeoutMs: 60_000 }, ac.signal);
  assert.equal(aborted.signal, 'SIGKILL');
  assert.equal(aborted.timedOut, false);

  const kept = new AbortController();
  const quick = await runProcess({ ...job, args: ['-e', 'process.stdout.write("ok")'], timeoutMs: 60_000 }, kept.signal);
  assert.deepEqual([quick.code, quick.stdout, quick.timedOut], [0, 'ok', false]);
  assert.equal(getEventListeners(kept.signal, 'abort').length, 0);
});

test('a session request past its deadline kills the child (timed out); an abort kills it (not timed out); an answer leaves nothing on the signal', { timeout: 20_000 }, async () => {
  // Answers "done" for each line that says "answer"; says nothing to any other line.
  const script = 'require("readline").createInterface({ input: process.stdin }).on("line", (l) => { if (l === "answer") process.stdout.write("done\\n"); })';
  const session = new ProcessSession({ bin: process.execPath, args: ['-e', script], env: {} }, { idleMs: 60_000, maxRequests: 100 });
  try {
    const kept = new AbortController();
    const ok = await session.ask({ input: 'answer\n', until: '^done$', timeoutMs: 60_000 }, kept.signal);
    assert.deepEqual([ok.stdout, ok.timedOut], ['done\n', false]);
    assert.equal(getEventListeners(kept.signal, 'abort').length, 0);
    const first = session.pid;
    assert.ok(first, 'the child stays for the next request');

    const late = await session.ask({ input: 'silence\n', until: '^done$', timeoutMs: 150 });
    assert.deepEqual([late.signal, late.timedOut], ['SIGKILL', true]);

    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const aborted = await session.ask({ input: 'silence\n', until: '^done$', timeoutMs: 60_000 }, ac.signal);
    assert.deepEqual([aborted.signal, aborted.timedOut], ['SIGKILL', false]);

    const again = await session.ask({ input: 'answer\n', until: '^done$', timeoutMs: 60_000 });
    assert.deepEqual([again.stdout, again.timedOut], ['done\n', false], 'the next request starts a new child');
    assert.notEqual(session.pid, first);
  } finally {
    session.close();
  }
});
