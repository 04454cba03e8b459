// `serve`: a read-only HTTP server over either index, on Node's own http. One page (static HTML, CSS
// and JS from ./page, no build step, nothing from elsewhere) and its JSON API:
//   GET /api/search?q=…&status=…&type=…&folder=…&from=…&to=…&sort=…&limit=…&cursor=…
//   GET /api/documents/:id        metadata and text (text capped at maxTextChars)
//   GET /thumbnails/:id           the WebP from the thumbnail folder, or a redirect to a presigned S3 URL
// Binds 127.0.0.1 by default; anywhere else needs a bearer token (SERVE_TOKEN), which the page sends
// as a SameSite=Strict cookie so that <img> requests carry it too. A bad query is a 400 with a
// message; an index that does not answer is a 503.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError, QueryError, WorkerError } from '../errors.ts';
import type { Logger } from '../telemetry/log.ts';
import { createGuardedServer } from '../http/guarded-server.ts';
import type { IndexDocument } from '../types.ts';
import { buildQuery, folderOf, queryInputFromUrl, type SearchBackend } from './query.ts';
import type { ThumbnailResolver } from './thumbnails.ts';

export type SearchServerOptions = {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Required unless host is a loopback address. */
  token?: string;
  backend: SearchBackend;
  thumbnails: ThumbnailResolver;
  logger: Logger;
  /** Longest request line accepted (414 beyond). */
  maxUrlBytes: number;
  /** Characters of a document's text returned by /api/documents/:id. */
  maxTextChars: number;
  /** Largest page of hits a client may ask for. */
  maxPageSize: number;
  /** Open connections, and requests answered at once (more get a 503 at once). */
  maxConnections: number;
  maxConcurrentRequests: number;
};

export type SearchServer = { url: string; port: number; close(): Promise<void> };

