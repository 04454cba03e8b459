// The search API (`serve`) over both indexes with the same cases: SQLite (trigram + short-query
// fallback) and OpenSearch (the protocol double, with the index created by the worker's own mapping).
// Japanese one- and two-character words, English words, phrases, filters, facets, paging to the end,
// a hostile document's markup rendered inert, and bad requests answered 400, never 500.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteIndex } from '../src/adapters/sqlite-index.ts';
import { OpenSearchIndex } from '../src/adapters/opensearch-index.ts';
import { SqliteSearch } from '../src/adapters/sqlite-search.ts';
import { OpenSearchSearch } from '../src/adapters/opensearch-search.ts';
import { startSearchServer, type SearchServer } from '../src/search/http-api.ts';
import { DirThumbnails } from '../src/search/thumbnails.ts';
import type { SearchBackend, SearchPage } from '../src/search/query.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { DEFAULTS } from '../src/config.ts';
import type { IndexDocument, SearchIndex } from '../src/types.ts';
import { startOpenSearchDouble, type OpenSearchDouble } from './helpers/opensearch-double.ts';

const FILLERS = 25;

function doc(id: string, folder: string, name: string, text: string, extra: Partial<IndexDocument> = {}): IndexDocument {
  return {
    id, source: `${folder}${name}`, bucket: '', key: `${folder}${name}`, name, contentType: 'text/plain', size: text.length * 3, status: 'ok',
    text, truncated: false, pages: 1, ocrPages: 0, indexedAt: '2026-12-01T00:00:00.000Z', lastModified: '2026-06-01T09:00:00.000Z', ...extra,
  };
}

function corpus(thumbDir: string): IndexDocument[] {
  const docs = [
    doc('inv', '/data/経理/', '請求書_2026-11.pdf', '請求書 2026年11月分 株式会社サンプル 合計 120,000円 お支払い期限は月末です。', {
      contentType: 'application/pdf', lastModified: '2026-11-05T10:00:00.000Z', thumbnail: join(thumbDir, 'inv.webp'), language: 'ja',
    }),
    doc('min', '/data/meetings/', 'minutes.md', 'Meeting minutes: the quarterly budget review. 定例会議 の 議事録 です。', {
      contentType: 'text/markdown', lastModified: '2026-10-01T08:00:00.000Z', language: 'en',
    }),
    doc('evil', '/data/web/', 'hostile.html', 'Budget <script>alert("pwned")</script> and <img src=x onerror=alert(2)> budget & "quotes"', {
      contentType: 'text/html', lastModified: '2026-09-01T08:00:00.000Z',
    }),
    doc('bad', '/data/経理/', 'broken.pdf', '', { contentType: 'application/pdf', status: 'failed', error: 'pdf.js: Invalid PDF structure', lastModified: '2026-08-01T00:00:00.000Z' }),
    doc('scan', '/data/scans/', 'scan.tif', '検索 システム の 説明書 budget plan', { contentType: 'image/tiff', status: 'partial', lastModified: '2026-07-01T00:00:00.000Z', language: 'ja' }),
  ];
  for (let i = 0; i < FILLERS; i++) {
    const n = String(i).padStart(2, '0');
    // Ten distinct dates for 25 documents: ties that the id must break.
    docs.push(doc(`fill-${n}`, '/data/reports/', `report-${n}.txt`, `quarterly report number ${n} budget`, { lastModified: `2026-01-${String(1 + (i % 10)).padStart(2, '0')}T00:00:00.000Z`, language: 'en' }));
  }
  return docs;
}

type Api = { get(path: string, init?: RequestInit): Promise<Response>; search(params: Record<string, string>): Promise<SearchPage> };

function apiFor(server: SearchServer): Api {
  const get = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);
  return {
    get,
    async search(params) {
      const res = await get(`/api/search?${new URLSearchParams(params)}`);
      const body = await res.json();
      assert.equal(res.status, 200, JSON.stringify(body));
      return body as SearchPage;
    },
  };
}

