import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startOpsServer, type OpsServer } from '../src/telemetry/ops-server.ts';
import { PrometheusTelemetry } from '../src/telemetry/metrics.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { parsePromText } from './helpers/prom-text.ts';

/** Keeps the event loop busy for `ms` without yielding (a synchronous stall). */
function blockEventLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* spin */
  }
}

describe('ops server', () => {
  const telemetry = new PrometheusTelemetry({ defaultMetrics: false });
  let readiness: { ready: boolean; reason?: string } = { ready: false, reason: 'pool warming up' };
  let appHealth: { ok: boolean; detail?: string } = { ok: true };
  let server: OpsServer;
  let base: string;

  before(async () => {
    server = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      registry: telemetry.registry,
      ready: () => readiness,
      health: () => appHealth,
      logger: silentLogger,
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.close());

  it('listens on an ephemeral port when asked for port 0', () => {
    assert.ok(server.port > 0);
  });

  it('/metrics serves the registry as Prometheus text exposition', async () => {
    telemetry.stageItem('index', 'ok', 0.05);
    telemetry.watchQueue('to_index', () => ({ depth: 2, capacity: 8 }));
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const s = parsePromText(await res.text());
    assert.equal(s.families().get('filesearch_stage_items_total'), 'counter');
    assert.equal(s.families().get('filesearch_stage_seconds'), 'histogram');
    assert.equal(s.get('filesearch_stage_items_total', { stage: 'index', outcome: 'ok' }), 1);
    assert.equal(s.get('filesearch_queue_depth', { queue: 'to_index' }), 2);
  });

  it('/healthz answers 200 while the process and its event loop are fine', async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { ok: boolean; eventLoopDelayMs: number };
    assert.equal(body.ok, true);
    assert.equal(typeof body.eventLoopDelayMs, 'number');
  });

  it('/healthz answers 503 with the detail when the application says it is unhealthy', async () => {
    appHealth = { ok: false, detail: 'extract pool has no live threads' };
    try {
      const res = await fetch(`${base}/healthz`);
      assert.equal(res.status, 503);
      assert.deepEqual(((await res.json()) as { detail: string }).detail, 'extract pool has no live threads');
    } finally {
      appHealth = { ok: true };
    }
  });

  it('/readyz flips between 503 with the reason and 200 as ready() changes', async () => {
    readiness = { ready: false, reason: 'pool warming up' };
    let res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { ready: false, reason: 'pool warming up' });

    readiness = { ready: true };
    res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ready: true });

    readiness = { ready: false, reason: 'draining' };
    res = await fetch(`${base}/readyz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { ready: false, reason: 'draining' });
  });

  it('answers HEAD like GET without a body, and ignores a query string', async () => {
    readiness = { ready: true };
    const res = await fetch(`${base}/readyz?verbose=1`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '');
  });

  it('unknown paths are 404 and other methods 405', async () => {
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await post.body?.cancel();
  });
});

describe('ops server event-loop check', () => {
  it('/healthz answers 503 after the event loop was blocked beyond the bound', async () => {
    const server = await startOpsServer({
      port: 0,
      host: '127.0.0.1',
      registry: new PrometheusTelemetry({ defaultMetrics: false }).registry,
      ready: () => ({ ready: true }),
      logger: silentLogger,
      maxEventLoopDelayMs: 100,
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      blockEventLoop(400);
      const res = await fetch(`${base}/healthz`);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { ok: boolean; detail: string; eventLoopDelayMs: number };
      assert.equal(body.ok, false);
      assert.match(body.detail, /event loop blocked/);
      assert.ok(body.eventLoopDelayMs > 100, `delay ${body.eventLoopDelayMs}`);
    } finally {
      await server.close();
    }
  });

  it('fails to start with the listen error when the port is taken', async () => {
    const first = await startOpsServer({ port: 0, host: '127.0.0.1', registry: new PrometheusTelemetry({ defaultMetrics: false }).registry, ready: () => ({ ready: true }), logger: silentLogger });
    try {
      await assert.rejects(
        startOpsServer({ port: first.port, host: '127.0.0.1', registry: new PrometheusTelemetry({ defaultMetrics: false }).registry, ready: () => ({ ready: true }), logger: silentLogger }),
        { code: 'EADDRINUSE' },
      );
    } finally {
      await first.close();
    }
  });
});
