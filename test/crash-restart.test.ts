// Crash and restart (issues 2 and 6), the CI-sized run of scripts/chaos.ts: 200 messages over a mixed
// corpus, the worker SIGKILLed three times at random moments and restarted. Nothing may be lost or
// indexed twice, removed objects stay removed, only the poison reaches the DLQ, no temp file stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatReport, runChaos } from './helpers/chaos.ts';

const corpusDir = fileURLToPath(new URL('../../shared/corpus/', import.meta.url));
const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 100_000);

test('a worker SIGKILLed three times mid-backlog and restarted loses nothing, duplicates nothing and leaves nothing behind', async (t) => {
  if (!existsSync(corpusDir)) t.diagnostic(`../shared/corpus is absent: generated text documents only`);
  const report = await runChaos({
    messages: 200, kills: 3, poison: 3, removes: 5, corpusShare: 0.35, corpusDir,
    killAfterMs: [200, 2_500], drainTimeoutMs: 90_000, seed,
    log: (line) => t.diagnostic(line),
  });
  const text = formatReport(report);
  console.log(text.split('\n').map((l) => `# crash-restart: ${l}`).join('\n'));
  assert.equal(report.kills.length, 3, 'the worker was killed three times');
  assert.deepEqual(report.finalExit, { code: 0, signal: null }, 'the last worker stops cleanly on SIGTERM');
  assert.deepEqual(report.missing, [], `every object is indexed (seed ${seed})`);
  assert.deepEqual(report.duplicated, [], 'no id is indexed twice');
  assert.deepEqual(report.unexpected, [], 'nothing else is indexed');
  assert.deepEqual(report.removedPresent, [], 'removed objects are absent');
  assert.deepEqual(report.queue, { visible: 0, inFlight: 0, delayed: 0 }, 'the queue is empty');
  assert.deepEqual(report.dlqUnexpected, [], 'only poison reaches the DLQ');
  assert.deepEqual(report.dlqMissing, [], 'every poison message reaches the DLQ');
  assert.deepEqual(report.leftoverTemp, [], 'no temp files or directories are left behind, not even by the killed workers');
  assert.equal(report.indexed, report.objects - report.removed);
});
