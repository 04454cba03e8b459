// The search page in a real browser: Debian's chromium, headless, driven by playwright-core with the
// system executable. Index the examples (and one hostile file), open the page, type a Japanese query,
// see the hit with its thumbnail and highlight, open the document by keyboard, and save screenshots
// under test/artifacts/. Without a browser a developer's run skips, naming the packages; under
// CI=true a missing or broken browser fails the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// Names used inside page.evaluate callbacks, which run in the browser (the project compiles without the DOM lib).
declare const document: { activeElement?: { id: string } | null; images: HTMLImageElement[]; getElementById(id: string): { textContent: string | null } | null };
declare const window: Record<string, unknown>;
type HTMLImageElement = { complete: boolean; naturalWidth: number; addEventListener(type: string, f: (v: unknown) => void, o: object): void };

const root = new URL('..', import.meta.url).pathname;
const artifacts = join(root, 'test', 'artifacts');
const browserPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CI = process.env.CI === 'true';
/** Is a font for Japanese installed? Without one the page shows boxes instead of kana and kanji. */
function japaneseFont(): boolean {
  const r = spawnSync('fc-list', [':lang=ja', 'family'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '';
}
const missing = [existsSync(browserPath) ? '' : `no browser at ${browserPath} (or set CHROMIUM_PATH)`, japaneseFont() ? '' : 'no Japanese font (fc-list :lang=ja)'].filter(Boolean);
const skip = !CI && missing.length ? `${missing.join('; ')}: install the Debian packages \`chromium fonts-noto-cjk\`` : false;

const BROWSER_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const HOSTILE = 'Hostile note pwned-marker <script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2"> 危険な文書';

/** Starts `serve` on a free port and resolves with its URL and a stop function. */
async function serve(db: string, env: Record<string, string> = {}): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['src/cli.ts', 'serve', '--db', db], { cwd: root, env: { ...process.env, SERVE_PORT: '0', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /search page: (http:\/\/\S+?)\/\s/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

test('the page: a Japanese query finds the hit with thumbnail and highlight; the document opens by keyboard; hostile text stays text', { skip, timeout: 120_000 }, async () => {
  assert.deepEqual(missing, [], 'under CI=true the browser and a Japanese font must be installed (.ci/run installs chromium fonts-noto-cjk)');
  const dir = await mkdtemp(join(tmpdir(), 'fsw-page-'));
  const docs = join(dir, 'docs');
  const db = join(dir, 'index.db');
  let server: { url: string; stop(): Promise<void> } | undefined;
  let browser: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
  try {
    await mkdir(docs);
    for (const f of await readdir(join(root, 'examples'))) await copyFile(join(root, 'examples', f), join(docs, f));
    await writeFile(join(docs, 'hostile.txt'), HOSTILE);
    const indexed = spawnSync(process.execPath, ['src/cli.ts', 'index', docs, '--db', db], { cwd: root, env: { ...process.env, POOL_SIZE: '2', LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 120_000 });
    assert.equal(indexed.status, 0, indexed.stderr);
    server = await serve(db);

    // A fresh profile every run; nothing reaches the network but 127.0.0.1.
    browser = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: browserPath, headless: true, args: BROWSER_FLAGS, viewport: { width: 1200, height: 800 }, locale: 'ja-JP',
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => !r.url().startsWith(server!.url) && problems.push(`request outside the server: ${r.url()}`));

    await page.goto(`${server.url}/`);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'q', 'the query box has the focus');
    await page.keyboard.type('あいうえお');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.hit');
    assert.equal(new URL(page.url()).searchParams.get('q'), 'あいうえお', 'the search lives in the URL');
    const hit = page.locator('.hit').first();
    assert.equal(await hit.locator('a.name').textContent(), 'japanese-sjis.pdf');
    assert.equal(await hit.locator('mark').first().textContent(), 'あいうえお', 'the match is highlighted');
    const thumb = hit.locator('img.thumb');
    await thumb.evaluate((img: HTMLImageElement) => (img.complete ? null : new Promise((r) => img.addEventListener('load', r, { once: true }))));
    assert.ok((await thumb.evaluate((img: HTMLImageElement) => img.naturalWidth)) > 0, 'the thumbnail loaded');
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'search-results.png'), fullPage: true });

    // The shared link shows the same results when opened afresh.
    const shared = page.url();
    await page.goto('about:blank');
    await page.goto(shared);
    await page.waitForSelector('.hit');
    assert.equal(await page.locator('#q').inputValue(), 'あいうえお');

    // Open the document with the keyboard alone.
    await page.locator('a.name').first().focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('#document:not([hidden]) #doc-text');
    await page.waitForFunction(() => (document.getElementById('doc-text')?.textContent ?? '').length > 0);
    assert.match((await page.locator('#doc-text').textContent()) ?? '', /あいうえお/);
    assert.ok(await page.locator('#doc-thumb').isVisible(), 'the document view shows the thumbnail');
    await page.screenshot({ path: join(artifacts, 'search-document.png'), fullPage: true });
    await page.keyboard.press('Escape');
    await page.waitForSelector('.hit');

    // Mixed results (the README's screenshot): a Japanese note, an OCR'd scan with its thumbnail.
    await page.goto(`${server.url}/?q=OCR`);
    await page.waitForSelector('.hit');
    assert.ok((await page.locator('.hit').count()) >= 2);
    await page.evaluate(() => Promise.all([...document.images].map((i) => (i.complete ? null : new Promise((r) => i.addEventListener('load', r, { once: true }))))));
    await page.screenshot({ path: join(artifacts, 'search-overview.png') });

    // A filter toggled with the keyboard narrows the results, lands in the URL and keeps the focus.
    await page.locator('#f-type input[value="image/tiff"]').focus();
    await Promise.all([page.waitForURL(/type=image%2Ftiff/), page.keyboard.press('Space')]);
    await page.waitForSelector('.hit');
    assert.deepEqual(await page.locator('.hit a.name').allTextContents(), ['scanned-page.tif']);
    await page.waitForFunction(() => (document.activeElement as unknown as { value?: string })?.value === 'image/tiff');

    // Japanese words in a Japanese two-character query, and a hostile document: its markup shows as text.
    await page.goto(`${server.url}/?q=${encodeURIComponent('危険')}`);
    await page.waitForSelector('.hit');
    assert.equal(await page.locator('.hit a.name').first().textContent(), 'hostile.txt');
    await page.goto(`${server.url}/?q=pwned-marker`);
    await page.waitForSelector('.hit');
    assert.match((await page.locator('.hit .snippet').first().textContent()) ?? '', /<script>window\.__pwned = 1<\/script>/);
    await page.locator('a.name').first().click();
    await page.waitForFunction(() => (document.getElementById('doc-text')?.textContent ?? '').includes('<img'));
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no script from the document ran');
    assert.equal(await page.locator('#document img:not(#doc-thumb)').count(), 0, 'no element from the document was created');
    assert.deepEqual(problems, []);

    // With SERVE_TOKEN the page asks for the token once, keeps it in a cookie, and images load with it.
    const guarded = await serve(db, { SERVE_TOKEN: 'page-test-token-0123456789' });
    try {
      await page.goto(`${guarded.url}/?q=${encodeURIComponent('あいうえお')}`);
      await page.waitForSelector('#auth:not([hidden])');
      await page.keyboard.type('page-test-token-0123456789');
      await page.keyboard.press('Enter');
      await page.waitForSelector('.hit img.thumb');
      await page.locator('.hit img.thumb').evaluate((img: HTMLImageElement) => (img.complete ? null : new Promise((r) => img.addEventListener('load', r, { once: true }))));
      assert.ok((await page.locator('.hit img.thumb').evaluate((img: HTMLImageElement) => img.naturalWidth)) > 0, 'the thumbnail loads with the cookie');
    } finally {
      await guarded.stop();
    }
  } catch (err) {
    if (CI && String(err).includes('launch')) throw new Error(`the browser did not start under CI=true (install chromium fonts-noto-cjk): ${err}`);
    throw err;
  } finally {
    await browser?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
