// The ops server under a scrape storm and slow clients (issue 16): concurrent requests are capped (the
// rest get 503 at once), /metrics is rendered once for a burst of scrapes, and a client that sends its
// headers slowly, or holds an idle connection, is cut off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startOpsServer } from '../src/telemetry/ops-server.ts';
import { PrometheusTelemetry } from '../src/telemetry/metrics.ts';
import { silentLogger } from '../src/telemetry/log.ts';

test('1,000 concurrent scrapes: one render of the registry, each answered 200 or 503 busy, none hangs', async () => {
  const telemetry = new PrometheusTelemetry();
  let renders = 0;
  const registry = telemetry.registry;
  const real = registry.metrics.bind(registry);
  registry.metrics = async () => {
    renders++;
    return real();
  };
  const server = await startOpsServer({ port: 0, host: '127.0.0.1', registry, ready: () => ({ ready: true }), logger: silentLogger, maxConcurrentRequests: 16 });
  try {
    const statuses = await Promise.all(Array.from({ length: 1000 }, () =>
      fetch(`http://127.0.0.1:${server.port}/metrics`).then(async (r) => {
        const body = await r.text();
        if (r.status === 200) assert.match(body, /process_resident_memory_bytes/);
        return r.status;
      }, () => 0)));
    const by = (s: number) => statuses.filter((x) => x === s).length;
    console.log(`# ops-limits: 200 ${by(200)}, 503 ${by(503)}, refused ${by(0)}, renders ${renders}`);
    assert.ok(by(200) >= 16, `some scrapes answered: ${by(200)}`);
    assert.equal(by(200) + by(503) + by(0), 1000, 'nothing else');
    assert.ok(renders <= 3, `the registry was rendered ${renders} times for a burst of 1,000 scrapes`);
  } finally {
    await server.close();
  }
});

test('a client that sends its headers slowly, or holds an idle connection, is disconnected', async () => {
  const server = await startOpsServer({ port: 0, host: '127.0.0.1', registry: new PrometheusTelemetry({ defaultMetrics: false }).registry, ready: () => ({ ready: true }), logger: silentLogger, headersTimeoutMs: 500 });
  try {
    const closedAfter = (send: (s: ReturnType<typeof connect>) => void) => new Promise<number>((resolve) => {
      const t0 = Date.now();
      const s = connect(server.port, '127.0.0.1', () => send(s));
      s.on('error', () => {});
      s.on('data', () => {});
      s.on('close', () => resolve(Date.now() - t0));
    });
    const slow = await closedAfter((s) => {
      s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
      const t = setInterval(() => (s.writable ? s.write('X-Slow: y\r\n') : clearInterval(t)), 100);
      s.on('close', () => clearInterval(t));
    });
    assert.ok(slow < 5_000, `a slow-headers client is cut off: ${slow} ms`);
    const idle = await closedAfter(() => {});
    assert.ok(idle < 5_000, `an idle connection is closed: ${idle} ms`);
  } finally {
    await server.close();
  }
});
