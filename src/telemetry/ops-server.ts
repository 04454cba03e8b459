// The operations endpoint: /metrics for Prometheus, /healthz for liveness, /readyz for readiness.
// Liveness means the process and its event loop are alive: a loop that is blocked cannot answer at
// all (the probe times out), and one that was recently blocked longer than the bound answers 503.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { Logger } from './log.ts';
import { createGuardedServer } from '../http/guarded-server.ts';

export type HealthCheck = () => { ok: boolean; detail?: string };
export type ReadyCheck = () => { ready: boolean; reason?: string };

export type OpsServerOptions = {
  /** 0 picks a free port (tests). */
  port: number;
  /** Default 0.0.0.0: the scraper and the orchestrator's probe come from outside the container. */
  host?: string;
  registry: Registry;
  /** Extra liveness condition from the application (e.g. the pool is not wedged). Default: always ok. */
  health?: HealthCheck;
  ready: ReadyCheck;
  logger: Logger;
  /** /healthz answers 503 when the event loop was blocked longer than this within the last window, ms. */
  maxEventLoopDelayMs?: number;
  /**
   * A stall stays visible to /healthz for one to two windows, ms. Kept shorter than the probe's
   * interval x retries so one blip fails a probe or two but does not get the container restarted.
   */
  eventLoopWindowMs?: number;
  /** Requests answered at once; more get 503 at once (a scrape storm must not starve the pipeline). */
  maxConcurrentRequests?: number;
  /** Open connections; further ones are refused by the kernel-level accept path. */
  maxConnections?: number;
  /** A client must send its whole request headers within this, ms; idle sockets are closed after it too. */
  headersTimeoutMs?: number;
  /** The /metrics text is rendered at most once per this many ms; scrapes in between share it. */
  metricsCacheMs?: number;
};

export type OpsServer = { port: number; close(): Promise<void> };

const OPS_DEFAULTS = {
  host: '0.0.0.0',
  maxConcurrentRequests: 16,
  maxConnections: 64,
  headersTimeoutMs: 5_000,
  metricsCacheMs: 1_000,
  maxEventLoopDelayMs: 5_000,
  eventLoopWindowMs: 10_000,
  /** Sampling resolution of the event-loop delay monitor, ms. */
  resolutionMs: 20,
};

const JSON_TYPE = 'application/json; charset=utf-8';

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}

/**
 * Keeps the longest event-loop delay over the current and the previous window, so a stall is seen by
 * the next probe even though the loop is running again by the time the probe is answered.
 */
function eventLoopWatch(windowMs: number, resolutionMs: number) {
  const h = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  let previousMaxNs = 0;
  const timer = setInterval(() => {
    previousMaxNs = h.max;
    h.reset();
  }, windowMs);
  timer.unref();
  // The histogram records a stall only when its next sample fires; a probe answered right after a
  // stall would miss it. A heartbeat tick measures the stall that is just ending, too.
  let lastTick = performance.now();
  let tickStallMs = 0;
  let tickStallAt = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    const stall = now - lastTick - resolutionMs;
    if (stall > tickStallMs || now - tickStallAt > 2 * windowMs) {
      tickStallMs = Math.max(0, stall);
      tickStallAt = now;
    }
    lastTick = now;
  }, resolutionMs);
  tick.unref();
  return {
    maxDelayMs: () => {
      const now = performance.now();
      const ongoing = Math.max(0, now - lastTick - resolutionMs);
      const recent = now - tickStallAt <= 2 * windowMs ? tickStallMs : 0;
      return Math.max(h.max / 1e6, previousMaxNs / 1e6, ongoing, recent);
    },
    stop() {
      clearInterval(timer);
      clearInterval(tick);
      h.disable();
    },
  };
}