const ids = (p: SearchPage) => p.hits.map((h) => h.id).sort();

/** Every page of a search, following nextCursor to the end. */
async function allPages(api: Api, params: Record<string, string>): Promise<{ pages: SearchPage[]; ids: string[] }> {
  const pages: SearchPage[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.search({ ...params, ...(cursor ? { cursor } : {}) });
    pages.push(page);
    cursor = page.nextCursor ?? undefined;
    assert.ok(pages.length < 50, 'paging ends');
  } while (cursor);
  return { pages, ids: pages.flatMap((p) => p.hits.map((h) => h.id)) };
}

/** A fresh index to write the corpus into, then a read-only search backend over it. */
type Setup = () => Promise<{ index: SearchIndex; open(): SearchBackend; stop(): Promise<void> }>;

const backends: Record<string, Setup> = {
  async sqlite() {
    const dir = await mkdtemp(join(tmpdir(), 'fsw-search-sqlite-'));
    const path = join(dir, 'index.db');
    const index = new SqliteIndex(path);
    await index.init();
    return { index, open: () => new SqliteSearch(path), stop: () => rm(dir, { recursive: true, force: true }) };
  },
  async opensearch() {
    const double: OpenSearchDouble = await startOpenSearchDouble();
    const index = new OpenSearchIndex({ node: double.url, index: 'files' });
    await index.init();
    return { index, open: () => new OpenSearchSearch({ node: double.url, index: 'files', requestTimeoutMs: DEFAULTS.SERVE_INDEX_TIMEOUT_MS }), stop: () => double.stop() };
  },
};

