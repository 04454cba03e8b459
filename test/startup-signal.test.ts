// SIGTERM at any moment of start-up (issue 16): ECS stops tasks that are still starting. The worker
// handles the signal from its first moment, drains from whatever state it reached, exits 0, and leaves
// no temp dir behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSqsS3Fixture } from './helpers/fauxqs.ts';
import { killWorker, spawnWorker, tempLeftovers, type WorkerProcess } from './helpers/worker-process.ts';

test('SIGTERM 0.25 s to 2 s into start-up: exit 0 by the worker itself, no temp dir left', async () => {
  const fx = await startSqsS3Fixture();
  const work = await mkdtemp(join(tmpdir(), 'fsw-early-'));
  const exits: string[] = [];
  let w: WorkerProcess | undefined;
  try {
    for (const ms of [250, 400, 700, 1000, 2000]) {
      const tmp = join(work, `tmp-${ms}`);
      await mkdir(tmp);
      w = await spawnWorker({ fx, dbPath: join(work, 'index.db'), tmpDir: tmp });
      await new Promise((r) => setTimeout(r, ms));
      w.kill('SIGTERM');
      const exit = await w.waitExit(30_000);
      exits.push(`${ms} ms: ${JSON.stringify(exit)}`);
      assert.deepEqual(exit, { code: 0, signal: null }, `SIGTERM after ${ms} ms: ${w.stderr.join('')}`);
      assert.deepEqual(tempLeftovers(tmp), [], `nothing left in TMPDIR after a SIGTERM ${ms} ms into start-up`);
    }
  } finally {
    console.log(`# startup-signal: ${exits.join('; ')}`);
    await killWorker(w);
    await fx.stop();
    await rm(work, { recursive: true, force: true });
  }
});