export function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const { registry, ready, logger } = opts;
  const health: HealthCheck = opts.health ?? (() => ({ ok: true }));
  const maxDelayMs = opts.maxEventLoopDelayMs ?? OPS_DEFAULTS.maxEventLoopDelayMs;
  const loop = eventLoopWatch(opts.eventLoopWindowMs ?? OPS_DEFAULTS.eventLoopWindowMs, OPS_DEFAULTS.resolutionMs);
  const maxConcurrent = opts.maxConcurrentRequests ?? OPS_DEFAULTS.maxConcurrentRequests;
  const headersTimeoutMs = opts.headersTimeoutMs ?? OPS_DEFAULTS.headersTimeoutMs;
  const metricsText = coalesced(() => registry.metrics(), opts.metricsCacheMs ?? OPS_DEFAULTS.metricsCacheMs);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0];
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, JSON_TYPE, JSON.stringify({ error: 'method not allowed' }), head);
      return;
    }
    switch (path) {
      case '/metrics': {
        const text = await metricsText();
        send(res, 200, registry.contentType, text, head);
        return;
      }
      case '/healthz': {
        const delayMs = Math.round(loop.maxDelayMs());
        const app = health();
        if (delayMs > maxDelayMs) {
          send(res, 503, JSON_TYPE, JSON.stringify({ ok: false, detail: `event loop blocked for ${delayMs} ms (limit ${maxDelayMs} ms)`, eventLoopDelayMs: delayMs }), head);
        } else if (!app.ok) {
          send(res, 503, JSON_TYPE, JSON.stringify({ ok: false, detail: app.detail, eventLoopDelayMs: delayMs }), head);
        } else {
          send(res, 200, JSON_TYPE, JSON.stringify({ ok: true, detail: app.detail, eventLoopDelayMs: delayMs }), head);
        }
        return;
      }
      case '/readyz': {
        const r = ready();
        send(res, r.ready ? 200 : 503, JSON_TYPE, JSON.stringify(r.ready ? { ready: true } : { ready: false, reason: r.reason ?? 'not ready' }), head);
        return;
      }
      default:
        send(res, 404, JSON_TYPE, JSON.stringify({ error: 'not found', paths: ['/metrics', '/healthz', '/readyz'] }), head);
    }
  }

  // Probes and scrapes are tiny: a slow or idle client must not hold a socket.
  const limits = { maxConnections: opts.maxConnections ?? OPS_DEFAULTS.maxConnections, maxConcurrentRequests: maxConcurrent, headersTimeoutMs, requestTimeoutMs: headersTimeoutMs * 2 };
  const busy = (req: IncomingMessage, res: ServerResponse) => send(res, 503, JSON_TYPE, JSON.stringify({ error: 'busy: too many concurrent requests' }), req.method === 'HEAD');
  const server = createGuardedServer(limits, busy, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err, path: req.url }, 'ops endpoint failed');
      if (!res.headersSent) send(res, 500, JSON_TYPE, JSON.stringify({ error: 'internal error' }), req.method === 'HEAD');
      else res.destroy();
    });
  });

  return new Promise<OpsServer>((resolve, reject) => {
    const onError = (err: Error) => {
      loop.stop();
      reject(err);
    };
    server.once('error', onError);
    server.listen(opts.port, opts.host ?? OPS_DEFAULTS.host, () => {
      server.off('error', onError);
      server.on('error', (err) => logger.error({ err }, 'ops server error'));
      const port = (server.address() as AddressInfo).port;
      logger.info({ port, paths: ['/metrics', '/healthz', '/readyz'] }, 'ops server listening');
      let closing: Promise<void> | undefined;
      resolve({
        port,
        close() {
          closing ??= new Promise<void>((done) => {
            loop.stop();
            server.close(() => done());
            server.closeAllConnections();
          });
          return closing;
        },
      });
    });
  });
}

/** A METRICS_PORT that cannot be listened on is a configuration problem: say which variable. */
export function portProblem(err: unknown, port: number): string | undefined {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE') return `METRICS_PORT: port ${port} is already in use (set METRICS_PORT to a free port)`;
  if (code === 'EACCES') return `METRICS_PORT: not allowed to listen on port ${port} (ports below 1024 need privileges)`;
  return undefined;
}

/** One render shared by every caller within `ttlMs`, and by callers that arrive while it runs. */
function coalesced(render: () => Promise<string>, ttlMs: number): () => Promise<string> {
  let last: { at: number; text: Promise<string> } | undefined;
  return () => {
    const now = performance.now();
    if (!last || now - last.at > ttlMs) {
      const text = render();
      last = { at: now, text };
      text.catch(() => {
        if (last?.text === text) last = undefined;
      });
    }
    return last.text;
  };
}