for (const [kind, setup] of Object.entries(backends)) {
  describe(`search API over ${kind}`, () => {
    let server: SearchServer;
    let api: Api;
    let stopBackend: () => Promise<void>;
    let search: SearchBackend;
    let thumbDir: string;

    before(async () => {
      thumbDir = await mkdtemp(join(tmpdir(), 'fsw-thumbs-'));
      await writeFile(join(thumbDir, 'inv.webp'), Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 fake', 'latin1'));
      const b = await setup();
      const results = await b.index.write(corpus(thumbDir).map((d) => ({ kind: 'upsert' as const, doc: d })));
      assert.ok(results.every((r) => r.ok), 'corpus indexed');
      await b.index.close();
      search = b.open();
      stopBackend = b.stop;
      server = await startSearchServer({
        host: '127.0.0.1', port: 0, backend: search, thumbnails: new DirThumbnails(thumbDir), logger: silentLogger,
        maxUrlBytes: 4096, maxTextChars: 40, maxPageSize: 100, maxConnections: 64, maxConcurrentRequests: 16,
      });
      api = apiFor(server);
    });

    after(async () => {
      await server?.close();
      await search?.close();
      await stopBackend?.();
      await rm(thumbDir, { recursive: true, force: true });
    });

    test('Japanese: a one-character query, a two-character word, and a folder name', async () => {
      const one = await api.search({ q: '書' });
      assert.deepEqual(ids(one), ['inv', 'scan']);
      assert.match(one.hits.find((h) => h.id === 'inv')!.snippet, /<mark>書<\/mark>|<mark>[^<]*書[^<]*<\/mark>/);
      const two = await api.search({ q: '会議' });
      assert.deepEqual(ids(two), ['min']);
      assert.match(two.hits[0]!.snippet, /会議<\/mark>/);
      assert.deepEqual(ids(await api.search({ q: '経理' })), ['bad', 'inv'], 'a word in the folder path matches');
      assert.deepEqual(ids(await api.search({ q: '請求書　合計' })), ['inv'], 'terms split at the ideographic space; all must match');
    });

    test('English words (any case), phrases as written, a word in the name', async () => {
      const budget = await api.search({ q: 'BUDGET', limit: '100' });
      assert.equal(budget.total, 3 + FILLERS);
      assert.deepEqual(ids(await api.search({ q: 'minutes budget' })), ['min']);
      assert.deepEqual(ids(await api.search({ q: '"budget review"' })), ['min'], 'a phrase matches as written');
      assert.deepEqual(ids(await api.search({ q: '"review budget"' })), [], 'the same words in another order do not');
      const named = await api.search({ q: 'hostile' });
      assert.deepEqual(ids(named), ['evil']);
      assert.deepEqual(ids(await api.search({ q: 'zebra' })), []);
    });

    test('filters: status, type, folder prefix, modified range; facets leave out their own filter', async () => {
      assert.deepEqual(ids(await api.search({ status: 'failed' })), ['bad']);
      assert.deepEqual(ids(await api.search({ status: 'failed,partial' })), ['bad', 'scan']);
      assert.deepEqual(ids(await api.search({ type: 'application/pdf' })), ['bad', 'inv']);
      assert.deepEqual(ids(await api.search({ folder: '/data/経理/' })), ['bad', 'inv']);
      assert.deepEqual(ids(await api.search({ from: '2026-08-01', to: '2026-10-01' })), ['bad', 'evil', 'min']);
      assert.deepEqual(ids(await api.search({ q: 'budget', type: 'text/html' })), ['evil']);
      assert.deepEqual(ids(await api.search({ lang: 'ja' })), ['inv', 'scan'], 'by the main language');
      const byLang = await api.search({ q: 'budget', lang: 'ja' });
      assert.deepEqual(ids(byLang), ['scan']);
      assert.deepEqual(byLang.facets.language, { en: 1 + FILLERS, ja: 1 }, 'language counts ignore the language filter');
      assert.equal(byLang.hits[0]!.language, 'ja');

      const faceted = await api.search({ q: 'budget', status: 'partial' });
      assert.deepEqual(ids(faceted), ['scan']);
      assert.equal(faceted.total, 1);
      assert.deepEqual(faceted.facets.status, { ok: 2 + FILLERS, partial: 1 }, 'status counts ignore the status filter');
      assert.deepEqual(faceted.facets.contentType, { 'image/tiff': 1 }, 'type counts apply the status filter');
      const all = await api.search({});
      assert.equal(all.total, 5 + FILLERS);
      assert.deepEqual(all.facets.status, { ok: 2 + FILLERS + 1, failed: 1, partial: 1 });
    });

    test('paging to the end: every hit exactly once, in order, by relevance and by date', async () => {
      for (const sort of ['relevance', 'date']) {
        const { pages, ids: seen } = await allPages(api, { q: 'report', limit: '7', sort });
        assert.equal(pages.length, 4, `${sort}: 25 hits in pages of 7`);
        assert.equal(seen.length, FILLERS);
        assert.equal(new Set(seen).size, FILLERS, `${sort}: no hit twice`);
        assert.equal(pages.at(-1)!.nextCursor, null);
        for (const p of pages) assert.equal(p.total, FILLERS);
        if (sort === 'date') {
          const dates = pages.flatMap((p) => p.hits.map((h) => `${h.lastModified}`));
          assert.deepEqual(dates, [...dates].sort().reverse(), 'newest first');
        }
      }
      const everything = await allPages(api, { limit: '4' });
      assert.equal(new Set(everything.ids).size, 5 + FILLERS);
    });

    test("a hostile document's markup is inert: snippets are escaped, only <mark> is markup", async () => {
      const page = await api.search({ q: 'budget', type: 'text/html' });
      const s = page.hits[0]!.snippet;
      assert.doesNotMatch(s, /<script|<img/i);
      assert.match(s, /&lt;script&gt;/);
      assert.equal(s.replace(/<\/?mark>/g, '').includes('<'), false, 'no other tag survives');
      assert.match(s, /<mark>Budget<\/mark>/i);
      const res = await api.get('/api/documents/evil');
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      const body = (await res.json()) as { text: string; textChars: number; textShownChars: number };
      assert.equal(body.text.length, 40, 'text is capped at maxTextChars');
      assert.ok(body.textChars > 40);
      assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    });

    test('documents and thumbnails', async () => {
      const res = await api.get('/api/documents/inv');
      assert.equal(res.status, 200);
      const d = (await res.json()) as Record<string, unknown>;
      assert.equal(d.name, '請求書_2026-11.pdf');
      assert.equal(d.folder, '/data/経理/');
      assert.equal(d.thumbnail, true, 'says a thumbnail exists, without its path');
      const img = await api.get('/thumbnails/inv');
      assert.equal(img.status, 200);
      assert.equal(img.headers.get('content-type'), 'image/webp');
      assert.match(Buffer.from(await img.arrayBuffer()).toString('latin1'), /^RIFF/);
      assert.equal((await api.get('/thumbnails/min')).status, 404);
      assert.equal((await api.get('/api/documents/nope')).status, 404);
    });

    test('a bad request is a 400 with a message, never a 500', async () => {
      const bad: Array<[string, RegExp]> = [
        ['/api/search?status=bogus', /status: must be one of/],
        ['/api/search?limit=1000', /limit: must be an integer 1\.\.100/],
        ['/api/search?limit=abc', /limit/],
        ['/api/search?sort=size', /sort/],
        ['/api/search?from=yesterday', /from: must be a date/],
        ['/api/search?from=2026-02-30', /from/],
        ['/api/search?from=2026-05-01&to=2026-04-01', /to: is before from/],
        ['/api/search?type=pdf', /type: must be a media type/],
        ['/api/search?lang=Japanese', /lang: must be a language code/],
        ['/api/search?cursor=%%%garbage', /cursor/],
        ['/api/search?cursor=eyJ4IjoxfQ', /cursor/],
        [`/api/search?q=${'あ'.repeat(300)}`, /q: is longer than/],
        [`/api/search?q=${Array.from({ length: 20 }, (_, i) => `w${i}`).join('+')}`, /q: has 20 terms/],
        ['/api/documents/..%2F..%2Fetc%2Fpasswd', /id: must be a document id/],
        ['/api/search?q=%22', /./],
      ];
      for (const [path, message] of bad) {
        const res = await api.get(path);
        const body = (await res.json()) as { error?: string };
        if (path.endsWith('q=%22')) {
          assert.equal(res.status, 200, 'a lone quote is just an empty query');
          continue;
        }
        assert.equal(res.status, 400, `${path} -> ${res.status} ${JSON.stringify(body)}`);
        assert.match(body.error ?? '', message, path);
      }
      // A cursor from one search is refused by another.
      const first = await api.search({ q: 'report', limit: '5' });
      const res = await api.get(`/api/search?q=budget&limit=5&cursor=${first.nextCursor}`);
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, /different search/);
      // Odd characters in queries are text, not syntax.
      for (const q of ['"', 'AND OR NOT', '*', 'a"b', '%_\\', '(budget', 'NEAR(x y)', '\u0000', '{"a":1}']) {
        const r = await api.get(`/api/search?${new URLSearchParams({ q })}`);
        assert.equal(r.status, 200, `q=${JSON.stringify(q)} -> ${r.status} ${await r.text()}`);
      }
    });

    test('read-only and size limits: other methods, bodies and long URLs are refused', async () => {
      assert.equal((await api.get('/api/search?q=x', { method: 'POST', body: 'x' })).status, 405);
      assert.equal((await api.get('/api/documents/inv', { method: 'DELETE' })).status, 405);
      assert.equal((await api.get(`/api/search?q=${'x'.repeat(5000)}`)).status, 414);
      assert.equal((await api.get('/nope')).status, 404);
    });
  });
}

