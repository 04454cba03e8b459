// The processes this project starts itself (bench workers, the memory proof) run as the image runs
// the worker: PROCESS_ENV's malloc and heap settings, on jemalloc where it is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { JEMALLOC_ENV, PROCESS_ENV, startEnv } from '../src/config.ts';

/** The shared objects mapped into a node process started with `env`, and its NODE_OPTIONS. */
function started(env: Record<string, string>): { maps: string; nodeOptions: string } {
  const out = execFileSync(process.execPath, ['-e', `console.log(JSON.stringify({ maps: require('fs').readFileSync('/proc/self/maps', 'utf8'), nodeOptions: process.env.NODE_OPTIONS }))`], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

test('a process started with startEnv() runs on jemalloc with the settings of PROCESS_ENV', (t) => {
  const env = startEnv();
  for (const [name, value] of Object.entries(PROCESS_ENV)) assert.equal(env[name], value, name);
  if (env.LD_PRELOAD === undefined) {
    assert.notEqual(process.env.CI, 'true', 'CI installs libjemalloc2 (.ci/run): startEnv() should have found it');
    t.skip('libjemalloc2 is not installed here (Debian package libjemalloc2): started on glibc malloc');
    return;
  }
  assert.deepEqual({ LD_PRELOAD: env.LD_PRELOAD, MALLOC_CONF: env.MALLOC_CONF }, JEMALLOC_ENV);
  const p = started(env);
  assert.match(p.maps, /\/libjemalloc\.so\.2$/m, 'jemalloc is mapped into the process');
  assert.equal(p.nodeOptions, PROCESS_ENV.NODE_OPTIONS);
  assert.doesNotMatch(started(PROCESS_ENV).maps, /libjemalloc/, 'without the preload the process is on glibc malloc');
});
