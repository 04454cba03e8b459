// A worker's temp dir belongs to it until it dies, whatever the pid in its name says (issue 16). Workers
// that are each PID 1 in their own PID namespace (containers under tini) share one TMPDIR: the start-up
// sweep of one must never remove the live dir of another. A dir that vanishes is made again, and
// readiness says so meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { sweepStaleTempDirs } from '../src/flow/temp-dir.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { documentId } from '../src/ids.ts';
import { startSqsS3Fixture } from './helpers/fauxqs.ts';
import { startFaultProxy } from './helpers/fault-proxy.ts';
import { startInProcessWorker } from './helpers/in-process-worker.ts';
import { indexCount, killWorker, queueEmpty, spawnWorker, tempLeftovers, until, type WorkerProcess } from './helpers/worker-process.ts';

const root = new URL('..', import.meta.url).pathname;

function holder(parent: string): Promise<{ child: ChildProcess; dir: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['test/helpers/temp-dir-holder.ts', parent], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout!.setEncoding('utf8').once('data', (line: string) => resolve({ child, dir: line.trim() }));
    child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
}

/** Renames a dir and its lock file: the lock is on the inode, so the owner still holds it. */
function rename(dir: string, pid: number): string {
  const to = join(dirname(dir), basename(dir).replace(/^filesearch-\d+-/, `filesearch-${pid}-`));
  renameSync(`${dir}.lock`, `${to}.lock`);
  renameSync(dir, to);
  return to;
}

test('the sweep keeps dirs whose owner lives, whatever pid their name carries, and removes those of dead owners', async () => {
  const parent = await mkdtemp(join(tmpdir(), 'fsw-own-'));
  try {
    const a = await holder(parent);
    const b = await holder(parent);
    // Another namespace's PID 1 can carry our own pid or a pid that does not exist here.
    const mine = rename(a.dir, process.pid);
    const ghost = rename(b.dir, 4_000_000);
    writeFileSync(join(mine, 'download-in-progress'), 'x');
    const legacy = join(parent, 'filesearch-4000001-AbCdEf');
    mkdirSync(legacy);
    await sweepStaleTempDirs(parent, silentLogger);
    assert.ok(existsSync(join(mine, 'download-in-progress')), 'a live owner\'s dir named with our pid is kept');
    assert.ok(existsSync(ghost), 'a live owner\'s dir named with a pid unknown here is kept');
    assert.ok(!existsSync(legacy), 'a dir without a lock (an older version\'s) is removed');

    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
    await Promise.all([new Promise((r) => a.child.once('exit', r)), new Promise((r) => b.child.once('exit', r))]);
    await sweepStaleTempDirs(parent, silentLogger);
    assert.deepEqual(await readdir(parent), [], 'dirs and locks of SIGKILLed owners are removed');
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
});

test('a temp dir removed under a running worker: readiness fails, the dir is made again, every message is indexed', async () => {
  const fx = await startSqsS3Fixture({ maxReceiveCount: 3, visibilityTimeout: 30 });
  const proxy = await startFaultProxy(fx.endpoint);
  const tmp = await mkdtemp(join(tmpdir(), 'fsw-vanish-'));
  const index = new SqliteIndex(':memory:');
  await index.init();
  const w = await startInProcessWorker({ fx, proxy, tmp, index, opts: { retryBaseSeconds: 0, retryMaxSeconds: 0 } });
  try {
    assert.deepEqual(w.pipeline.readiness(), { ready: true });
    // What a tmp cleaner (or an older worker's sweep) does: everything in TMPDIR goes.
    for (const e of await readdir(tmp)) await rm(join(tmp, e), { recursive: true, force: true });
    const r = w.pipeline.readiness();
    assert.equal(r.ready, false);
    assert.match(String(r.reason), /temp dir/);
    await until('ready again', () => w.pipeline.readiness().ready, 5_000);
    for (const e of await readdir(tmp)) await rm(join(tmp, e), { recursive: true, force: true });
    const keys = Array.from({ length: 10 }, (_, i) => `after-${i}.txt`);
    for (const k of keys) {
      await fx.putObject(k, `document ${k}`);
      await fx.sendS3Event('upsert', k);
    }
    await until('all indexed', async () => (await index.count()) === keys.length && (await queueEmpty(fx)), 20_000);
    for (const k of keys) assert.ok(await index.get(documentId(fx.bucket, k)));
    assert.equal(await fx.dlqCount(), 0, 'nothing went to the DLQ');
  } finally {
    await w.stop('temp dir vanished');
    await index.close();
    await proxy.stop();
    await fx.stop();
    await rm(tmp, { recursive: true, force: true });
  }
});

const canUnshare = process.getuid?.() === 0 && spawnSync('unshare', ['-p', '-f', '--mount-proc', 'true']).status === 0;

test('two workers, each PID 1 in its own PID namespace, sharing one TMPDIR: neither removes the other\'s dir', { skip: canUnshare ? false : 'needs root and unshare(1) (util-linux) for PID namespaces' }, async () => {
  const fx = await startSqsS3Fixture({ maxReceiveCount: 3, visibilityTimeout: 10 });
  const work = await mkdtemp(join(tmpdir(), 'fsw-pidns-'));
  const tmp = join(work, 'tmp');
  mkdirSync(tmp);
  const dbPath = join(work, 'index.db');
  const wrap = ['unshare', '-p', '--kill-child=SIGTERM', '--mount-proc'];
  let a: WorkerProcess | undefined;
  let b: WorkerProcess | undefined;
  try {
    a = await spawnWorker({ fx, dbPath, tmpDir: tmp, wrap, env: { LOG_LEVEL: 'info' } });
    await until('worker A ready', async () => (await fetch(`http://127.0.0.1:${a!.metricsPort}/readyz`).then((r) => r.status, () => 0)) === 200, 60_000);
    const aDirs = (await readdir(tmp)).filter((n) => /^filesearch-1-[A-Za-z0-9]{6}$/.test(n));
    assert.equal(aDirs.length, 1, `worker A is PID 1 in its namespace and owns one dir: ${await readdir(tmp)}`);
    b = await spawnWorker({ fx, dbPath, tmpDir: tmp, wrap, env: { LOG_LEVEL: 'info' } });
    await until('worker B ready', async () => (await fetch(`http://127.0.0.1:${b!.metricsPort}/readyz`).then((r) => r.status, () => 0)) === 200, 60_000);
    assert.deepEqual(b.logged('removed temp dir left by a stopped worker'), [], 'B removed nothing');
    assert.ok(existsSync(join(tmp, aDirs[0]!)), 'A\'s dir is still there');
    const keys = Array.from({ length: 10 }, (_, i) => `shared-${i}.txt`);
    for (const k of keys) {
      await fx.putObject(k, `document ${k}`);
      await fx.sendS3Event('upsert', k);
    }
    await until('all indexed', async () => indexCount(dbPath) === keys.length && (await queueEmpty(fx)), 60_000);
    assert.equal(await fx.dlqCount(), 0, 'no message went to the DLQ');
    assert.equal((await fetch(`http://127.0.0.1:${a.metricsPort}/readyz`)).status, 200, 'A stays ready');
    a.kill('SIGTERM');
    b.kill('SIGTERM');
    await until('both gone and their dirs removed', () => tempLeftovers(tmp).length === 0, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}: left ${JSON.stringify(tempLeftovers(tmp))}; A ${a!.stderr.join('')} B ${b!.stderr.join('')}`);
    });
  } finally {
    await killWorker(a);
    await killWorker(b);
    await fx.stop();
    await rm(work, { recursive: true, force: true });
  }
});