describe('access', () => {
  test('a token guards the API and thumbnails (bearer or the page cookie); the page itself loads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fsw-serve-token-'));
    const index = new SqliteIndex(join(dir, 'index.db'));
    await index.init();
    await index.write([{ kind: 'upsert', doc: doc('one', '/x/', 'one.txt', 'hello world') }]);
    await index.close();
    const backend = new SqliteSearch(join(dir, 'index.db'));
    const server = await startSearchServer({
      host: '127.0.0.1', port: 0, token: 's3cret-token', backend, thumbnails: new DirThumbnails(join(dir, 'thumbs')), logger: silentLogger,
      maxUrlBytes: 4096, maxTextChars: 1000, maxPageSize: 100, maxConnections: 64, maxConcurrentRequests: 16,
    });
    try {
      const page = await fetch(`${server.url}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<form id="search"/);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      const denied = await fetch(`${server.url}/api/search?q=hello`);
      assert.equal(denied.status, 401);
      assert.match(denied.headers.get('www-authenticate') ?? '', /Bearer/);
      assert.equal((await fetch(`${server.url}/api/search?q=hello`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      assert.equal((await fetch(`${server.url}/thumbnails/one`)).status, 401);
      const ok = await fetch(`${server.url}/api/search?q=hello`, { headers: { authorization: 'Bearer s3cret-token' } });
      assert.equal(ok.status, 200);
      assert.equal(((await ok.json()) as SearchPage).total, 1);
      assert.equal((await fetch(`${server.url}/api/documents/one`, { headers: { cookie: 'other=1; fsw_token=s3cret-token' } })).status, 200);
    } finally {
      await server.close();
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('binding beyond loopback without SERVE_TOKEN is refused at start', async () => {
    await assert.rejects(
      startSearchServer({
        host: '0.0.0.0', port: 0, backend: {} as SearchBackend, thumbnails: new DirThumbnails('/nonexistent'), logger: silentLogger,
        maxUrlBytes: 4096, maxTextChars: 1000, maxPageSize: 100, maxConnections: 64, maxConcurrentRequests: 16,
      }),
      /SERVE_TOKEN: must be set when SERVE_HOST is not a loopback address/,
    );
  });
});

test('an OpenSearch that fails or does not answer is a 503 with a message, not a 500; so is a request past the concurrency cap', async () => {
  const double = await startOpenSearchDouble();
  const index = new OpenSearchIndex({ node: double.url, index: 'files' });
  await index.init();
  await index.write([{ kind: 'upsert', doc: doc('one', '/x/', 'one.txt', 'hello world') }]);
  await index.close();
  const backend = new OpenSearchSearch({ node: double.url, index: 'files', requestTimeoutMs: 300 });
  const server = await startSearchServer({
    host: '127.0.0.1', port: 0, backend, thumbnails: new DirThumbnails('/nonexistent'), logger: silentLogger, maxUrlBytes: 4096, maxTextChars: 1000, maxPageSize: 100, maxConnections: 64, maxConcurrentRequests: 1,
  });
  try {
    const isSearch = (r: { path: string }) => r.path.endsWith('/_search');
    double.faults.next(2, { status: 503 }, isSearch);
    const failed = await fetch(`${server.url}/api/search?q=hello`);
    assert.equal(failed.status, 503);
    assert.match(((await failed.json()) as { error: string }).error, /index did not answer/);
    double.faults.next(2, 'hang', isSearch);
    const hanging = fetch(`${server.url}/api/search?q=hello`);
    await new Promise((r) => setTimeout(r, 50));
    const busy = await fetch(`${server.url}/api/search?q=hello`);
    assert.equal(busy.status, 503, 'past SERVE_MAX_CONCURRENT_REQUESTS a request is refused at once');
    assert.equal(busy.headers.get('retry-after'), '1');
    assert.match(((await busy.json()) as { error: string }).error, /busy/);
    const hung = await hanging;
    assert.equal(hung.status, 503, 'a hung index times out');
    const ok = await fetch(`${server.url}/api/search?q=hello`);
    assert.equal(ok.status, 200, 'and recovers');
  } finally {
    await server.close();
    await backend.close();
    await double.stop();
  }
});