const PAGE_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const JSON_TYPE = 'application/json; charset=utf-8';
const DOC_ID = /^[A-Za-z0-9_-]{1,200}$/;
export const TOKEN_COOKIE = 'fsw_token';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function contentSecurityPolicy(imageOrigins: string[]): string {
  return [
    "default-src 'none'", "script-src 'self'", "style-src 'self'", `img-src 'self' ${imageOrigins.join(' ')}`.trim(),
    "connect-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
  ].join('; ');
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The token a request presents: Authorization: Bearer …, or the page's cookie. */
function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === TOKEN_COOKIE) {
      try {
        return decodeURIComponent(v.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** What /api/documents/:id shows: no storage internals (thumbnail path, sequencer), text capped. */
function documentView(doc: IndexDocument, maxTextChars: number) {
  const { thumbnail, sequencer: _s, text, ...rest } = doc;
  return {
    ...rest,
    folder: folderOf(doc.source, doc.name),
    thumbnail: Boolean(thumbnail),
    text: text.length > maxTextChars ? text.slice(0, maxTextChars) : text,
    textShownChars: Math.min(text.length, maxTextChars),
    textChars: text.length,
  };
}

export async function startSearchServer(o: SearchServerOptions): Promise<SearchServer> {
  if (!isLoopback(o.host) && !o.token) {
    throw new ConfigError('SERVE_TOKEN', `must be set when SERVE_HOST is not a loopback address (got SERVE_HOST=${JSON.stringify(o.host)})`);
  }
  const pageDir = new URL('./page/', import.meta.url);
  const page = new Map<string, { body: Buffer; type: string }>();
  for (const [path, f] of Object.entries(PAGE_FILES)) page.set(path, { body: await readFile(new URL(f.file, pageDir)), type: f.type });
  const csp = contentSecurityPolicy(o.thumbnails.imageOrigins);
  const tokenDigest = o.token ? digest(o.token) : undefined;

  function headers(res: ServerResponse, type: string, length?: number, cache = 'no-store'): void {
    res.setHeader('content-type', type);
    if (length !== undefined) res.setHeader('content-length', length);
    res.setHeader('cache-control', cache);
    res.setHeader('content-security-policy', csp);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    res.setHeader('cross-origin-resource-policy', 'same-origin');
  }

  function sendJson(res: ServerResponse, status: number, body: unknown, head: boolean): void {
    const text = JSON.stringify(body);
    res.statusCode = status;
    headers(res, JSON_TYPE, Buffer.byteLength(text));
    res.end(head ? undefined : text);
  }

  function authorized(req: IncomingMessage): boolean {
    if (!tokenDigest) return true;
    const t = presentedToken(req);
    return t !== undefined && timingSafeEqual(digest(t), tokenDigest);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const head = req.method === 'HEAD';
    const rawUrl = req.url ?? '/';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { error: 'this server is read-only: GET and HEAD only' }, head);
    }
    if (Buffer.byteLength(rawUrl) > o.maxUrlBytes) return sendJson(res, 414, { error: `the URL is longer than ${o.maxUrlBytes} bytes` }, head);
    if (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding']) {
      return sendJson(res, 413, { error: 'requests carry no body' }, head);
    }
    let url: URL;
    try {
      url = new URL(rawUrl, 'http://localhost');
    } catch {
      return sendJson(res, 400, { error: 'malformed URL' }, head);
    }
    const path = url.pathname;
    const file = page.get(path === '/index.html' ? '/' : path);
    if (file) {
      res.statusCode = 200;
      headers(res, file.type, file.body.length, 'no-cache');
      res.end(head ? undefined : file.body);
      return;
    }
    if (path === '/favicon.ico') {
      res.statusCode = 204;
      headers(res, 'image/x-icon', 0, 'max-age=86400');
      return void res.end();
    }
    if (!path.startsWith('/api/') && !path.startsWith('/thumbnails/')) return sendJson(res, 404, { error: 'not found' }, head);
    if (!authorized(req)) {
      res.setHeader('www-authenticate', 'Bearer realm="filesearch"');
      return sendJson(res, 401, { error: 'a bearer token is required (SERVE_TOKEN)' }, head);
    }
    if (path === '/api/search') {
      const result = await o.backend.search(buildQuery(queryInputFromUrl(url.searchParams), { maxPageSize: o.maxPageSize }));
      return sendJson(res, 200, result, head);
    }
    const doc = /^\/api\/documents\/([^/]+)$/.exec(path);
    const thumb = /^\/thumbnails\/([^/]+?)(?:\.webp)?$/.exec(path);
    const id = doc?.[1] ?? thumb?.[1];
    if (id === undefined) return sendJson(res, 404, { error: 'not found' }, head);
    if (!DOC_ID.test(id)) throw new QueryError('id', `must be a document id (letters, digits, - and _), got ${JSON.stringify(id.slice(0, 80))}`);
    const found = await o.backend.get(id);
    if (!found) return sendJson(res, 404, { error: `no document ${id}` }, head);
    if (doc) return sendJson(res, 200, documentView(found, o.maxTextChars), head);
    const where = await o.thumbnails.locate(found);
    if (!where) return sendJson(res, 404, { error: `no thumbnail for ${id}` }, head);
    if (where.kind === 'redirect') {
      res.statusCode = 302;
      headers(res, 'text/plain; charset=utf-8', 0);
      res.setHeader('location', where.url);
      return void res.end();
    }
    res.statusCode = 200;
    headers(res, 'image/webp', where.size, 'private, max-age=300');
    if (head) return void res.end();
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(where.path);
      stream.on('error', reject);
      res.on('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(res);
    });
  }

  // A person's browser sends its headers at once and a search answers in well under a second.
  const limits = { maxConnections: o.maxConnections, maxConcurrentRequests: o.maxConcurrentRequests, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 };
  const busy = (req: IncomingMessage, res: ServerResponse) => sendJson(res, 503, { error: 'busy: too many requests at once; try again' }, req.method === 'HEAD');
  const server = createGuardedServer(limits, busy, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      const head = req.method === 'HEAD';
      if (res.headersSent) return void res.destroy();
      if (err instanceof QueryError) return sendJson(res, 400, { error: err.message, parameter: err.parameter }, head);
      if (err instanceof WorkerError && err.retryable) {
        o.logger.warn({ err: err.message, path: req.url }, 'index unavailable');
        return sendJson(res, 503, { error: 'the index did not answer; try again' }, head);
      }
      o.logger.error({ err, path: req.url }, 'search server failed');
      sendJson(res, 500, { error: 'internal error' }, head);
    });
  });
  server.maxHeadersCount = 50;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => o.logger.error({ err }, 'search server error'));
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = o.host.includes(':') ? `[${o.host}]` : o.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostInUrl}:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
