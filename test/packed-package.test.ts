// The package as a user installs it (issue 16): Node refuses to strip types under node_modules, so
// `npm pack` compiles src/ to dist/ (prepack) and the bin runs that. The test packs, installs the
// tarball into an empty folder the way npm lays it out — the package unpacked under node_modules, its
// bin linked, its dependencies beside it (linked from this checkout: tests never download) — and runs
// `filesearch-worker index` on the examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

test('npm pack, install into an empty folder, `filesearch-worker index examples` works and --version answers', async () => {
  const work = await mkdtemp(join(tmpdir(), 'fsw-pack-'));
  try {
    // npm runs prepack (tsc -> dist/) and postpack (removes dist/) around the pack.
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` } });
    const [info] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = info!.files.map((f) => f.path);
    assert.ok(files.includes('dist/cli.js') && files.includes('dist/workers/extract-worker.js'), 'the compiled JavaScript is packed');
    for (const f of ['index.html', 'app.js', 'style.css']) assert.ok(files.includes(`dist/search/page/${f}`), `serve's page is packed: ${f}`);
    assert.ok(!files.some((f) => f.endsWith('.ts')), `no TypeScript in the package: ${files.filter((f) => f.endsWith('.ts')).join(', ')}`);
    assert.ok(!existsSync(join(root, 'dist')), 'postpack leaves the checkout clean');

    const app = join(work, 'app');
    const pkg = join(app, 'node_modules', 'filesearch-worker');
    mkdirSync(pkg, { recursive: true });
    execFileSync('tar', ['-xzf', join(work, info!.filename), '-C', pkg, '--strip-components=1']);
    for (const dep of readdirSync(join(root, 'node_modules'))) {
      if (dep === '.bin' || dep.startsWith('.') || dep === 'filesearch-worker') continue;
      symlinkSync(join(root, 'node_modules', dep), join(app, 'node_modules', dep));
    }
    const bin = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).bin['filesearch-worker'] as string;
    mkdirSync(join(app, 'node_modules', '.bin'));
    symlinkSync(join('..', 'filesearch-worker', bin), join(app, 'node_modules', '.bin', 'filesearch-worker'));

    const env = { ...process.env, PATH: `${join(app, 'node_modules', '.bin')}:${dirname(process.execPath)}:${process.env.PATH}`, POOL_SIZE: '2', LOG_LEVEL: 'warn' };
    const version = spawnSync('filesearch-worker', ['--version'], { cwd: app, env, encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^filesearch-worker \d+\.\d+\.\d+/);
    const r = spawnSync('filesearch-worker', ['index', join(pkg, 'examples'), '--db', join(app, 'index.db')], { cwd: app, env, encoding: 'utf8', timeout: 240_000 });
    assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
    assert.match(r.stdout, /indexed [1-9]\d* document\(s\)/);
    const search = spawnSync('filesearch-worker', ['search', 'Just-in-Time', '--db', join(app, 'index.db')], { cwd: app, env, encoding: 'utf8' });
    assert.match(search.stdout, /tracemonkey\.pdf/, 'the installed package indexed and finds the PDF');
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
